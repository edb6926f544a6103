"""The files handed to the economy, payroll and ordering systems and their receipts (issue 25): who made each
file, when, its SHA-256, where and when it was delivered, and the file itself — read from /api/v1/files, which
decides who sees which system's files."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from console.ui import Ui

SYSTEMS = ("economy", "payroll", "ordering")


def register(console: FastAPI, ui: Ui) -> None:
    @console.get("/files", include_in_schema=False)
    async def files(request: Request, system: str = "") -> Response:
        session = await ui.signed_in(request)
        async with ui.api_for(session) as api:
            answer = await api.get("/files/deliveries", system=system if system in SYSTEMS else None, limit=200)
        if not answer.ok:
            return ui.refused(request, session, answer)
        return ui.render(request, "files.html", session, rows=answer.body, system=system, systems=SYSTEMS)

    @console.get("/files/{delivery_id}/content", include_in_schema=False)
    async def download(request: Request, delivery_id: int) -> Response:
        session = await ui.signed_in(request)
        async with ui.api_for(session) as api:
            answer = await api.get_bytes(f"/files/deliveries/{delivery_id}/content")
        if not answer.ok:
            return ui.refused(request, session, answer)
        keep = ("content-type", "content-disposition", "x-checksum-sha256")
        return Response(answer.body, headers={k: v for k, v in answer.headers.items() if k.lower() in keep})
