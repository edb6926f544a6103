"""What any process tells a person or a group: one message to the outbox (shared by every process)."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class Notification(BaseModel):
    """Idempotent by `key` (workflow id + transition + topic + recipient)."""

    key: str
    topic: str
    recipient: str
    subject: str
    body: str
    workflow_id: str
    at: datetime
