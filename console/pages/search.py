"""Search over the whole fleet (issue 23): the device register and the tickets, searched by the API in SQL and
shown a page at a time. The console only passes the form's words on; the API decides what matches and what
this user may see."""
from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import Response

from console.ui import Ui
from domain.equipment import EQUIPMENT
from domain.tickets import TICKET

PAGE = 50
DEVICE_FILTERS = ("q", "unit_id", "state", "model_code", "user", "delivered_from", "delivered_to")
TICKET_FILTERS = ("q", "number", "reporter", "unit_id", "state", "line")
LINES = ("first_line", "second_line", "verksamhetsstod", "infrastruktur")


def page_number(text: str) -> int:
    return int(text) if text.isdigit() and 0 < int(text) <= 100_000 else 1


def paging(path: str, shown: dict[str, str], page: int, more: bool) -> dict[str, str | int | None]:
    """The links to the previous and next page, keeping the search."""
    def link(to: int) -> str:
        return f"{path}?{urlencode({**{k: v for k, v in shown.items() if v}, 'page': to})}"
    return {"page": page, "previous": link(page - 1) if page > 1 else None, "next": link(page + 1) if more else None}


async def searched(ui: Ui, request: Request, api_path: str, filters: tuple[str, ...], template: str,
                   **context) -> Response:
    """One page of the API's answer to the search in the query string; a refused search (a bad date, an
    unknown unit) shows the form again with the API's reason."""
    session = await ui.signed_in(request)
    shown = {name: request.query_params.get(name, "").strip() for name in filters}
    page = page_number(request.query_params.get("page", "1"))
    async with ui.api_for(session) as api:
        answer, units = await asyncio.gather(
            api.get(api_path, **shown, limit=PAGE + 1, offset=(page - 1) * PAGE), api.get("/units"))
    if answer.status in (401, 403):
        return ui.refused(request, session, answer)
    rows = answer.body[:PAGE] if answer.ok else []
    if not answer.ok:
        session.flash.append(("error", answer.message))
    return ui.render(request, template, session, status=200 if answer.ok else answer.status, rows=rows, form=shown,
                     units=units.body if units.ok else [], **paging(request.url.path, shown, page,
                                                                     answer.ok and len(answer.body) > PAGE),
                     **context)


def register(console: FastAPI, ui: Ui) -> None:
    @console.get("/devices", include_in_schema=False)
    async def devices(request: Request) -> Response:
        return await searched(ui, request, "/devices", DEVICE_FILTERS, "devices.html", states=EQUIPMENT.states)

    @console.get("/search", include_in_schema=False)
    async def tickets(request: Request) -> Response:
        return await searched(ui, request, "/tickets", TICKET_FILTERS, "search.html", states=TICKET.states,
                              lines=LINES)
