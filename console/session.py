"""Console sessions: kept on the server (the cookie holds only a random id), with a CSRF token per session.

The cookie is HttpOnly, SameSite=Lax and Secure (switched off only for http://127.0.0.1 on the embedded
stack: CONSOLE_COOKIE_SECURE=false). The access token from the issuer never reaches the browser.
Sessions and pending sign-ins live in the database (db/console_sessions.py), so several API processes
share them: a sign-in started on one process comes back to another, and a sign-out ends the session on all.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Principal
from db.console_sessions import ConsoleLoginRow, ConsoleSessionRow

COOKIE = "ramflow_console"
LOGIN_COOKIE = "ramflow_console_login"
LANG_COOKIE = "ramflow_lang"
PENDING_SECONDS = 600  # a login started must come back from the issuer within ten minutes
PRINCIPAL_FIELDS = ("subject", "team", "unit", "employee_ref")


@dataclass
class ConsoleSession:
    sid: str
    access_token: str
    principal: Principal
    expires: datetime
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    flash: list[tuple[str, str]] = field(default_factory=list)  # (kind, message) shown once on the next page
    stored_flash: list[tuple[str, str]] = field(default_factory=list, repr=False)  # as last read or written
    refusal_status: int = 400  # the status of the API's last refusal on this page
    lang: str = "sv"  # the language of this request's pages (its cookie; never stored): refusals are said in it


@dataclass
class PendingLogin:
    state: str
    verifier: str
    nonce: str
    next_path: str


def _digest(purpose: str, secret: str) -> bytes:
    return hashlib.sha256(f"ramflow-console/{purpose}/{secret}".encode()).digest()


def _seal(secret: str, plain: bytes) -> bytes:
    """AES-GCM under a key only the cookie's (or the state's) holder can derive."""
    nonce = os.urandom(12)
    return nonce + AESGCM(_digest("key", secret)).encrypt(nonce, plain, None)


def _open(secret: str, sealed: bytes) -> bytes | None:
    try:
        return AESGCM(_digest("key", secret)).decrypt(sealed[:12], sealed[12:], None)
    except (InvalidTag, ValueError):
        return None


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class SessionStore:
    """In the database, shared by every API process; each call runs off the event loop."""

    def __init__(self, sessions: sessionmaker[Session], now: Callable[[], datetime] = _utc_now,
                 pending_max: int = 1000) -> None:
        self.sessions = sessions
        self.now = now  # tests pass their own clock to see a session expire
        self.pending_max = pending_max  # issue 20: sign-ins waiting for the issuer, at most (the oldest go)

    async def _run(self, work: Callable[[Session], object]):
        def job():
            with self.sessions() as db:
                return work(db)
        return await asyncio.to_thread(job)

    async def _insert(self, model: type, row: object, now: datetime, cap: int | None = None) -> None:
        """One new row; the expired ones of its table go at the same time, and with `cap` the oldest beyond it."""
        def work(db: Session) -> None:
            db.execute(delete(model).where(model.expires_at < now))
            if cap is not None:
                excess = db.scalar(select(func.count()).select_from(model)) - cap + 1
                if excess > 0:
                    key = next(iter(model.__table__.primary_key.columns))
                    oldest = select(key).order_by(model.expires_at).limit(excess).scalar_subquery()
                    db.execute(delete(model).where(key.in_(oldest)))
            db.add(row)
            db.commit()
        await self._run(work)

    async def create(self, token: str, principal: Principal, lifetime: float) -> str:
        sid = secrets.token_urlsafe(32)
        now = self.now()
        row = ConsoleSessionRow(
            id_hash=_digest("id", sid).hex(), sealed_token=_seal(sid, token.encode()),
            principal={**{name: getattr(principal, name) for name in PRINCIPAL_FIELDS},
                       "roles": sorted(principal.roles)},
            csrf=secrets.token_urlsafe(32), flash=[], created_at=now, expires_at=now + timedelta(seconds=lifetime))

        await self._insert(ConsoleSessionRow, row, now)
        return sid

    async def get(self, sid: str | None) -> ConsoleSession | None:
        if not sid:
            return None
        id_hash, now = _digest("id", sid).hex(), self.now()

        def work(db: Session) -> ConsoleSessionRow | None:
            row = db.get(ConsoleSessionRow, id_hash)
            if row is not None and row.expires_at <= now:
                db.delete(row)
                db.commit()
                return None
            return row
        row = await self._run(work)
        token = _open(sid, row.sealed_token) if row is not None else None
        if row is None or token is None:
            return None
        data = row.principal
        principal = Principal(subject=data["subject"], roles=frozenset(data["roles"]), team=data.get("team"),
                              unit=data.get("unit"), employee_ref=data.get("employee_ref"))
        flash = [(kind, message) for kind, message in row.flash or []]
        return ConsoleSession(sid, token.decode(), principal, row.expires_at, row.csrf, flash, list(flash))

    async def save_flash(self, session: ConsoleSession) -> None:
        """The messages for the next page (only when they changed on this one)."""
        if session.flash == session.stored_flash:
            return
        id_hash, flash = _digest("id", session.sid).hex(), [list(item) for item in session.flash]

        def work(db: Session) -> None:
            row = db.get(ConsoleSessionRow, id_hash)
            if row is not None:
                row.flash = flash
                db.commit()
        await self._run(work)
        session.stored_flash = list(session.flash)

    async def drop(self, sid: str | None) -> None:
        if sid:
            id_hash = _digest("id", sid).hex()

            def work(db: Session) -> None:
                db.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.id_hash == id_hash))
                db.commit()
            await self._run(work)

    async def begin(self, next_path: str) -> PendingLogin:
        pending = PendingLogin(secrets.token_urlsafe(24), secrets.token_urlsafe(48), secrets.token_urlsafe(16),
                               next_path)
        now = self.now()
        plain = json.dumps({"verifier": pending.verifier, "nonce": pending.nonce, "next": next_path}).encode()
        row = ConsoleLoginRow(state_hash=_digest("state", pending.state).hex(), sealed=_seal(pending.state, plain),
                              expires_at=now + timedelta(seconds=PENDING_SECONDS))

        await self._insert(ConsoleLoginRow, row, now, cap=self.pending_max)
        return pending

    async def finish(self, state: str) -> PendingLogin | None:
        """The sign-in this state started, once (the row is gone after)."""
        state_hash, now = _digest("state", state).hex(), self.now()

        def work(db: Session) -> ConsoleLoginRow | None:
            row = db.get(ConsoleLoginRow, state_hash)
            if row is None:
                return None
            db.delete(row)
            db.commit()
            return row if row.expires_at > now else None
        row = await self._run(work)
        plain = _open(state, row.sealed) if row is not None else None
        if plain is None:
            return None
        data = json.loads(plain)
        return PendingLogin(state, data["verifier"], data["nonce"], data["next"])


def csrf_ok(session: ConsoleSession, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(session.csrf, given or "")
