"""The development mail server (issue 21, `make run`): SMTP on 127.0.0.1:1025 (the Mailpit/MailHog port) that
catches every mail. Mail to the support address goes into the support mailbox's Maildir (MAIL_SUPPORT_MAILDIR,
cur/new/tmp), which the inbound half reads; every other mail is kept as an .eml file in MAIL_DEV_CATCH_DIR
(default var/mail/outgoing) with an `X-Envelope-To` line first, and listed on the console's development page.
Nothing leaves the machine. `python -m mail.devserver [--port 1025]`; `python -m mail.send_test` sends one."""
from __future__ import annotations

import argparse
import asyncio
import mailbox
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer, Envelope, Session

DEFAULT_CATCH_DIR = "var/mail/outgoing"


class CatchAll:
    """aiosmtpd handler: support mail into the Maildir, the rest into the catch folder."""

    def __init__(self, catch_dir: Path, support_maildir: Path, support_address: str) -> None:
        self.catch_dir, self.support_address = catch_dir, support_address.lower()
        catch_dir.mkdir(parents=True, exist_ok=True)
        support_maildir.parent.mkdir(parents=True, exist_ok=True)
        self.support = mailbox.Maildir(support_maildir, create=True)

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        raw = raw if isinstance(raw, bytes) else raw.encode()
        to_support = [r for r in envelope.rcpt_tos if r.lower() == self.support_address]
        others = [r for r in envelope.rcpt_tos if r.lower() != self.support_address]
        if to_support:
            self.support.add(raw)  # written to tmp/, then moved to new/ (Maildir's atomic delivery)
        if others:
            name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
            path = self.catch_dir / name
            partial = self.catch_dir / f".{name}.tmp"
            partial.write_bytes(f"X-Envelope-To: {', '.join(others)}\r\n".encode() + raw)
            partial.rename(path)  # the page never lists half a mail
        return "250 Message accepted for delivery"


def controller(catch_dir: Path, support_maildir: Path, support_address: str, host: str = "127.0.0.1",
               port: int = 1025) -> Controller:
    return Controller(CatchAll(catch_dir, support_maildir, support_address), hostname=host, port=port)


def caught(catch_dir: Path, limit: int = 100) -> list[dict[str, str]]:
    """The newest caught mails (for the console's development page): file, to, subject, date, text."""
    from email import message_from_bytes, policy

    rows = []
    for path in sorted(catch_dir.glob("*.eml"), reverse=True)[:limit]:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        rows.append({"file": path.name, "to": str(message.get("X-Envelope-To", message.get("To", ""))),
                     "subject": str(message.get("Subject", "")), "date": str(message.get("Date", "")),
                     "message_id": str(message.get("Message-ID", "")),
                     "text": body.get_content() if body is not None else ""})
    return rows


def main() -> None:
    from config import get_settings

    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    args = parser.parse_args()
    server = controller(Path(settings.mail_dev_catch_dir or DEFAULT_CATCH_DIR), Path(settings.mail_support_maildir),
                        settings.mail_support_address, args.host, args.port)
    server.start()
    print(f"development mail server on {args.host}:{args.port}: support mail → {settings.mail_support_maildir}, "
          f"the rest → {settings.mail_dev_catch_dir or DEFAULT_CATCH_DIR}", flush=True)
    try:
        asyncio.run(asyncio.Event().wait())
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
