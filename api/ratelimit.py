"""Rate limits that hold across API processes (issue 20), and who the caller's address is.

A fixed one-minute window per key (a token's subject, an address without a valid token, a console sign-in
address), counted in the database every API process shares (`rate_limit_windows`, an atomic upsert:
INSERT … ON CONFLICT DO UPDATE … RETURNING on PostgreSQL and SQLite), so N processes allow what one does
(`RateLimiter` says when a process syncs). Ended windows are evicted as each new window begins, in memory
and in the table. When the database cannot count (it is away, or busy beyond its timeout) the process
counts alone: the API keeps answering, at worst N times the limit, and says so in its log.

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
from dataclasses import dataclass
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


@dataclass
class _Tally:
    """One key's window as this process knows it: the shared total at the last sync, and hits since."""

    window: int
    shared: int = 0
    pending: int = 0
    synced_at: float = 0.0


class RateLimiter:
    """`await hit(key)` counts one request of `key` in the current window; 429 over `per_minute`.

    Far below the limit a process syncs a key with the database at most once a SYNC_SECONDS (each process may
    run up to a LAZY_SHARE of the limit ahead of the others in that time); from there on every hit is synced,
    so the limit itself is exact. Hot keys under a high limit (a busy client, the load tests) cost one write a
    second, not one a request."""

    SYNC_SECONDS = 1.0
    LAZY_SHARE = 0.1

    def __init__(self, per_minute: int, sessions: sessionmaker[Session] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.per_minute = per_minute
        self.sessions = sessions
        self.clock = clock
        self.tallies: dict[str, _Tally] = {}
        self._lock = threading.Lock()
        self._window = 0  # the window this process last evicted the ended ones before
        self._evicted = 0  # ... in the database

    async def hit(self, key: str, limit: int | None = None, what: str = "requests") -> None:
        limit = limit or self.per_minute
        now = self.clock()
        window = int(now // WINDOW) * WINDOW
        count, pending = self._local(_stored_key(key), window, now, limit)
        if pending:
            count = await anyio.to_thread.run_sync(self._sync, _stored_key(key), window, now, pending)
        if count > limit:
            retry = max(1, math.ceil(window + WINDOW - now))
            raise HTTPException(429, f"rate limit: more than {limit} {what} a minute from {key}; "
                                     f"retry in {retry} s", headers={"Retry-After": str(retry)})

    def _local(self, key: str, window: int, now: float, limit: int) -> tuple[int, int]:
        """(the count as this process sees it, the hits to add to the shared count now: 0 while lazy)."""
        with self._lock:
            if window != self._window:  # a new window: forget the ended ones
                self.tallies = {k: t for k, t in self.tallies.items() if t.window >= window}
                self._window = window
            tally = self.tallies.get(key)
            if tally is None or tally.window != window:
                tally = self.tallies[key] = _Tally(window, synced_at=now)
            tally.pending += 1
            estimate = tally.shared + tally.pending
            lazy = estimate < limit * self.LAZY_SHARE and now - tally.synced_at < self.SYNC_SECONDS
            if self.sessions is None or lazy:
                return estimate, 0
            pending, tally.pending = tally.pending, 0
            return estimate, pending

    def _sync(self, key: str, window: int, now: float, pending: int) -> int:
        """Add this process's hits to the shared count; the total (with hits made meanwhile)."""
        try:
            total = self._add_shared(key, window, pending)
        except SQLAlchemyError as error:
            log.warning("rate limit counted in this process only (database: %s)", type(error).__name__)
            with self._lock:
                tally = self.tallies.setdefault(key, _Tally(window))
                tally.pending += pending  # kept: counted again with the next sync
                return tally.shared + tally.pending
        with self._lock:
            tally = self.tallies.setdefault(key, _Tally(window))
            if tally.window == window:
                tally.shared, tally.synced_at = total, now
            return total + tally.pending

    def _add_shared(self, key: str, window: int, pending: int) -> int:
        with self.sessions() as s:  # type: ignore[misc]
            insert = postgresql_insert if s.bind.dialect.name == "postgresql" else sqlite_insert
            upsert = insert(RateLimitWindow).values(key=key, window_start=window, count=pending)
            upsert = upsert.on_conflict_do_update(
                index_elements=[RateLimitWindow.key, RateLimitWindow.window_start],
                set_={"count": RateLimitWindow.count + pending}).returning(RateLimitWindow.count)
            count = s.execute(upsert).scalar_one()
            s.commit()
            if window != self._evicted:  # once a window per process, in its own transaction: ended windows go
                self._evicted = window
                s.execute(delete(RateLimitWindow).where(RateLimitWindow.window_start < window))
                s.commit()
        return count
