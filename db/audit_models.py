"""The auditors' records (issue 11): archived Temporal histories and refused attempts, both append-only
and hash-chained (domain.audit); a unique prev_hash makes a forked chain impossible."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base, UTCDateTime


class HistoryArchive(Base):
    """One Temporal run's event history (gzip of its JSON), kept beyond the namespace's retention."""

    __tablename__ = "history_archive"
    __table_args__ = (UniqueConstraint("workflow_id", "run_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    run_id: Mapped[str] = mapped_column(String(80))
    workflow_type: Mapped[str] = mapped_column(String(80), index=True)
    business_key: Mapped[str] = mapped_column(String(120), index=True)
    reason: Mapped[str] = mapped_column(String(30))  # closed | continued_as_new
    first_event_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_event_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    event_count: Mapped[int] = mapped_column(Integer)
    history_sha256: Mapped[str] = mapped_column(String(64))
    history_gz: Mapped[bytes] = mapped_column(LargeBinary)
    archived_at: Mapped[datetime] = mapped_column(UTCDateTime())
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64))


class RefusedAttempt(Base):
    """A request the API refused: every 401 (no valid token) and 403 (not allowed), and a command a process
    refused (409, or a 422 from its rules). A refused command never entered Temporal's history, so this is
    its only trace. One store for identity (issue 8) and the auditors (issue 11), hash-chained."""

    __tablename__ = "refused_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(300))
    workflow_id: Mapped[str | None] = mapped_column(String(200), index=True)
    actor: Mapped[str | None] = mapped_column(String(120), index=True, doc="the validated token's subject")
    claimed_subject: Mapped[str | None] = mapped_column(String(120), doc="an invalid token's subject, unverified")
    roles: Mapped[list] = mapped_column(JSON, default=list)
    client: Mapped[str | None] = mapped_column(String(80))
    event: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64))


ARCHIVE_FIELDS = ("workflow_id", "run_id", "workflow_type", "business_key", "reason", "first_event_at",
                  "last_event_at", "event_count", "history_sha256", "archived_at")
REFUSAL_FIELDS = ("at", "method", "path", "workflow_id", "actor", "claimed_subject", "roles", "client", "event",
                  "status", "message")
