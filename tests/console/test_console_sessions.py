"""Console sessions live in the database: a sign-in started on one API process comes back to another, a
session made by one process is valid on every other, and a sign-out or the expiry ends it on all of them."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from api.main import create_app
from console.session import COOKIE, LOGIN_COOKIE

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # httpx: per-request cookies


def _console(settings, sessions):
    app = create_app(settings=settings, sessions=sessions)
    return app, next(r.app for r in app.routes if getattr(r, "path", "") == "/console")


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:24601",
                             follow_redirects=False, timeout=30)


async def _sign_in(start: httpx.AsyncClient, finish: httpx.AsyncClient, issuer, sub: str, roles: str) -> str:
    """Begins the sign-in on `start`, lets the issuer's login page answer, comes back to `finish`."""
    begun = await start.get("/console/login", params={"next": "/console/queue"})
    assert begun.status_code == 303
    query = {k: v[0] for k, v in parse_qs(urlsplit(begun.headers["location"]).query).items()}
    async with httpx.AsyncClient() as http:
        authorized = await http.post(f"{issuer.url}/authorize", data={**query, "sub": sub, "roles": roles})
    callback = urlsplit(authorized.headers["location"])
    answer = await finish.get(callback.path, params=parse_qs(callback.query),
                              cookies={LOGIN_COOKIE: begun.cookies[LOGIN_COOKIE]})
    assert answer.status_code == 303 and answer.headers["location"] == "/console/queue", answer.text
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie  # unchanged flags
    return answer.cookies[COOKIE]


async def _home(client: httpx.AsyncClient, sid: str) -> str:
    return (await client.get("/console/", cookies={COOKIE: sid})).headers["location"]


@pytest.mark.asyncio
async def test_a_session_made_by_one_api_process_is_valid_on_another_until_sign_out(settings, sessions, issuer):
    (app_a, _), (app_b, _) = _console(settings, sessions), _console(settings, sessions)
    async with _client(app_a) as a, _client(app_b) as b:
        sid = await _sign_in(a, b, issuer, "it.anna", "it-staff")  # started on A, finished on B
        assert await _home(a, sid) == "/console/queue" and await _home(b, sid) == "/console/queue"
        page = await a.get("/console/language/sv", cookies={COOKIE: sid})
        assert page.status_code == 303
        # the CSRF token is the session's, whichever process rendered the form
        signed_out = await b.post("/console/logout", data={"csrf": "wrong"}, cookies={COOKIE: sid})
        assert signed_out.status_code == 403
        csrf = (await app_a_session(app_a, sid)).csrf
        signed_out = await b.post("/console/logout", data={"csrf": csrf}, cookies={COOKIE: sid})
        assert signed_out.status_code == 303 and signed_out.headers["location"] == "/console/signed-out"
        assert (await _home(a, sid)).startswith("/console/login?next=")  # gone on A too


async def app_a_session(app, sid):
    console = next(r.app for r in app.routes if getattr(r, "path", "") == "/console")
    return await console.state.store.get(sid)


@pytest.mark.asyncio
async def test_a_session_expires_on_every_process_and_a_sign_in_state_is_used_once(settings, sessions, issuer):
    (app_a, console_a), (app_b, console_b) = _console(settings, sessions), _console(settings, sessions)
    later = datetime.now(timezone.utc) + timedelta(hours=settings.console_session_hours, minutes=1)
    async with _client(app_a) as a, _client(app_b) as b:
        sid = await _sign_in(a, a, issuer, "E1001", "unit-manager")
        assert await _home(b, sid) == "/console/devices"
        console_b.state.store.now = lambda: later  # B's clock past the session's end
        assert (await _home(b, sid)).startswith("/console/login")
        assert (await _home(a, sid)).startswith("/console/login")  # B removed the expired row for all
        console_b.state.store.now = console_a.state.store.now
        # a sign-in's state comes back once: a replayed callback is refused on any process
        begun = await a.get("/console/login")
        state = parse_qs(urlsplit(begun.headers["location"]).query)["state"][0]
        assert (await console_b.state.store.finish(state)) is not None
        again = await a.get("/console/callback", params={"code": "x", "state": state},
                            cookies={LOGIN_COOKIE: state})
        assert again.status_code == 400 and "unknown or expired sign-in" in again.text


@pytest.mark.asyncio
async def test_the_table_alone_neither_opens_a_session_nor_shows_the_token(settings, sessions, issuer):
    from db.console_sessions import ConsoleSessionRow

    app, console = _console(settings, sessions)
    async with _client(app) as a:
        sid = await _sign_in(a, a, issuer, "revisor.rut", "auditor")
    with sessions() as db:
        row = db.query(ConsoleSessionRow).one()
    assert row.id_hash != sid and sid not in row.id_hash
    session = await console.state.store.get(sid)
    assert session.access_token.encode() not in row.sealed_token
    assert re.fullmatch(r"[0-9a-f]{64}", row.id_hash)
    assert await console.state.store.get(row.id_hash) is None  # the stored hash is no cookie
