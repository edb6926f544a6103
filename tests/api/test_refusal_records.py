"""Issue 20: every refused attempt is recorded. Chain appends are serialised (one writer per process, a
lock on the chain's end in the database), the record is written before the refusal is answered, and a
refusal in the console (mounted at /console) is recorded with the API's database and the console's user."""
from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timezone

import httpx
import pytest
from sqlalchemy import func, select

from api.auth import Principal
from api.main import create_app
from config import Settings
from console.session import COOKIE
from db.audit_chain import append_refusal, verify
from db.audit_models import RefusedAttempt
from tests.api.live import live_server

EVENT = "/api/v1/devices/ORD-R-1/events"


def _app(backend_url, backend_sessions, issuer):
    settings = Settings(database_url=backend_url, oidc_issuer=issuer.url, oidc_audience=issuer.audience,
                        rate_limit_per_minute=100_000)
    return create_app(settings=settings, sessions=backend_sessions)


def _recorded(sessions, path: str = EVENT) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(RefusedAttempt).where(RefusedAttempt.path == path))


def _intact(sessions) -> None:
    with sessions() as s:
        report = verify(s)
    assert report["intact"], report["broken"]


def test_every_refusal_of_300_sequential_calls_is_recorded(backend_url, backend_sessions, issuer):
    with live_server(_app(backend_url, backend_sessions, issuer)) as url, httpx.Client(base_url=url) as http:
        for _ in range(300):
            assert http.post(EVENT, json={"action": {"event": "sell"}}).status_code == 401
    assert _recorded(backend_sessions) == 300
    _intact(backend_sessions)


@pytest.mark.asyncio
async def test_every_refusal_of_150_concurrent_calls_is_recorded(backend_url, backend_sessions, issuer):
    with live_server(_app(backend_url, backend_sessions, issuer)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60,
                                     limits=httpx.Limits(max_connections=200)) as http:
            answers = await asyncio.gather(*(http.post(EVENT, json={"action": {"event": "sell"}})
                                             for _ in range(150)))
    assert [a.status_code for a in answers] == [401] * 150
    assert _recorded(backend_sessions) == 150
    _intact(backend_sessions)


def test_concurrent_chain_appends_from_separate_connections_all_commit(backend_sessions):
    """Without the process's writer (as from several API processes): the database lock alone serialises."""
    failures: list[BaseException] = []

    def append(n: int) -> None:
        try:
            with backend_sessions() as s:
                append_refusal(s, at=datetime.now(timezone.utc), method="POST", path="/db-lock", status=403,
                               message=f"refused {n}")
                s.commit()
        except BaseException as error:  # noqa: BLE001
            failures.append(error)

    threads = [threading.Thread(target=append, args=(n,)) for n in range(12) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures[:3]
    assert _recorded(backend_sessions, "/db-lock") == 60
    _intact(backend_sessions)


async def _signed_in(app, issuer, subject: str, role: str) -> httpx.AsyncClient:
    """A browser with a console session of `subject` (made in the store, as the sign-in would)."""
    console = next(r.app for r in app.routes if getattr(r, "path", "") == "/console")
    principal = Principal(subject=subject, roles=frozenset({role}))
    sid = await console.state.store.create(issuer.mint(subject, (role,)), principal, 3600)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", cookies={COOKIE: sid})


@pytest.mark.asyncio
async def test_console_refusal_without_csrf_is_recorded_with_the_console_user(backend_url, backend_sessions,
                                                                               issuer):
    async with await _signed_in(_app(backend_url, backend_sessions, issuer), issuer, "it.anna", "it-staff") as http:
        refused = await http.post("/console/logout", data={"csrf": "wrong"})
    assert refused.status_code == 403
    with backend_sessions() as s:
        rows = list(s.scalars(select(RefusedAttempt).where(RefusedAttempt.path == "/console/logout")))
    assert [(r.status, r.actor, r.roles) for r in rows] == [(403, "it.anna", ["it-staff"])]


@pytest.mark.asyncio
async def test_console_page_relaying_an_api_refusal_is_recorded_once(backend_url, backend_sessions, issuer):
    async with await _signed_in(_app(backend_url, backend_sessions, issuer), issuer, "E5001", "employee") as http:
        page = await http.get("/console/audit", params={"search": "1"})
    assert page.status_code == 403
    with backend_sessions() as s:
        rows = [(r.path, r.status, r.actor) for r in s.scalars(select(RefusedAttempt))]
    assert rows == [("/api/v1/audit/trail", 403, "E5001")]  # the API's refusal, not a second one for the page
