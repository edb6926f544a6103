"""Console sessions: kept on the server (the cookie holds only a random id), with a CSRF token per session.

The cookie is HttpOnly, SameSite=Lax and Secure (switched off only for http://127.0.0.1 on the embedded
stack: CONSOLE_COOKIE_SECURE=false). The access token from the issuer never reaches the browser.
"""
from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field

from api.auth import Principal

COOKIE = "ramflow_console"
LOGIN_COOKIE = "ramflow_console_login"
LANG_COOKIE = "ramflow_lang"
PENDING_SECONDS = 600  # a login started must come back from the issuer within ten minutes


@dataclass
class ConsoleSession:
    access_token: str
    principal: Principal
    expires: float
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    flash: list[tuple[str, str]] = field(default_factory=list)  # (kind, message) shown once on the next page


@dataclass
class PendingLogin:
    state: str
    verifier: str
    nonce: str
    next_path: str
    expires: float


class SessionStore:
    """In memory, per API process (one console replica, or sticky sessions behind a proxy)."""

    def __init__(self) -> None:
        self.sessions: dict[str, ConsoleSession] = {}
        self.pending: dict[str, PendingLogin] = {}

    def create(self, token: str, principal: Principal, lifetime: float) -> str:
        self._forget_expired()
        sid = secrets.token_urlsafe(32)
        self.sessions[sid] = ConsoleSession(token, principal, time.monotonic() + lifetime)
        return sid

    def get(self, sid: str | None) -> ConsoleSession | None:
        found = self.sessions.get(sid or "")
        if found is None or found.expires < time.monotonic():
            self.sessions.pop(sid or "", None)
            return None
        return found

    def drop(self, sid: str | None) -> None:
        self.sessions.pop(sid or "", None)

    def begin(self, next_path: str) -> PendingLogin:
        self._forget_expired()
        pending = PendingLogin(secrets.token_urlsafe(24), secrets.token_urlsafe(48), secrets.token_urlsafe(16),
                               next_path, time.monotonic() + PENDING_SECONDS)
        self.pending[pending.state] = pending
        return pending

    def finish(self, state: str) -> PendingLogin | None:
        pending = self.pending.pop(state, None)
        return pending if pending is not None and pending.expires >= time.monotonic() else None

    def _forget_expired(self) -> None:
        now = time.monotonic()
        self.sessions = {k: v for k, v in self.sessions.items() if v.expires >= now}
        self.pending = {k: v for k, v in self.pending.items() if v.expires >= now}


def csrf_ok(session: ConsoleSession, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(session.csrf, given or "")
