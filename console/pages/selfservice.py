"""Self-service for employees (issue 23): report a problem ("Nytt ärende") with their unit and own devices
prefilled from who they are (GET /me, their devices), the intefunktion questions (TK-4) in plain Swedish and
an optional attachment (sent as the reporter's first message). The API decides: an employee reports as
themself for their own unit only."""
from __future__ import annotations

import asyncio
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.conversation import attachment_of
from console.ui import Ui

ACTIVE_DEVICE_STATES = ("delivered", "in_use", "notice_given", "renewal_due", "damaged")


def report_of(form: dict, me: dict) -> dict:
    """The API's ticket from the form: the reporter and unit are who the person is, never typed in."""
    body = {"unit_id": me.get("unit_id"), "reporter_ref": me.get("employee_ref"), "title": form.get("title", ""),
            "description": form.get("description") or None, "device_order_number": form.get("device") or None,
            "function": form.get("function") or None if form.get("blocked") == "yes" else None,
            "affects_operations": form.get("affects_operations") == "yes",
            "cannot_wait": form.get("cannot_wait") == "yes"}
    return {k: v for k, v in body.items() if v is not None}


def register(console: FastAPI, ui: Ui) -> None:
    async def page(request: Request, session, api, form: dict, status: int = 200) -> Response:  # noqa: ANN001
        me, devices, functions = await asyncio.gather(api.get("/me"), api.get("/devices", limit=200),
                                                      api.get("/intefunktion-functions"))
        mine = [d for d in (devices.body if devices.ok else [])
                if d.get("user_ref") == (me.body or {}).get("employee_ref") and d.get("state") in ACTIVE_DEVICE_STATES]
        return ui.render(request, "ticket_report.html", session, status=status, me=me.body if me.ok else {},
                         devices=mine, functions=functions.body if functions.ok else [], form=form)

    @console.get("/tickets/report", include_in_schema=False)
    async def report_form(request: Request) -> Response:
        session = await ui.signed_in(request)
        async with ui.api_for(session) as api:
            return await page(request, session, api, {})

    @console.post("/tickets/report", include_in_schema=False)
    async def report(request: Request) -> Response:
        session = await ui.signed_in(request)
        form = await ui.checked_form(request, session)
        file = await attachment_of(request)
        t = ui.t_of(request)
        async with ui.api_for(session) as api:
            me = await api.get("/me")
            created = await api.post("/tickets", report_of(form, me.body if me.ok else {}), form.get("idempotency"))
            if not created.ok:
                session.flash.append(("error", created.message))
                return await page(request, session, api, form, created.status if created.status >= 400 else 502)
            number = created.body["number"]
            if file:  # the attachment is the reporter's first message on the ticket
                sent = await api.post(f"/tickets/{quote(number)}/messages",
                                      {"body": t["attached_at_report"], "attachments": [file]})
                if not sent.ok:
                    session.flash.append(("error", sent.message))
        session.flash.append(("ok", t["reported_ticket"].format(number=number)))
        return RedirectResponse(f"/console/tickets/{quote(number)}", status_code=303)
