"""The notification outbox: what Ramflow has told units, employees and IT staff."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

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
    sent_at: datetime | None
    model_config = {"from_attributes": True}


@router.get("/outbox", response_model=list[OutboxView])
def outbox(session: SessionDep, topic: str | None = None, recipient: str | None = None,
           workflow_id: str | None = None, limit: Limit = 100, offset: Offset = 0):
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit).offset(offset)
    for column, value in ((OutboxMessage.topic, topic), (OutboxMessage.recipient, recipient),
                          (OutboxMessage.workflow_id, workflow_id)):
        if value is not None:
            query = query.where(column == value)
    return list(session.scalars(query))
