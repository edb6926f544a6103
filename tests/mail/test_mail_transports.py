"""Issue 21: the transports as production uses them. SMTP submission with STARTTLS (a self-signed certificate
the client trusts through MAIL_SMTP_TLS_CA_FILE) and AUTH XOAUTH2 against a real aiosmtpd on loopback; Microsoft
Graph sendMail against an httpx.MockTransport; the msal client-credentials token from a fake authority."""
from __future__ import annotations

import base64
import json
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import parse_qs

import httpx
import pytest

from config import Settings
from mail.transport import GraphTransport, Permanent, SmtpTransport, Temporary, TokenProvider
from tests.mail.smtp_server import LoopbackSmtp, Recorder, self_signed

TENANT = "00000000-0000-0000-0000-00000000abcd"
AUTHORITY = "https://login.fake-entra.example"


def message() -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "ramflow@it.example", "eva.ek@tranemo.example", "Hej"
    mail["Message-ID"] = "<outbox-abc@ramflow.it.example>"
    mail.set_content("Hej!")
    return mail


class FakeAuthority:
    """The parts of Entra ID msal talks to for a client-credentials token: tenant discovery and the token
    endpoint (msal's `http_client` seam: `get`/`post` returning status_code, text, headers)."""

    class Response:
        def __init__(self, body: dict, status: int = 200) -> None:
            self.status_code, self.text, self.headers = status, json.dumps(body), {"content-type": "application/json"}

        def raise_for_status(self) -> None:
            if self.status_code >= 400:
                raise RuntimeError(self.status_code)

    def __init__(self, secret: str = "s3cret") -> None:
        self.secret, self.token_requests = secret, []

    def get(self, url: str, **kwargs):  # noqa: ANN201
        assert url.startswith(f"{AUTHORITY}/{TENANT}") and "openid-configuration" in url, url
        base = f"{AUTHORITY}/{TENANT}"
        return self.Response({"token_endpoint": f"{base}/oauth2/v2.0/token",
                              "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                              "issuer": f"{base}/v2.0"})

    def post(self, url: str, data=None, **kwargs):  # noqa: ANN001, ANN201
        form = data if isinstance(data, dict) else {k: v[0] for k, v in parse_qs(data).items()}
        self.token_requests.append(form)
        if form.get("client_secret") != self.secret:
            return self.Response({"error": "invalid_client", "error_description": "AADSTS7000215"}, 401)
        return self.Response({"token_type": "Bearer", "expires_in": 3599, "access_token": "token-for-" + form["scope"]})

    def close(self) -> None:
        pass


def entra_settings(**extra) -> Settings:
    return Settings(**{"mail_tenant_id": TENANT, "mail_client_id": "11111111-2222-3333-4444-555555555555",
                       "mail_client_secret": "s3cret", "mail_authority_host": AUTHORITY, **extra})


def test_issue21_msal_client_credentials_token_from_the_authority_is_cached():
    authority = FakeAuthority()
    tokens = TokenProvider(entra_settings(), "https://outlook.office365.com/.default", http_client=authority)
    assert tokens.token() == "token-for-https://outlook.office365.com/.default"
    assert tokens.token() == "token-for-https://outlook.office365.com/.default"
    [request] = authority.token_requests  # msal's cache answers the second time
    assert request["grant_type"] == "client_credentials"


def test_issue21_refused_token_is_a_temporary_failure_naming_the_error():
    tokens = TokenProvider(entra_settings(mail_client_secret="wrong"), "scope/.default", http_client=FakeAuthority())
    with pytest.raises(Temporary, match="invalid_client"):
        tokens.token()


async def test_issue21_smtp_starttls_and_xoauth2_against_a_real_server(tmp_path):
    cert, key = self_signed(tmp_path)
    server = LoopbackSmtp(Recorder(token="token-for-https://outlook.office365.com/.default"), tls=(cert, key)).start()
    try:
        settings = entra_settings(mail_smtp_port=server.port, mail_smtp_starttls=True,
                                  mail_smtp_tls_ca_file=str(cert), mail_smtp_auth="xoauth2",
                                  mail_smtp_user="ramflow@it.example", mail_smtp_timeout_seconds=5.0)
        tokens = TokenProvider(settings, "https://outlook.office365.com/.default", http_client=FakeAuthority())
        await SmtpTransport(settings, tokens).send(message())
        assert server.recorder.authenticated == ["ramflow@it.example"]
        assert [m["Message-ID"] for m in server.recorder.accepted] == ["<outbox-abc@ramflow.it.example>"]
        # a wrong token is refused with 535: permanent until someone fixes the app registration
        server.recorder.token = "another"
        with pytest.raises(Permanent, match="535"):
            await SmtpTransport(settings, tokens).send(message())
    finally:
        server.stop()


async def test_issue21_smtp_without_starttls_is_refused_by_a_server_that_requires_it(tmp_path):
    server = LoopbackSmtp(tls=self_signed(tmp_path)).start()
    try:
        settings = Settings(mail_smtp_port=server.port, mail_smtp_timeout_seconds=5.0)
        with pytest.raises(Permanent, match="530"):
            await SmtpTransport(settings).send(message())
    finally:
        server.stop()


class FakeTokens:
    def token(self) -> str:
        return "graph-token"


async def test_issue21_graph_send_mail_posts_the_mime_message_as_the_sender():
    seen: list[httpx.Request] = []

    def graph(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    settings = Settings(mail_transport="graph", mail_graph_sender="ramflow@it.example")
    http = httpx.AsyncClient(transport=httpx.MockTransport(graph))
    await GraphTransport(settings, FakeTokens(), http).send(message())
    [request] = seen
    assert request.method == "POST"
    assert str(request.url) == "https://graph.microsoft.com/v1.0/users/ramflow@it.example/sendMail"
    assert request.headers["Authorization"] == "Bearer graph-token"
    assert request.headers["Content-Type"] == "text/plain"
    sent = message_from_bytes(base64.b64decode(request.content), policy=policy.default)
    assert sent["Message-ID"] == "<outbox-abc@ramflow.it.example>"  # the MIME form keeps our Message-ID


@pytest.mark.parametrize("status, error", [(403, Permanent), (400, Permanent), (429, Temporary), (503, Temporary),
                                           (401, Temporary)])
async def test_issue21_graph_refusals_are_permanent_or_temporary(status, error):
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(status, json={"error": {}})))
    with pytest.raises(error, match=str(status)):
        await GraphTransport(Settings(), FakeTokens(), http).send(message())
