"""Idempotency of side effects: one row per effect (key: workflow id + step), one audit line per seq."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AppliedEffect, AuditLogColumns
from domain.process import TransitionRecord


def apply_once(session: Session, key: str, at: datetime) -> bool:
    """True the first time `key` is seen in this transaction's database; the caller then does the effect."""
    if session.get(AppliedEffect, key) is not None:
        return False
    session.add(AppliedEffect(key=key, at=at))
    session.flush()
    return True


def append_audit_line(session: Session, table: type[AuditLogColumns], key_column: str, key: str,
                      record: TransitionRecord) -> bool:
    """Mirror one line of a process's audit log into `table`, once per (key, seq): a retried activity adds
    nothing. True when the line was new or changed.

    A line already there with other content is overwritten: a worker that dies after a local activity but
    before its workflow task completes leaves a line the history never kept; the task runs again on another
    worker (with a later `workflow.now()`), and the history keeps that run's record (issue 15 topology test:
    the audit mirror equals each workflow's log)."""
    column = getattr(table, key_column)
    values = {**record.model_dump(exclude={"at", "seq"}), "at": record.at.astimezone(timezone.utc)}
    line = session.scalar(select(table).where(column == key, table.seq == record.seq))
    if line is None:
        session.add(table(**{key_column: key}, seq=record.seq, **values))
        return True
    if all(getattr(line, name) == value for name, value in values.items()):
        return False
    for name, value in values.items():
        setattr(line, name, value)
    return True
