"""Decision makers (system owners, each governance body's secretary, it-admin): an inbox of what waits for
their decision, with the documents and the chain so far; a decision goes through the API."""
from __future__ import annotations

import asyncio
from datetime import date
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from api import policy
from api.access import same_person
from console.confirm import confirm_page, needs_confirmation
from console.ui import EVENT_FIELDS, Ui, action_of, moved

DECIDED_PATHS = ("/framework/proposals/", "/development-cases/", "/agreements/")


def view_path(row: dict) -> str:
    subject = quote(row["subject"])
    return {"framework_change": f"/framework/proposals/{subject}", "development_case": f"/development-cases/{subject}",
            "agreement": f"/agreements/{subject}/drawing-up"}[row["process"]]


def own_agreement(view: dict, principal) -> bool:
    """Rule AG-4: a system owner decides for their own agreements only (issue 23: only those are in their
    inbox; the API refuses the others with 403 anyway)."""
    owner = (view.get("content") or {}).get("system_owner_ref")
    return same_person(principal, owner)


def proposal_changes(view: dict) -> list[tuple[str, str]]:
    """What a framework proposal changes (rule GV-1): its summary, law, date in force, prices and services."""
    proposal = view.get("proposal") or {}
    changes = [(key, str(proposal[key])) for key in ("summary", "law_reference", "effective_from", "supersedes")
               if proposal.get(key)]
    for key in ("services", "prices", "equipment_prices"):
        if proposal.get(key):
            changes.append((key, str(len(proposal[key]))))
    parameters = proposal.get("parameters") or {}
    changes += [(f"parameters.{k}", str(v)) for k, v in parameters.items() if not isinstance(v, (list, dict))]
    return changes


def decision_events(process: str, view: dict, principal) -> list[dict]:
    """The allowed events of a process this person may send, by the API's own tables (api.policy)."""
    out = []
    for event in view.get("allowed_events", []):
        if process == "framework_change":
            for key, role in policy.FRAMEWORK_EVENTS.items():
                name, _, municipality = key.partition(":")
                if name == event and principal.has(role):
                    out.append({"event": event, "municipality": municipality or None,
                                "fields": EVENT_FIELDS.get(event, ())})
        elif process == "development_case":
            if principal.has(policy.CASE_EVENTS.get(event, "")):
                out.append({"event": event, "fields": EVENT_FIELDS.get(event, ())})
        elif process == "agreement" and event in ("approve", "reject"):
            for party, role in policy.AGREEMENT_PARTY_ROLE.items():
                if principal.has(role) and (party != "system_owner" or own_agreement(view, principal)):
                    out.append({"event": event, "party": party, "fields": ()})
    return out


def register(console: FastAPI, ui: Ui) -> None:
    @console.get("/inbox", include_in_schema=False)
    async def inbox(request: Request) -> Response:
        session, answer = await ui.fetch(request, "/governance-processes", limit=500)
        async with ui.api_for(session) as api:
            rows = [r for r in answer.body if r["process"] in ("framework_change", "development_case")
                    or (r["process"] == "agreement" and "-revision-" not in r["workflow_id"])]
            views = await asyncio.gather(*(api.get(view_path(r)) for r in rows))
        items = []
        for row, view in zip(rows, views):
            mine = decision_events(row["process"], view.body, session.principal) if view.ok else []
            if mine:
                items.append({"row": row, "view": view.body, "events": mine, "post": view_path(row) + "/events",
                              "changes": proposal_changes(view.body) if row["process"] == "framework_change" else []})
        t = ui.t_of(request)
        labels = {name: t[name] for name in ("decided_on", "minutes_ref", "priority")}
        return ui.render(request, "inbox.html", session, items=items, today=date.today().isoformat(), labels=labels)

    @console.post("/inbox", include_in_schema=False)
    async def decide(request: Request) -> Response:
        session = await ui.signed_in(request)
        form = await ui.checked_form(request, session)
        target = form.get("target", "")
        if ".." in target or not target.startswith(DECIDED_PATHS):
            return ui.error(request, session, 422, "target", "unknown process")
        if needs_confirmation(form):  # issue 23: a rejection at a board asks first
            return confirm_page(ui, request, session, form, "/console/inbox", "/console/inbox")
        action = action_of(form, decision=True)
        async with ui.api_for(session) as api:
            answer = await api.post(target, {"action": action, "reason": form.get("reason") or None},
                                    form.get("idempotency"))
        session.flash.append(("ok", moved(action["event"], answer.body.get("state"), session.lang)) if answer.ok
                             else ("error", answer.message))
        return RedirectResponse("/console/inbox", status_code=303)
