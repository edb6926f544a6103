"""A real SMTP server on loopback for the mail tests (aiosmtpd): records what it accepts, refuses addresses
with 550 on demand, stops and starts on the same port, and optionally speaks STARTTLS (a self-signed
certificate) and AUTH XOAUTH2 (checks the bearer token)."""
from __future__ import annotations

import base64
import datetime as dt
import ssl
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from tests.conftest import free_port


@dataclass
class Recorder:
    refuse: set[str] = field(default_factory=set)  # recipients answered 550
    accepted: list[EmailMessage] = field(default_factory=list)
    envelopes: list[list[str]] = field(default_factory=list)
    token: str | None = None  # XOAUTH2: the bearer token the server accepts
    authenticated: list[str] = field(default_factory=list)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, options) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.accepted.append(message_from_bytes(envelope.original_content or envelope.content,
                                                policy=policy.default))
        self.envelopes.append(list(envelope.rcpt_tos))
        return "250 OK"

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        """RFC-less but de-facto (Google, Microsoft): `AUTH XOAUTH2 <base64 user=…^Aauth=Bearer …^A^A>`."""
        decoded = base64.b64decode(args[1]).decode() if len(args) > 1 else ""
        parts = dict(p.split("=", 1) for p in decoded.split("\x01") if "=" in p)
        ok = self.token is not None and parts.get("auth") == f"Bearer {self.token}"
        if ok:
            self.authenticated.append(parts.get("user", ""))
        return AuthResult(success=ok, handled=False, auth_data=parts.get("user"))


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM), made with `cryptography`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class LoopbackSmtp:
    """Start/stop an aiosmtpd Controller on one port; `tls` (cert, key) turns on STARTTLS (required)."""

    def __init__(self, recorder: Recorder | None = None, tls: tuple[Path, Path] | None = None) -> None:
        self.recorder = recorder or Recorder()
        self.port = free_port()
        self.tls = tls
        self.controller: Controller | None = None

    def start(self) -> "LoopbackSmtp":
        extra = {}
        if self.tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*map(str, self.tls))
            extra = {"tls_context": context, "require_starttls": True, "auth_require_tls": True,
                     "auth_required": self.recorder.token is not None}
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port, **extra)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
