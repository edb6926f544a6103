"""Security records: refused attempts (401/403) and changes to reference data (who, when, what)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base, UTCDateTime


class RefusedAttempt(Base):
    """A request the API refused with 401 or 403: readable by auditors."""

    __tablename__ = "refused_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str | None] = mapped_column(String(120), doc="the validated token's subject")
    claimed_subject: Mapped[str | None] = mapped_column(String(120), doc="an invalid token's subject, unverified")
    roles: Mapped[list] = mapped_column(JSON, default=list)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text)
    client: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (Index("ix_refused_attempts_at", "at"),)


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
