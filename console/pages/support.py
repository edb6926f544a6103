"""Support (it-staff) and everyone's tickets and devices: the queue per line with deadline marks (TK-5),
a ticket with its timeline and allowed events, new tickets, the device register and a device's lifecycle."""
from __future__ import annotations

import asyncio
from datetime import datetime
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import Response

from console.api_client import Answer
from console.confirm import confirm_page, needs_confirmation
from domain.tickets import OPEN_STATES
from console.pages import conversation, selfservice
from console.ui import Ui, event_forms

LINES = ("first_line", "second_line", "verksamhetsstod", "infrastruktur")
QUEUE_LIMIT = 100
TICKET_FIELDS = ("unit_id", "reporter_ref", "title", "description", "device_order_number", "support_level", "function")


def mark_of(row: dict, live: dict, now: datetime) -> str:
    """The queue's mark of a ticket at `now`: breached (past its deadline, TK-5), warning (past the warning
    share of its time), paused, ok, or none (no intefunktion: no fix deadline). The times are the API's."""
    deadline = live.get("deadline", row["deadline"])
    if deadline is None:
        return "none"
    if live.get("breached") or row["breached"] or datetime.fromisoformat(deadline) <= now:
        return "breached"
    warning_at = live.get("warning_at")
    if warning_at and datetime.fromisoformat(warning_at) <= now:
        return "warning"
    return "paused" if live.get("clock_paused") else "ok"


def due_key(row: dict) -> tuple:
    """Most urgent first: breached, then warning, then by deadline; a ticket without a deadline (no
    intefunktion, or waiting) is placed by when it was reported, so it never sinks below every dated one."""
    rank = {"breached": 0, "warning": 1}.get(row["mark"], 2)
    return rank, datetime.fromisoformat(row["deadline"] or row["reported_at"]), row["number"]


def reported_key(row: dict) -> tuple:
    return datetime.fromisoformat(row["reported_at"]), row["number"]


SORTS = {"due": due_key, "reported": reported_key, "newest": reported_key}


def register(console: FastAPI, ui: Ui) -> None:
    @console.get("/queue", include_in_schema=False)
    async def queue(request: Request, line: str = "first_line", state: str = "", unit_id: str = "",
                    mine: str = "", sort: str = "due") -> Response:
        session = await ui.signed_in(request)
        line = line if line in (*LINES, "all") else "first_line"
        state = state if state in OPEN_STATES else ""
        sort = sort if sort in SORTS else "due"
        assignee = session.principal.subject if mine else None  # "mina ärenden": assigned to me (TK-2)
        async with ui.api_for(session) as api:
            answer = await api.get("/tickets", line=None if line == "all" else line, state=state, unit_id=unit_id,
                                   assignee=assignee, open="true", limit=QUEUE_LIMIT)
            if not answer.ok:
                return ui.refused(request, session, answer)

            # the live view (time left, warning) only of tickets with a fix deadline (intefunktion, TK-5):
            # each is one API call of this user, within their rate limit
            async def live(row: dict) -> Answer | None:
                return await api.get(f"/tickets/{row['number']}") if row["deadline"] is not None else None
            views = await asyncio.gather(*(live(row) for row in answer.body))
        now = ui.now()
        rows = []
        for row, view in zip(answer.body, views):
            current = view.body if view is not None and view.ok else {}
            rows.append({**row, "remaining": current.get("remaining_support_seconds"),
                         "mark": mark_of(row, current, now), "deadline": current.get("deadline", row["deadline"])})
        rows.sort(key=SORTS[sort], reverse=sort == "newest")
        return ui.render(request, "queue.html", session, rows=rows, line=line, lines=LINES, now=now,
                         filters={"state": state, "unit_id": unit_id, "mine": mine, "sort": sort},
                         states=OPEN_STATES, sorts=tuple(SORTS))

    @console.get("/tickets", include_in_schema=False)
    async def tickets(request: Request) -> Response:
        session, answer = await ui.fetch(request, "/tickets", limit=200)
        rows = sorted(answer.body, key=lambda r: r["reported_at"], reverse=True)
        return ui.render(request, "tickets.html", session, rows=rows)

    async def ticket_form(request: Request, session, api, form: dict, status: int = 200) -> Response:
        units, functions = await asyncio.gather(api.get("/units"), api.get("/intefunktion-functions"))
        return ui.render(request, "ticket_new.html", session, status=status, units=units.body if units.ok else [],
                         functions=functions.body if functions.ok else [], form=form)

    @console.get("/tickets/new", include_in_schema=False)
    async def new_ticket(request: Request) -> Response:
        session = await ui.signed_in(request)
        async with ui.api_for(session) as api:
            return await ticket_form(request, session, api, {})

    @console.post("/tickets/new", include_in_schema=False)
    async def create_ticket(request: Request) -> Response:
        session = await ui.signed_in(request)
        form = await ui.checked_form(request, session)
        body = {k: form.get(k) or None for k in TICKET_FIELDS}
        body["affects_operations"] = form.get("affects_operations") == "on"
        body = {k: v for k, v in body.items() if v is not None}
        async with ui.api_for(session) as api:
            done = await ui.created(session, api, "/tickets", body, form.get("idempotency"), "/console/tickets/{}")
            return done or await ticket_form(request, session, api, form, session.refusal_status)

    selfservice.register(console, ui)  # an employee's own report (issue 23), before /tickets/{number}
    conversation.register(console, ui)  # the ticket page and its conversation (issue 23)

    # --- devices ------------------------------------------------------------------------------------
    @console.get("/devices/{order_number}", include_in_schema=False)
    async def device(request: Request, order_number: str) -> Response:
        session = await ui.signed_in(request)
        async with ui.api_for(session) as api:
            answer = await api.get(f"/devices/{quote(order_number)}")
            if answer.status in (404, 409):  # ended long ago: its timeline from the register
                history = await api.get(f"/devices/{quote(order_number)}/history")
                if history.ok:
                    return ui.render(request, "device.html", session, device=None, key=order_number,
                                     log=history.body, events=[], mirror=True)
        if not answer.ok:
            return ui.refused(request, session, answer)
        view = answer.body
        return ui.render(request, "device.html", session, device=view, key=order_number, log=view["log"],
                         events=event_forms(view, "device", session),
                         mirror=answer.headers.get("x-ramflow-view") == "mirror")

    @console.post("/devices/{order_number}/events", include_in_schema=False)
    async def device_event(request: Request, order_number: str) -> Response:
        back = f"/console/devices/{quote(order_number)}"
        session = await ui.signed_in(request)
        form = await ui.checked_form(request, session)
        if needs_confirmation(form):  # issue 23: a consequential action asks first (EQ-11: a salary deduction)
            buyout = None
            if form.get("event") == "accept_buyout":
                async with ui.api_for(session) as api:
                    view = await api.get(f"/devices/{quote(order_number)}")
                buyout = view.body.get("buyout") if view.ok else None
            return confirm_page(ui, request, session, form, f"{back}/events", back, buyout=buyout)
        return await ui.send(request, f"/devices/{quote(order_number)}/events", back)
