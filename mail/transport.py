"""How a mail travels (issue 21), chosen by settings (MAIL_TRANSPORT): SMTP submission (`aiosmtplib`; Exchange
Online: 587 + STARTTLS + XOAUTH2 with a client-credentials token) or Microsoft Graph `POST /users/{id}/sendMail`
(`httpx`). Both raise `Permanent` for a refusal that retrying cannot change (SMTP 5xx, Graph 4xx other than
408/429) and `Temporary` for the rest; the activity turns them into a non-retryable or a retried attempt."""
from __future__ import annotations

import base64
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any, Protocol

import aiosmtplib
import httpx

from config import Settings

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
EXCHANGE_SCOPE = "https://outlook.office365.com/.default"  # SMTP.SendAsApp


class Permanent(Exception):
    """The server refused for good (SMTP 5xx, Graph 400/403/404): retrying sends the same refusal."""


class Temporary(Exception):
    """The server is away or busy (connection refused, SMTP 4xx, Graph 429/5xx): try again later."""


class Transport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class TokenProvider:
    """Client-credentials tokens from Entra ID through `msal` (the seam tests fake: `app_factory`). msal
    caches the token in memory until shortly before it expires."""

    def __init__(self, settings: Settings, scope: str, app_factory: Callable[..., Any] | None = None,
                 http_client: Any = None) -> None:
        if not (settings.mail_tenant_id and settings.mail_client_id and settings.mail_client_secret):
            raise ValueError("mail: MAIL_TENANT_ID, MAIL_CLIENT_ID and MAIL_CLIENT_SECRET are needed for tokens")
        import msal

        factory = app_factory or msal.ConfidentialClientApplication
        self.scope = scope
        # a given http_client (tests: a fake authority) also skips instance discovery at login.microsoftonline.com
        seam = {"http_client": http_client, "instance_discovery": False} if http_client is not None else {}
        self.app = factory(settings.mail_client_id, client_credential=settings.mail_client_secret.get_secret_value(),
                           authority=f"{settings.mail_authority_host.rstrip('/')}/{settings.mail_tenant_id}", **seam)

    def token(self) -> str:
        result = self.app.acquire_token_for_client(scopes=[self.scope])
        if "access_token" not in result:
            # a wrong secret or a missing permission does not heal by itself, but a fix does: retried with backoff
            raise Temporary(f"token: {result.get('error')}: {result.get('error_description', '')[:200]}")
        return result["access_token"]


def xoauth2(user: str, token: str) -> str:
    """The SASL XOAUTH2 initial response (base64 of `user=…^Aauth=Bearer …^A^A`)."""
    return base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode()


class SmtpTransport:
    def __init__(self, settings: Settings, tokens: TokenProvider | None = None) -> None:
        self.settings, self.tokens = settings, tokens
        if settings.mail_smtp_auth == "xoauth2" and tokens is None:
            self.tokens = TokenProvider(settings, EXCHANGE_SCOPE)

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.mail_smtp_tls_ca_file)

    async def send(self, message: EmailMessage) -> None:
        s = self.settings
        smtp = aiosmtplib.SMTP(hostname=s.mail_smtp_host, port=s.mail_smtp_port, timeout=s.mail_smtp_timeout_seconds,
                               start_tls=False, tls_context=self._tls() if s.mail_smtp_starttls else None)
        try:
            await smtp.connect()
            if s.mail_smtp_starttls:
                await smtp.starttls(tls_context=self._tls())
            await self._authenticate(smtp)
            await smtp.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as error:
            raise _classified(error.recipients[0].code, error.recipients[0].message) from error
        except aiosmtplib.SMTPResponseException as error:
            raise _classified(error.code, error.message) from error
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise Temporary(f"SMTP {s.mail_smtp_host}:{s.mail_smtp_port}: {error}") from error
        finally:
            if smtp.is_connected:
                try:
                    await smtp.quit()
                except (aiosmtplib.SMTPException, OSError):
                    smtp.close()

    async def _authenticate(self, smtp: aiosmtplib.SMTP) -> None:
        s = self.settings
        if s.mail_smtp_auth == "xoauth2":
            assert self.tokens is not None and s.mail_smtp_user
            await smtp.ehlo()  # after STARTTLS the server forgets the greeting (RFC 3207)
            code, text = await smtp.execute_command(b"AUTH", b"XOAUTH2", xoauth2(s.mail_smtp_user,
                                                                                 self.tokens.token()).encode())
            if code != 235:
                raise _classified(code, f"AUTH XOAUTH2: {text}")
        elif s.mail_smtp_auth == "login":
            assert s.mail_smtp_user and s.mail_smtp_password
            await smtp.login(s.mail_smtp_user, s.mail_smtp_password.get_secret_value())


def _classified(code: int, text: str) -> Exception:
    what = f"SMTP {code} {text}".strip()[:480]
    return Permanent(what) if 500 <= code < 600 else Temporary(what)


class GraphTransport:
    """`POST /users/{sender}/sendMail` with the MIME message (base64, `Content-Type: text/plain`), so the
    Message-ID and threading headers travel as they are. Needs Mail.Send (scoped with RBAC for Applications)."""

    def __init__(self, settings: Settings, tokens: TokenProvider | None = None,
                 http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.tokens = tokens or TokenProvider(settings, GRAPH_SCOPE)
        self.http = http or httpx.AsyncClient(timeout=settings.mail_smtp_timeout_seconds)

    async def send(self, message: EmailMessage) -> None:
        s = self.settings
        sender = s.mail_graph_sender or s.mail_from
        url = f"{s.mail_graph_url.rstrip('/')}/users/{sender}/sendMail"
        try:
            response = await self.http.post(url, content=base64.b64encode(message.as_bytes()),
                                            headers={"Authorization": f"Bearer {self.tokens.token()}",
                                                     "Content-Type": "text/plain"})
        except httpx.HTTPError as error:
            raise Temporary(f"Graph sendMail: {error}") from error
        if response.status_code == 202:
            return
        what = f"Graph sendMail {response.status_code}: {response.text[:400]}"
        if response.status_code in (408, 429) or response.status_code >= 500 or response.status_code == 401:
            raise Temporary(what)  # 401: an expired token; the next attempt gets a new one
        raise Permanent(what)


def make_transport(settings: Settings) -> Transport | None:
    """The configured transport; None when delivery is off."""
    if settings.mail_transport == "smtp":
        return SmtpTransport(settings)
    if settings.mail_transport == "graph":
        return GraphTransport(settings)
    return None
