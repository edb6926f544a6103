"""A ticket as a conversation (issue 23, TK-2/TK-5/TK-6): the ticket page with its reporter, device, support
level, technician, deadline and the whole conversation; IT writes a note, a reply or a question (which puts
the ticket to wait for the customer), the reporter answers (which resumes it); attachments go up as a
multipart form and down through the API. Every read and write is an API call with the user's token."""
from __future__ import annotations

import asyncio
import base64
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from api import policy
from console.ui import Answered, Ui, event_forms

KINDS = ("note", "reply", "question", "answer")  # what a message form writes (the API decides who may)
MAX_FILE_BYTES = 10_000_000  # the API's own limit (mail_attachment_max_bytes) refuses by name; this bounds reading


def writes_of(principal, item: dict, employee_ref: str | None) -> tuple[str, ...]:  # noqa: ANN001
    """Which message forms to offer: IT a note, a reply and (while assigned) a question; the reporter (their
    employee number as the API resolved it, GET /me) an answer."""
    if principal.has(policy.IT_STAFF):
        return ("note", "reply", "question") if "wait_for_customer" in item.get("allowed_events", []) else (
            "note", "reply")
    return ("answer",) if employee_ref and employee_ref == item.get("reporter_ref") else ()


async def attachment_of(request: Request) -> dict | None:
    """The form's file as the API takes it (base64 in JSON); None when no file was chosen."""
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    content = await upload.read(MAX_FILE_BYTES + 1)
    if not content:
        return None
    return {"filename": upload.filename, "content_type": upload.content_type or "application/octet-stream",
            "content_base64": base64.b64encode(content).decode()}


def register(console: FastAPI, ui: Ui) -> None:
    @console.get("/tickets/{number}", include_in_schema=False)
    async def ticket(request: Request, number: str) -> Response:
        session = await ui.signed_in(request)
        async with ui.api_for(session) as api:
            answer, messages, me = await asyncio.gather(api.get(f"/tickets/{quote(number)}"),
                                                        api.get(f"/tickets/{quote(number)}/messages"), api.get("/me"))
        if not answer.ok:
            return ui.refused(request, session, answer)
        item, employee_ref = answer.body, me.body.get("employee_ref") if me.ok else None
        return ui.render(request, "ticket.html", session, item=item, events=event_forms(item, "ticket", session),
                         messages=messages.body if messages.ok else [],
                         writes=writes_of(session.principal, item, employee_ref),
                         mirror=answer.headers.get("x-ramflow-view") == "mirror")

    @console.post("/tickets/{number}/events", include_in_schema=False)
    async def ticket_event(request: Request, number: str) -> Response:
        return await ui.send(request, f"/tickets/{quote(number)}/events", f"/console/tickets/{quote(number)}")

    @console.post("/tickets/{number}/messages", include_in_schema=False)
    async def write(request: Request, number: str) -> Response:
        """A note, reply, question or answer from the page's form (multipart: it may carry a file)."""
        session = await ui.signed_in(request)
        form = await ui.checked_form(request, session)
        back = f"/console/tickets/{quote(number)}"
        kind, text = form.get("kind", ""), (form.get("body") or "").strip()
        if kind not in KINDS or not text:
            session.flash.append(("error", ui.t_of(request)["message_empty"]))
            return RedirectResponse(back, status_code=303)
        file = await attachment_of(request)
        async with ui.api_for(session) as api:
            if kind == "question":  # rule TK-5: the ticket waits for the customer; the API writes the question
                answer = await api.post(f"/tickets/{quote(number)}/events", {
                    "action": {"event": "wait_for_customer", "question": text}}, form.get("idempotency"))
            else:
                body = {"body": text, "to_reporter": kind == "reply", "attachments": [file] if file else []}
                answer = await api.post(f"/tickets/{quote(number)}/messages", body, form.get("idempotency"))
        t = ui.t_of(request)
        session.flash.append(("ok", t[f"written_{kind}"]) if answer.ok else ("error", answer.message))
        return RedirectResponse(back, status_code=303)

    @console.get("/tickets/{number}/attachments/{attachment_id}", include_in_schema=False)
    async def attachment(request: Request, number: str, attachment_id: int) -> Response:
        """The file through the API (the same object-level rule: the reporter sees no internal note's file)."""
        session = await ui.signed_in(request)
        async with ui.api_for(session) as api:
            got = await api.http.get(f"/api/v1/tickets/{quote(number)}/attachments/{attachment_id}")
        if got.status_code != 200:
            raise Answered(ui.error(request, session, got.status_code, ui.t_of(request)["not_found"],
                                    f"attachment_id: {attachment_id}"))
        return Response(got.content, media_type=got.headers.get("content-type"), headers={
            "Content-Disposition": got.headers.get("content-disposition", "attachment"),
            "X-Content-Type-Options": "nosniff"})
