"""The audit trail of every process (issue 11): each transition of a workflow's log mirrored once into
its process's transition table, chained to the line before it (domain.audit), and logged as one event."""
from __future__ import annotations

from datetime import timezone
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.exceptions import ApplicationError

from db.models import AuditLogColumns
from domain.audit import GENESIS, audit_line_content, link_hash
from domain.process import TransitionRecord
from observability.logging import business_key, log_transition


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


def mirror_into_register(sessions: sessionmaker[Session], row_type: type, key: str, table: type[AuditLogColumns],
                         key_column: str, record: TransitionRecord, update: Callable[[Any], None]) -> None:
    """A mirror activity: append the transition's audit line, then `update` the register row
    (`row_type` by `key`) in the same transaction; a retried activity whose line is already there
    changes nothing. No register row is a bug, not retried."""
    with sessions.begin() as s:
        row = s.get(row_type, key)
        if row is None:
            raise ApplicationError(f"no register row {row_type.__name__} {key}", non_retryable=True)
        if append_audit_line(s, table, key_column, key, record):
            update(row)
