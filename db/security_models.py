"""Security records: changes to reference data (who, when, what). Refused attempts (401/403, refused
commands) are one store with the auditors' records: db.audit_models.RefusedAttempt."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.audit_models import RefusedAttempt  # noqa: F401 - the one refused-attempts store
from db.models import Base, UTCDateTime


class ReferenceChange(Base):
    """A change to reference data (catalogue, prices, renewal policies, application prices)."""

    __tablename__ = "reference_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(120))
    entity: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(120))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_reference_changes_entity_key", "entity", "key"),)


class RateLimitWindow(Base):
    """Requests of one key (subject, address) in one minute, counted by every API process (api.ratelimit);
    windows that ended are deleted as the next begins."""

    __tablename__ = "rate_limit_windows"
    key: Mapped[str] = mapped_column(String(210), primary_key=True)
    window_start: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)  # epoch seconds
    count: Mapped[int] = mapped_column(Integer)
