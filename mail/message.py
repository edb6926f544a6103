"""One outbox row as a MIME message (issue 21): From, To, Subject, a Message-ID derived from the row's key
(a resend after a crash carries the same one, so it is recognisable and replies thread), In-Reply-To and
References for threaded replies, text and HTML parts, and `Auto-Submitted: auto-generated` (RFC 3834: no
auto-reply answers a notification)."""
from __future__ import annotations

import hashlib
from email.headerregistry import Address as MimeAddress
from email.message import EmailMessage
from email.utils import format_datetime

from config import Settings
from mail.addresses import Address
from mail.render import Rendered


def message_id(key: str, domain: str) -> str:
    """`<outbox-KEY@ramflow.DOMAIN>` with KEY a digest of the outbox key (keys carry `:` and personal refs)."""
    return f"<outbox-{hashlib.sha256(key.encode()).hexdigest()[:32]}@ramflow.{domain}>"


def build(settings: Settings, to: Address, rendered: Rendered, msg_id: str, created_at, in_reply_to: str | None,
          references: str | None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = MimeAddress(settings.mail_from_name, addr_spec=settings.mail_from)
    message["To"] = MimeAddress(to.name or "", addr_spec=to.email)
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(created_at)
    message["Message-ID"] = msg_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = references or in_reply_to
    elif references:
        message["References"] = references
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    message["Content-Language"] = "en" if to.language == "en" else "sv"  # after: set_content drops Content-*
    return message
