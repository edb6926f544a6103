"""Mails as the support mailbox receives them, and the people who send them."""
from __future__ import annotations

from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime

from db.people_models import Person

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # a small "screenshot"


def mail(sender: str = "anna.berg@tranemo.se", subject: str = "Skrivaren skriver inte ut",
         body: str = "Hej!\nSkrivaren på plan 2 skriver inte ut.\n/Anna", message_id: str | None = None,
         headers: dict[str, str] | None = None, attachments: list[tuple[str, str, bytes]] = (),
         date: datetime | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@tranemo.se"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or datetime.now(timezone.utc))
    if message_id:
        msg["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    for filename, content_type, content in attachments:
        maintype, subtype = content_type.split("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))  # as on the wire (RFC 5322)


def add_person(sessions, employee_ref: str, email: str, unit_id: str | None = "TR-BUF") -> None:
    with sessions.begin() as s:
        s.add(Person(employee_ref=employee_ref, name=f"Person {employee_ref}", email=email, unit_id=unit_id,
                     updated_at=datetime.now(timezone.utc)))
