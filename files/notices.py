"""Notices to IT from the file exchanges (issue 25): a row in the outbox (activities/outbox.py's contract:
one row per key; the minute's mail sweep delivers it), in Swedish like every message IT reads."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import OutboxMessage

IT_ASSET_MANAGEMENT = "it:asset-management"  # IT's asset-management queue: buyouts, orders, erasure


def notify_it(session: Session, key: str, topic: str, subject: str, body: str, at: datetime,
              data: dict[str, str] | None = None, workflow_id: str | None = None) -> None:
    """Once per key (a repeated request writes nothing more)."""
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key[:200])) is not None:
        return
    session.add(OutboxMessage(created_at=at, topic=topic, recipient=IT_ASSET_MANAGEMENT, subject=subject[:200],
                              body=body, workflow_id=workflow_id, key=key[:200], state="pending", attempts=0,
                              data=data or None))
