"""Tables of a ticket's conversation and of the support mailbox (issue 21, "In"): the messages of a ticket
(mail in, IT's replies and notes), their attachments, and every inbound mail Ramflow has seen, once per
Message-ID, so a crash between creating a ticket and moving the mail never makes two tickets."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base, UTCDateTime

# direction of a ticket message
IN, OUT, INTERNAL = "in", "out", "internal"


class TicketMessage(Base):
    """One message of a ticket's conversation, numbered per ticket (`seq`)."""

    __tablename__ = "ticket_messages"
    __table_args__ = (UniqueConstraint("ticket_number", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # no foreign key: a mailed ticket's message is written before its workflow registers the ticket row
    ticket_number: Mapped[str] = mapped_column(String(40), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    author: Mapped[str] = mapped_column(String(254))  # employee number, staff subject or a mail address
    direction: Mapped[str] = mapped_column(String(10))  # in / out / internal
    visible_to_reporter: Mapped[bool] = mapped_column(Boolean, default=True)
    body: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(250), index=True)  # the mail's Message-ID
    in_reply_to: Mapped[str | None] = mapped_column(String(250))


class TicketAttachment(Base):
    """A file that came with a message (a screenshot, mostly); bytes in `content` or under the configured
    directory (`stored_path`, named by the SHA-256)."""

    __tablename__ = "ticket_attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("ticket_messages.id"), index=True)
    ticket_number: Mapped[str] = mapped_column(String(40), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    stored_path: Mapped[str | None] = mapped_column(String(500))


class InboundMail(Base):
    """Every mail read from the support mailbox, once (unique Message-ID): what became of it."""

    __tablename__ = "inbound_mail"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    sender: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(250))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # received → ticket (a new ticket) / threaded (added to one) / ignored (auto-reply, list, bounce) /
    # rejected (kept aside: unparseable, oversized, forbidden attachment)
    state: Mapped[str] = mapped_column(String(20), index=True)
    ticket_number: Mapped[str | None] = mapped_column(String(40), index=True)
    reporter_ref: Mapped[str | None] = mapped_column(String(40))  # None: an unknown sender (1st line resolves)
    reason: Mapped[str | None] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
