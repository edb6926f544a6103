"""Delivery of notifications as the API shows it (issue 21): on `GET /api/v1/outbox` and, per line of a
process's history, the messages that line sent (joined by workflow id and the outbox key's sequence number:
`<workflow id>:<seq>:notify:<topic>:<recipient>`, workflows/base.py `_key`)."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import OutboxMessage
from domain.process import TransitionRecord

DeliveryState = Literal["pending", "sent", "failed"]


class Delivery(BaseModel):
    """One message's delivery: pending → sent (accepted by the mail server) or failed (with the reason)."""

    outbox_id: int
    topic: str
    recipient: str
    state: DeliveryState
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    message_id: str | None


class HistoryEntry(TransitionRecord):
    """A line of a process's history with the notifications it sent and their delivery."""

    deliveries: list[Delivery] = Field(default_factory=list)


def delivery(row: OutboxMessage) -> Delivery:
    return Delivery(outbox_id=row.id, topic=row.topic, recipient=row.recipient, state=row.state,
                    attempts=row.attempts or 0, last_error=row.last_error, sent_at=row.sent_at,
                    message_id=row.message_id)


def with_deliveries(session: Session, workflow_id: str, records: list[TransitionRecord]) -> list[HistoryEntry]:
    by_seq: dict[int, list[Delivery]] = {}
    prefix = f"{workflow_id}:"
    for row in session.scalars(select(OutboxMessage).where(OutboxMessage.workflow_id == workflow_id)
                               .order_by(OutboxMessage.id)):
        seq = (row.key or "").removeprefix(prefix).split(":", 1)[0] if (row.key or "").startswith(prefix) else ""
        if seq.isdigit():
            by_seq.setdefault(int(seq), []).append(delivery(row))
    return [HistoryEntry(**r.model_dump(), deliveries=by_seq.get(r.seq, [])) for r in records]
