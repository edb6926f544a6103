"""Issue 20: beginning a console sign-in writes a row, so sign-ins are rate-limited per address (across API
processes, through the shared limiter) and the pending sign-ins are bounded (the oldest go first, the
expired ones anyway)."""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from api.main import create_app
from config import Settings
from db.console_sessions import ConsoleLoginRow

T0 = 1_790_000_020.0  # 40 s into a rate-limit window


def _app(settings_for, sessions, **options):
    app = create_app(settings=settings_for.model_copy(update=options), sessions=sessions)
    app.state.rate_limiter.clock = lambda: T0
    return app


def _pending(sessions) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(ConsoleLoginRow))


@pytest.mark.asyncio
async def test_console_sign_in_is_rate_limited_per_address_with_a_swedish_page(settings, sessions):
    first = _app(settings, sessions, console_login_per_minute=5)
    second = _app(settings, sessions, console_login_per_minute=5)  # another API process, same database
    statuses, last = [], None
    for n in range(8):
        app = first if n % 2 == 0 else second
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("198.51.100.7", 40000)),
                                     base_url="http://127.0.0.1:24601") as http:
            last = await http.get("/console/login")
            statuses.append(last.status_code)
    assert statuses == [303] * 5 + [429] * 3
    assert last.headers["retry-after"] == "20" and "För många inloggningsförsök" in last.text
    assert _pending(sessions) == 5


@pytest.mark.asyncio
async def test_pending_sign_ins_are_capped(settings, sessions):
    app = _app(settings, sessions, console_login_per_minute=1000, console_pending_logins_max=10,
               trusted_proxies=["127.0.0.1"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:24601") as http:
        for n in range(30):
            answer = await http.get("/console/login", headers={"X-Forwarded-For": f"203.0.113.{n}"})
            assert answer.status_code == 303
    assert _pending(sessions) == 10
