"""Rate limits that hold across API processes (issue 20), and who the caller's address is.

A fixed one-minute window per key (a token's subject, an address without a valid token, a console sign-in
address), counted in the database every API process shares (`rate_limit_windows`, one atomic upsert a
request: INSERT … ON CONFLICT DO UPDATE … RETURNING on PostgreSQL and SQLite), so N processes allow what
one does. Ended windows are evicted as each new window begins. When the database cannot count (it is
away, or busy beyond its timeout) the process counts alone in memory for that request: the API keeps
answering, at worst N times the limit, and says so in its log.

The address is the TCP peer's, unless the peer is one of TRUSTED_PROXIES: only then is X-Forwarded-For
believed (its right-most address not itself a trusted proxy; uvicorn's ProxyHeadersMiddleware). Servers
run with `--no-proxy-headers`, so this setting alone decides."""
from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio
from fastapi import HTTPException
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from db.security_models import RateLimitWindow

log = logging.getLogger(__name__)
WINDOW = 60  # seconds


def trusted_proxy_headers(app: Any, trusted_proxies: list[str]) -> ProxyHeadersMiddleware:
    """X-Forwarded-For/-Proto believed only from these addresses or networks (none: never)."""
    return ProxyHeadersMiddleware(app, trusted_hosts=list(trusted_proxies))


def _stored_key(key: str) -> str:
    return key if len(key) <= 200 else "sha256 " + hashlib.sha256(key.encode()).hexdigest()


class RateLimiter:
    """`await hit(key)` counts one request of `key` in the current window; 429 over `per_minute`."""

    def __init__(self, per_minute: int, sessions: sessionmaker[Session] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.per_minute = per_minute
        self.sessions = sessions
        self.clock = clock
        self.local: dict[tuple[str, int], int] = {}  # the fallback (and the store without a database)
        self._lock = threading.Lock()
        self._evicted = 0  # the window whose predecessors this process last evicted from the database
        self._evicted_local = 0

    async def hit(self, key: str, limit: int | None = None, what: str = "requests") -> None:
        limit = limit or self.per_minute
        now = self.clock()
        window = int(now // WINDOW) * WINDOW
        count = await anyio.to_thread.run_sync(self._count, _stored_key(key), window)
        if count > limit:
            retry = max(1, math.ceil(window + WINDOW - now))
            raise HTTPException(429, f"rate limit: more than {limit} {what} a minute from {key}; "
                                     f"retry in {retry} s", headers={"Retry-After": str(retry)})

    def _count(self, key: str, window: int) -> int:
        if self.sessions is not None:
            try:
                return self._count_shared(key, window)
            except SQLAlchemyError as error:
                log.warning("rate limit counted in this process only (database: %s)", type(error).__name__)
        with self._lock:
            if window != self._evicted_local:  # a new window: forget the ended ones
                self.local = {k: v for k, v in self.local.items() if k[1] >= window}
                self._evicted_local = window
            count = self.local.get((key, window), 0) + 1
            self.local[(key, window)] = count
            return count

    def _count_shared(self, key: str, window: int) -> int:
        with self.sessions() as s:  # type: ignore[misc]
            insert = postgresql_insert if s.bind.dialect.name == "postgresql" else sqlite_insert
            upsert = insert(RateLimitWindow).values(key=key, window_start=window, count=1)
            upsert = upsert.on_conflict_do_update(
                index_elements=[RateLimitWindow.key, RateLimitWindow.window_start],
                set_={"count": RateLimitWindow.count + 1}).returning(RateLimitWindow.count)
            count = s.execute(upsert).scalar_one()
            s.commit()
            if window != self._evicted:  # once a window per process, in its own transaction: ended windows go
                self._evicted = window
                s.execute(delete(RateLimitWindow).where(RateLimitWindow.window_start < window))
                s.commit()
        return count
