"""The notification outbox: what Ramflow has told units, employees and IT staff, and how its mail went
(issue 21: pending / sent / failed, attempts, the last error, when it was sent, the Message-ID)."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from api.deliveries import DeliveryState
from api.deps import Limit, Offset, SessionDep
from db.models import OutboxMessage

router = APIRouter(tags=["outbox"])


class OutboxView(BaseModel):
    id: int
    created_at: datetime
    topic: str
    recipient: str
    subject: str
    body: str
    workflow_id: str | None
    state: DeliveryState
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    message_id: str | None
    in_reply_to: str | None
    model_config = {"from_attributes": True}


@router.get("/outbox", response_model=list[OutboxView])
def outbox(session: SessionDep, topic: str | None = None, recipient: str | None = None,
           workflow_id: str | None = None, state: DeliveryState | None = None, limit: Limit = 100, offset: Offset = 0):
    """Newest first; `state=failed` lists what did not reach its recipient and why (`last_error`)."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit).offset(offset)
    for column, value in ((OutboxMessage.topic, topic), (OutboxMessage.recipient, recipient),
                          (OutboxMessage.workflow_id, workflow_id), (OutboxMessage.state, state)):
        if value is not None:
            query = query.where(column == value)
    return list(session.scalars(query))
