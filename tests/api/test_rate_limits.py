"""Issue 20: the rate limit holds across API processes (counted in the shared database, SQLite and
PostgreSQL), X-Forwarded-For is believed only from TRUSTED_PROXIES, and ended windows are evicted. The
limiter's clock is injected: a window boundary never falls inside a test."""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from api.main import create_app
from api.ratelimit import RateLimiter
from config import Settings
from db.audit_models import RefusedAttempt
from db.security_models import RateLimitWindow
from db.session import make_sessionmaker

T0 = 1_790_000_020.0  # 40 s into a window: far from its end whatever the test takes
DEVICES = "/api/v1/devices"


def _process(url: str, issuer, **options):
    """One API process: its own app, limiter and connection pool on the shared database."""
    settings = Settings(database_url=url, oidc_issuer=issuer.url, oidc_audience=issuer.audience, **options)
    app = create_app(settings=settings, sessions=make_sessionmaker(url))
    app.state.rate_limiter.clock = lambda: T0
    return app


def _client(app, address: str = "198.51.100.7") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)),
                             base_url="http://ramflow.test")


@pytest.mark.asyncio
async def test_rate_limit_holds_across_two_api_processes_on_one_database(backend_url, backend_sessions, issuer):
    first, second = _process(backend_url, issuer, rate_limit_per_minute=6), _process(backend_url, issuer,
                                                                                     rate_limit_per_minute=6)
    statuses = []
    async with _client(first) as a, _client(second) as b:
        for n in range(10):
            statuses.append((await (a if n % 2 == 0 else b).get(DEVICES)).status_code)
    assert statuses == [401] * 6 + [429] * 4  # six in all, not six per process


@pytest.mark.asyncio
async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(backend_url, backend_sessions, issuer):
    app = _process(backend_url, issuer, rate_limit_per_minute=3)
    async with _client(app) as http:
        statuses = [(await http.get(DEVICES, headers={"X-Forwarded-For": f"203.0.113.{n}"})).status_code
                    for n in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    with backend_sessions() as s:
        clients = set(s.scalars(select(RefusedAttempt.client).where(RefusedAttempt.path == DEVICES)))
    assert clients == {"198.51.100.7"}


@pytest.mark.asyncio
async def test_x_forwarded_for_from_a_trusted_proxy_names_the_caller(backend_url, backend_sessions, issuer):
    app = _process(backend_url, issuer, rate_limit_per_minute=3, trusted_proxies=["198.51.100.0/24"])
    async with _client(app) as http:
        distinct = [(await http.get(DEVICES, headers={"X-Forwarded-For": f"203.0.113.{n}"})).status_code
                    for n in range(6)]
        # a client-written address before the proxy's own entry does not help: the right-most untrusted one counts
        same = [(await http.get(DEVICES, headers={"X-Forwarded-For": f"10.9.9.{n}, 203.0.113.50"})).status_code
                for n in range(5)]
    assert distinct == [401] * 6 and same == [401, 401, 401, 429, 429]
    with backend_sessions() as s:
        clients = set(s.scalars(select(RefusedAttempt.client).where(RefusedAttempt.path == DEVICES)))
    assert clients == {f"203.0.113.{n}" for n in range(6)} | {"203.0.113.50"}


@pytest.mark.asyncio
async def test_ended_windows_are_evicted(backend_sessions):
    now = [T0]
    limiter = RateLimiter(5, backend_sessions, clock=lambda: now[0])  # near the limit: every hit is synced
    for n in range(50):
        await limiter.hit(f"address 192.0.2.{n}")
    now[0] = T0 + 120
    await limiter.hit("address 192.0.2.200")
    with backend_sessions() as s:
        windows = s.execute(select(RateLimitWindow.window_start, func.count())
                            .group_by(RateLimitWindow.window_start)).all()
    assert windows == [(int(now[0] // 60) * 60, 1)]


@pytest.mark.asyncio
async def test_limit_still_holds_in_the_process_while_the_database_cannot_count(tmp_path):
    broken = make_sessionmaker(f"sqlite:///{tmp_path / 'empty.db'}")  # no table: every count fails
    limiter = RateLimiter(2, broken, clock=lambda: T0)
    await limiter.hit("subject x")
    await limiter.hit("subject x")
    with pytest.raises(Exception) as refused:
        await limiter.hit("subject x")
    assert refused.value.status_code == 429 and refused.value.headers["Retry-After"] == "20"


@pytest.mark.asyncio
async def test_far_below_the_limit_a_process_syncs_a_key_at_most_once_a_second(backend_sessions):
    now = [T0]
    limiter = RateLimiter(1_000_000, backend_sessions, clock=lambda: now[0])
    for _ in range(300):
        await limiter.hit("subject it.load")
    now[0] += RateLimiter.SYNC_SECONDS
    await limiter.hit("subject it.load")  # a second on: this hit carries the 300 before it
    with backend_sessions() as s:
        assert s.scalar(select(RateLimitWindow.count).where(RateLimitWindow.key == "subject it.load")) == 301
