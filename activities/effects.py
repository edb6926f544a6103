"""Idempotency of side effects: one row per effect (key: workflow id + step). The audit lines of the
transition logs: activities/audit_trail.py."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Iterator

from sqlalchemy.orm import Session, sessionmaker

from temporalio.exceptions import ApplicationError

from db.models import AppliedEffect


def apply_once(session: Session, key: str, at: datetime) -> bool:
    """True the first time `key` is seen in this transaction's database; the caller then does the effect."""
    if session.get(AppliedEffect, key) is not None:
        return False
    session.add(AppliedEffect(key=key, at=at))
    session.flush()
    return True


@contextmanager
def refusals(kinds: dict[type[Exception], str]) -> Iterator[None]:
    """A business refusal raised inside becomes a non-retryable ApplicationError of its kind
    (workflows/steps.BUSINESS_ERRORS: the API's status), naming the field or the rule as raised."""
    try:
        yield
    except tuple(kinds) as error:
        kind = next(kind for raised, kind in kinds.items() if isinstance(error, raised))
        raise ApplicationError(str(error), type=kind, non_retryable=True) from error


class WithSessions:
    """Activities and adapters that write Ramflow's database: they hold its session factory."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
