"""Idempotency of side effects: one row per effect (key: workflow id + step). The audit lines of the
transition logs: activities/audit_trail.py."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from db.models import AppliedEffect


def apply_once(session: Session, key: str, at: datetime) -> bool:
    """True the first time `key` is seen in this transaction's database; the caller then does the effect."""
    if session.get(AppliedEffect, key) is not None:
        return False
    session.add(AppliedEffect(key=key, at=at))
    session.flush()
    return True
