"""The web console's sessions and pending sign-ins (issue 14), in the database so that every API process
serves every browser (no sticky sessions). The cookie holds a random id; a row is found by the id's
SHA-256, and the access token is sealed (AES-GCM) with a key derived from the id: the table alone
neither opens a session nor yields a usable token."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base, UTCDateTime


class ConsoleSessionRow(Base):
    __tablename__ = "console_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie's id
    sealed_token: Mapped[bytes] = mapped_column(LargeBinary)  # nonce + AES-GCM(access token)
    principal: Mapped[dict] = mapped_column(JSON)  # subject, roles, team, unit, employee_ref
    csrf: Mapped[str] = mapped_column(String(64))
    flash: Mapped[list] = mapped_column(JSON, default=list)  # [(kind, message)] shown once on the next page
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ConsoleLoginRow(Base):
    """A sign-in started (authorization code + PKCE) whose callback may reach another API process."""

    __tablename__ = "console_logins"
    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the OAuth state
    sealed: Mapped[bytes] = mapped_column(LargeBinary)  # nonce + AES-GCM({verifier, nonce, next})
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
