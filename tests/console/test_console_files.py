"""The files delivered to the economy, payroll and ordering systems in the console (issue 25), in Swedish:
each role sees its systems' files with their receipts and downloads the bytes as delivered (a CP437 SIE file
unchanged); another system's file is not found."""
from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

from api.auth import Principal
from api.main import create_app
from console.session import COOKIE
from files.delivery import record_file

SIE = "#FLAGGA 0\r\n#PROGRAM \"Ramflow\"\r\n#FNAMN \"Kommunförbundet Åkerö\"\r\n".encode("cp437")


@pytest.fixture
def console(settings, sessions, issuer):
    app = create_app(settings=settings, sessions=sessions)
    mounted = next(r.app for r in app.routes if getattr(r, "path", "") == "/console")
    at = datetime(2026, 3, 31, 12, 0, tzinfo=timezone.utc)
    with sessions.begin() as db:
        ids = {"economy": record_file(db, system="economy", kind="sie", name="sie-tranemo-2026-T1.se", content=SIE,
                                      media_type="text/plain; charset=IBM437", actor="it.anna", at=at,
                                      municipality="tranemo", period="2026-T1").id,
               "payroll": record_file(db, system="payroll", kind="paxml", name="paxml-tranemo-2026-03.xml",
                                      content=b"<paxml/>", media_type="application/xml", actor="it.anna", at=at,
                                      municipality="tranemo", period="2026-03").id}

    async def as_(sub: str, roles: tuple[str, ...]) -> httpx.AsyncClient:
        token = issuer.mint(sub, roles)
        sid = await mounted.state.store.create(token, Principal(sub, frozenset(roles)), 600)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:24602",
                                 cookies={COOKIE: sid}, timeout=30)

    return as_, ids


@pytest.mark.asyncio
async def test_files_page_shows_each_role_its_systems_files_and_downloads_them_unchanged(console):
    as_, ids = console
    async with await as_("eko.erik", ("economy",)) as http:
        page = await http.get("/console/files")
        assert page.status_code == 200 and "Filer till system" in page.text
        assert "sie-tranemo-2026-T1.se" in page.text and "paxml-tranemo" not in page.text
        assert "Ekonomi" in page.text and "Väntar" in page.text
        download = await http.get(f"/console/files/{ids['economy']}/content")
        assert download.status_code == 200 and download.content == SIE
        assert "sie-tranemo-2026-T1.se" in download.headers["content-disposition"]
        assert (await http.get(f"/console/files/{ids['payroll']}/content")).status_code == 404
    async with await as_("lon.lisa", ("payroll",)) as http:
        page = (await http.get("/console/files")).text
        assert "paxml-tranemo-2026-03.xml" in page and "sie-tranemo" not in page
        assert '/console/files"' in page  # in the navigation
