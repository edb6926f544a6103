"""Auditors: search across processes (type, key, unit, actor, rule, event, period), a process's timeline with
rule references and the refused attempts, and export — all read from the auditors' API (/api/v1/audit)."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import Response

from console.i18n import TZ
from console.ui import Ui

# the trail's process names (api/routes/audit.py)
PROCESSES = ("equipment", "ticket", "service_request", "agreement", "service_introduction", "cloud_move",
             "framework_change", "development_case")
SEARCH_FIELDS = ("process", "business_key", "unit", "actor", "rule", "event")
MAX_LINES = 2000  # one search reads at most this many audit lines
EXPORTS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


def trail_query(asked: dict[str, str]) -> dict[str, Any]:
    """The API's trail filters from the search form; a period's days in Swedish time (until: the whole day)."""
    query: dict[str, Any] = {name: asked[name].strip() for name in SEARCH_FIELDS if asked.get(name, "").strip()}
    if asked.get("since"):
        query["since"] = datetime.combine(date.fromisoformat(asked["since"]), time(), TZ).isoformat()
    if asked.get("until"):
        query["until"] = datetime.combine(date.fromisoformat(asked["until"]) + timedelta(days=1), time(), TZ).isoformat()
    return query


def processes_of(lines: list[dict]) -> list[dict]:
    """One hit per process among the matching lines: its key, unit, the last matching move and its rules."""
    hits: dict[str, dict] = {}
    for line in lines:
        hit = hits.setdefault(line["workflow_id"], {"workflow_id": line["workflow_id"], "process": line["process"],
                                                    "key": line["business_key"], "unit": line["unit"], "rules": []})
        hit.update(at=line["at"], event=line["event"], state=line["to_state"])
        if line["rule"] and line["rule"] not in hit["rules"]:
            hit["rules"].append(line["rule"])
    return sorted(hits.values(), key=lambda h: h["at"], reverse=True)


def download(answer, name: str, media_type: str) -> Response:
    return Response(answer.body if isinstance(answer.body, str) else str(answer.body), media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def register(console: FastAPI, ui: Ui) -> None:
    @console.get("/audit", include_in_schema=False)
    async def audit(request: Request, format: str = "") -> Response:
        session = await ui.signed_in(request)
        asked = {name: request.query_params.get(name, "") for name in (*SEARCH_FIELDS, "since", "until")}
        hits, total = None, 0
        if any(asked.values()) or "search" in request.query_params:
            try:
                query = trail_query(asked)
            except ValueError:
                session.flash.append(("error", "since/until: use YYYY-MM-DD"))
                query = {k: v for k, v in asked.items() if v and k in SEARCH_FIELDS}
            async with ui.api_for(session) as api:
                if format in EXPORTS:  # the API's own export of every matching line
                    answer = await api.get("/audit/trail", **query, format=format)
                    if answer.ok:
                        return download(answer, f"ramflow-audit-trail.{format}", EXPORTS[format])
                else:
                    answer = await api.get("/audit/trail", **query, limit=MAX_LINES)
            if not answer.ok:
                return ui.refused(request, session, answer)
            hits, total = processes_of(answer.body["items"]), answer.body["total"]
        return ui.render(request, "audit.html", session, asked=asked, hits=hits, total=total, limit=MAX_LINES,
                         processes=PROCESSES, export=str(request.url.include_query_params(format="csv").query))

    @console.get("/audit/processes/{workflow_id}", include_in_schema=False)
    async def audit_timeline(request: Request, workflow_id: str, format: str = "") -> Response:
        session = await ui.signed_in(request)
        wid = quote(workflow_id)
        async with ui.api_for(session) as api:
            if format == "bundle":  # histories, transitions, refusals, chain: replays offline
                answer = await api.get(f"/audit/processes/{wid}/bundle")
                if answer.ok:
                    return Response(answer_text(answer), media_type="application/json", headers={
                        "Content-Disposition": f'attachment; filename="{workflow_id}.audit.json"'})
                return ui.refused(request, session, answer)
            log = await api.get(f"/audit/processes/{wid}/transitions")
            if not log.ok:
                return ui.refused(request, session, log)
            if format == "csv":
                first = log.body[0]
                answer = await api.get("/audit/trail", process=first["process"], business_key=first["business_key"],
                                       format="csv")
                if answer.ok:
                    return download(answer, f"{workflow_id}.csv", EXPORTS["csv"])
                return ui.refused(request, session, answer)
            refusals = await api.get(f"/audit/processes/{wid}/refusals")
        first = log.body[0]
        return ui.render(request, "timeline.html", session, workflow_id=workflow_id, kind=first["process"],
                         key=first["business_key"], log=log.body, refusals=refusals.body if refusals.ok else [])


def answer_text(answer) -> str:
    return answer.body if isinstance(answer.body, str) else json.dumps(answer.body, ensure_ascii=False)
