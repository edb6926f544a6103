"""Idempotency of side effects: one row per effect (key: workflow id + step), one audit line per seq."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AppliedEffect, AuditLogColumns
from domain.audit import GENESIS, audit_line_content, link_hash
from domain.process import TransitionRecord
from observability.logging import business_key, log_transition


def apply_once(session: Session, key: str, at: datetime) -> bool:
    """True the first time `key` is seen in this transaction's database; the caller then does the effect."""
    if session.get(AppliedEffect, key) is not None:
        return False
    session.add(AppliedEffect(key=key, at=at))
    session.flush()
    return True


def append_audit_line(session: Session, table: type[AuditLogColumns], key_column: str, key: str,
                      record: TransitionRecord) -> bool:
    """Mirror one line of a process's audit log into `table`, once per (key, seq): a retried
    activity adds nothing. True when the line was new. Each line is chained to the one before it
    (domain.audit): the (key, seq) unique constraint keeps the chain from forking."""
    column = getattr(table, key_column)
    if session.scalar(select(table.id).where(column == key, table.seq == record.seq)) is not None:
        return False
    prev_hash = session.scalar(select(table.hash).where(column == key, table.seq < record.seq)
                               .order_by(table.seq.desc()).limit(1)) or GENESIS
    line = table(**{key_column: key}, **record.model_dump(exclude={"at"}), at=record.at.astimezone(timezone.utc))
    line.prev_hash, line.hash = prev_hash, link_hash(prev_hash, audit_line_content(key_column, key, line))
    session.add(line)
    log_transition((business_key(key) or key) if key_column == "workflow_id" else key, record)  # one event per move
    return True
