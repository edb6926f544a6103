"""A ticket's conversation (issue 21): its messages and attachments, written by the mail intake and the
API, read by the API (and later the console). Threading looks up the Message-IDs Ramflow has seen or sent."""
from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.mail_models import InboundMail, TicketAttachment, TicketMessage
from db.models import OutboxMessage

TICKET_REPLY = "ticket_reply"  # the outbox topic of IT's answer to the reporter


def add_message(s: Session, number: str, *, at: datetime, author: str, direction: str, body: str,
                visible_to_reporter: bool = True, message_id: str | None = None,
                in_reply_to: str | None = None) -> TicketMessage:
    """The ticket's next message (seq 1, 2, …); the caller commits."""
    seq = (s.scalar(select(func.max(TicketMessage.seq)).where(TicketMessage.ticket_number == number)) or 0) + 1
    row = TicketMessage(ticket_number=number, seq=seq, at=at, author=author[:254], direction=direction,
                        visible_to_reporter=visible_to_reporter, body=body, message_id=message_id,
                        in_reply_to=in_reply_to)
    s.add(row)
    s.flush()
    return row


def has_mail(s: Session, number: str, message_id: str) -> bool:
    """The mail is in the ticket's conversation already (a retried intake writes it once)."""
    return s.scalar(select(TicketMessage.id).where(TicketMessage.ticket_number == number,
                                                   TicketMessage.message_id == message_id).limit(1)) is not None


def add_attachment(s: Session, message: TicketMessage, filename: str, content_type: str, content: bytes,
                   directory: str | None) -> TicketAttachment:
    """Stored with its SHA-256: in the database, or under `directory` named by the hash (written once)."""
    digest = hashlib.sha256(content).hexdigest()
    stored = None
    if directory:
        path = Path(directory) / digest[:2] / digest
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".part")
            partial.write_bytes(content)
            partial.replace(path)  # atomic: a reader never sees half a file
        stored = str(path)
    row = TicketAttachment(message_id=message.id, ticket_number=message.ticket_number, filename=filename[:255],
                           content_type=content_type[:120], size=len(content), sha256=digest,
                           content=None if directory else content, stored_path=stored)
    s.add(row)
    return row


def attachment_bytes(row: TicketAttachment) -> bytes:
    return row.content if row.content is not None else Path(row.stored_path or "").read_bytes()


def messages_of(s: Session, number: str, reporter_view: bool) -> list[TicketMessage]:
    """The conversation in order; the reporter's view leaves out IT's internal notes."""
    query = select(TicketMessage).where(TicketMessage.ticket_number == number).order_by(TicketMessage.seq)
    if reporter_view:
        query = query.where(TicketMessage.visible_to_reporter.is_(True))
    return list(s.scalars(query))


def attachments_of(s: Session, message_ids: list[int]) -> dict[int, list[TicketAttachment]]:
    found: dict[int, list[TicketAttachment]] = {}
    if message_ids:
        for row in s.scalars(select(TicketAttachment).where(TicketAttachment.message_id.in_(message_ids))
                             .order_by(TicketAttachment.id)):
            found.setdefault(row.message_id, []).append(row)
    return found


def ticket_of_thread(s: Session, message_ids: list[str]) -> str | None:
    """The ticket a reply belongs to: the first Message-ID that is a message of a conversation (a mail
    that came in, or IT's reply), an outbox message Ramflow sent, or a mail that opened a ticket."""
    for message_id in message_ids:
        number = s.scalar(select(TicketMessage.ticket_number).where(TicketMessage.message_id == message_id)
                          .limit(1))
        number = number or s.scalar(select(InboundMail.ticket_number).where(InboundMail.message_id == message_id))
        if number is None:  # a notification Ramflow sent about the ticket (its workflow id names it)
            row = s.scalar(select(OutboxMessage).where(OutboxMessage.message_id == message_id).limit(1))
            number = _ticket_of_workflow(row.workflow_id) if row is not None else None
        if number:
            return number
    return None


def _ticket_of_workflow(workflow_id: str | None) -> str | None:
    return workflow_id.removeprefix("ticket-") if workflow_id and workflow_id.startswith("ticket-") else None


def queue_ticket_reply(s: Session, *, number: str, key: str, recipient: str, subject: str, body: str,
                       at: datetime, in_reply_to: str | None, references: list[str]) -> OutboxMessage:
    """IT's answer to the reporter as an outbox row of topic `ticket_reply`, threaded (the outbox contract of
    activities/outbox.py): pending until delivery (the sweep, within a minute) sends it under the
    Message-ID derived from `key`."""
    row = OutboxMessage(created_at=at, topic=TICKET_REPLY, recipient=recipient[:120], subject=subject[:200],
                        body=body, workflow_id=f"ticket-{number}", key=key[:200], state="pending", attempts=0,
                        in_reply_to=in_reply_to, references=" ".join(references) or None)
    s.add(row)
    return row


def thread_of(s: Session, number: str) -> list[str]:
    """The Message-IDs of the ticket's conversation, oldest first (the References of a reply)."""
    return [m for m in s.scalars(select(TicketMessage.message_id).where(
        TicketMessage.ticket_number == number, TicketMessage.message_id.is_not(None)).order_by(TicketMessage.seq))]


def rejected_mail(s: Session, states: tuple[str, ...], limit: int, offset: int) -> list[InboundMail]:
    return list(s.scalars(select(InboundMail).where(InboundMail.state.in_(states))
                          .order_by(InboundMail.received_at.desc(), InboundMail.id.desc()).limit(limit).offset(offset)))
