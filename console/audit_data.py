"""The auditors' data, in one small module so it can be swapped for the auditors' API (issue 11) when it
is merged: today it reads the registers and the per-process history endpoints of /api/v1 (the transition
tables), with the auditor's own token (the API decides what the auditor may read)."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from console.api_client import Api

# process type -> (register list path, key field, history path template, page path)
KINDS: dict[str, tuple[str, str, str, str]] = {
    "device": ("/devices", "order_number", "/devices/{key}/history", "/console/devices/{key}"),
    "ticket": ("/tickets", "number", "/tickets/{key}/history", "/console/tickets/{key}"),
    "service_request": ("/service-requests", "number", "/service-requests/{key}/history",
                        "/console/audit/service_request/{key}"),
}
GOVERNANCE = ("/governance-processes", "workflow_id", "/governance-processes/{key}/history",
              "/console/audit/governance/{key}")
MAX_ROWS = 200
MAX_HISTORIES = 100  # actor and rule filters read histories: at most this many processes per search


@dataclass
class Hit:
    kind: str
    key: str
    unit: str | None
    state: str
    started: str | None
    link: str


def _started(row: dict) -> str | None:
    return row.get("ordered_at") or row.get("reported_at") or row.get("started_at") or row.get("submitted_at")


def _in_period(value: str | None, since: date | None, until: date | None) -> bool:
    if value is None:
        return since is None and until is None
    day = datetime.fromisoformat(value).date()
    return (since is None or day >= since) and (until is None or day <= until)


async def search(api: Api, kind: str | None = None, key: str | None = None, unit: str | None = None,
                 actor: str | None = None, rule: str | None = None, since: date | None = None,
                 until: date | None = None, state: str | None = None) -> list[Hit]:
    """Processes by type, key, unit, state, actor, rule and period (the day the process started)."""
    kinds = [kind] if kind else [*KINDS, "governance"]
    hits: list[Hit] = []
    for name in kinds:
        path, key_field, _, link = GOVERNANCE if name == "governance" else KINDS[name]
        params: dict[str, Any] = {"limit": MAX_ROWS}
        if name in ("device", "ticket", "service_request") and unit:
            params["unit_id"] = unit
        if state and name in ("device", "ticket"):
            params["state"] = state
        answer = await api.get(path, **params)
        if not answer.ok:
            continue
        for row in answer.body:
            row_key = row[key_field]
            if key and key.lower() not in row_key.lower():
                continue
            if unit and name == "governance":
                continue
            if state and row.get("state") != state:
                continue
            if not _in_period(_started(row), since, until):
                continue
            hits.append(Hit(name, row_key, row.get("unit_id"), row.get("state", ""), _started(row),
                            link.format(key=row_key)))
    if actor or rule:
        hits = hits[:MAX_HISTORIES]
        logs = await asyncio.gather(*(timeline(api, hit.kind, hit.key) for hit in hits))
        hits = [hit for hit, log in zip(hits, logs) if any(
            (not actor or entry["actor"] == actor) and (not rule or entry["rule"].upper().startswith(rule.upper()))
            for entry in log)]
    return hits


async def timeline(api: Api, kind: str, key: str) -> list[dict]:
    """A process's transitions: when, event, from → to, who, why, which rule."""
    template = GOVERNANCE[2] if kind == "governance" else KINDS[kind][2]
    answer = await api.get(template.format(key=key))
    return answer.body if answer.ok else []
