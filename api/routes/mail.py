"""The support mailbox as IT sees it (issue 21): mail kept aside (unparseable, oversized, a forbidden
attachment) or set aside unanswered (auto-replies, bounces, list mail), each with its reason."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import Limit, Offset, SessionDep
from db.conversation import rejected_mail

router = APIRouter(tags=["support mailbox"])


class InboundMailView(BaseModel):
    message_id: str
    sender: str | None
    subject: str | None
    received_at: datetime
    state: str
    reason: str | None
    size: int
    model_config = {"from_attributes": True}


@router.get("/mail/rejected", response_model=list[InboundMailView])
def mail_rejected(session: SessionDep, state: Literal["rejected", "ignored"] | None = Query(
        None, description="rejected: kept aside (bad input); ignored: loop-prone mail, never answered; "
                          "default both"), limit: Limit = 100, offset: Offset = 0) -> list:
    """Newest first; the mail itself is in the mailbox's kept-aside folder (Settings.mail_rejected_folder)."""
    return rejected_mail(session, (state,) if state else ("rejected", "ignored"), limit, offset)
