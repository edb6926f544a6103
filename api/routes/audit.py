"""The auditors' workspace (issue 11): the audit trail across every process, and per process its
transition log, decoded Temporal history (live or archived), refused attempts, state diagram and an
export bundle that replays (`python -m scripts.replay_bundle`). Read-only: the `auditor` role."""
from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Path, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from api.consistency import consistency
from api.bounds import Instant
from api.deps import Offset, ProcessDep, SessionDep, SettingsDep
from api.processes import ProcessPath
from codec import EncryptionCodec, decrypt_history_json
from db.audit_anchor import AnchorStore
from db.audit_chain import history_json, verify
from db.audit_models import HistoryArchive, RefusedAttempt
from db.audit_queries import COLUMNS, TrailFilter, trail
from domain.audit import business_key_of
from domain.process import ProcessDefinition
from workflows.agreements import AgreementWorkflow, CloudMoveWorkflow, ServiceIntroductionWorkflow
from workflows.equipment import DeviceLifecycleWorkflow
from workflows.governance import DevelopmentCaseWorkflow, FrameworkChangeWorkflow
from workflows.premises import PremisesProjectWorkflow
from workflows.tickets import ServiceRequestWorkflow, TicketWorkflow

router = APIRouter(prefix="/audit", tags=["audit"])
TEMPORAL_DEADLINE = timedelta(seconds=10)
BUNDLE_FORMAT = "ramflow-audit-bundle/1"

# workflow-ID prefix -> the process's workflow class (its machine draws the diagram)
_PROCESSES: list[tuple[str, type]] = [
    ("device-", DeviceLifecycleWorkflow), ("ticket-", TicketWorkflow), ("request-", ServiceRequestWorkflow),
    ("agreement-", AgreementWorkflow), ("service-", ServiceIntroductionWorkflow), ("cloud-move-", CloudMoveWorkflow),
    ("framework-", FrameworkChangeWorkflow), ("devcase-", DevelopmentCaseWorkflow),
    ("premises-", PremisesProjectWorkflow),
]
WorkflowId = Annotated[str, Path(min_length=1, max_length=200, description="e.g. device-ORD-2026-0001")]


def _process_of(workflow_id: str) -> type:
    for prefix, workflow_class in _PROCESSES:
        if workflow_id.startswith(prefix):
            return workflow_class
    raise HTTPException(404, f"workflow_id: {workflow_id!r} is not a Ramflow process")


def _utc(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def _line(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "at": _utc(row["at"]).isoformat()}


# --- the trail across all processes ----------------------------------------------------------------
@router.get("/trail", responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}})
def audit_trail(
    session: SessionDep,
    settings: SettingsDep,
    process: Annotated[str | None, Query(description="equipment, ticket, service_request, agreement, "
                                         "service_introduction, cloud_move, framework_change, development_case")] = None,
    business_key: str | None = None, actor: str | None = None, unit: str | None = None,
    municipality: str | None = None, rule: Annotated[str | None, Query(description="e.g. EQ-11")] = None,
    event: str | None = None,
    since: Annotated[Instant | None, Query(description="from this instant (inclusive)")] = None,
    until: Annotated[Instant | None, Query(description="to this instant (exclusive)")] = None,
    format: Literal["json", "csv", "jsonl"] = "json",
    limit: Annotated[int | None, Query(ge=1, le=10000, description="page size (json: default 100); "
                                       "csv and jsonl export every match unless given")] = None,
    offset: Offset = 0,
) -> Any:
    """Every move of every process: who, when, why, under which rule; oldest first. The CSV is for Swedish
    Excel (issue 23): `;`-separated, UTF-8 with a BOM, times in local time (`at`, e.g. 2026-12-08 14:05:00)."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise HTTPException(422, f"{name}: give an offset (e.g. 2026-03-01T00:00:00+01:00)")
    where = TrailFilter(process=process, business_key=business_key, actor=actor, unit=unit,
                        municipality=municipality, rule=rule, event=event, since=_utc(since), until=_utc(until))
    if format == "json":
        total, rows = trail(session, where, limit or 100, offset)
        return {"total": total, "offset": offset, "limit": limit or 100, "items": [_line(r) for r in rows]}
    _, rows = trail(session, where, limit, offset)
    lines = [_line(r) for r in rows]
    if format == "jsonl":
        body = "".join(json.dumps(line, ensure_ascii=False, default=str) + "\n" for line in lines)
        return Response(body, media_type="application/x-ndjson",
                        headers={"Content-Disposition": 'attachment; filename="ramflow-audit-trail.jsonl"'})
    tz = ZoneInfo(settings.timezone)
    out = io.StringIO()
    out.write("\ufeff")  # the BOM: Excel then reads the file as UTF-8 (å, ä, ö)
    writer = csv.DictWriter(out, fieldnames=COLUMNS, delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    for line in lines:
        row = {**line, "at": datetime.fromisoformat(line["at"]).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
               "details": json.dumps(line["details"] or {}, ensure_ascii=False, sort_keys=True)}
        writer.writerow({key: _cell(value) for key, value in row.items()})
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="ramflow-audit-trail.csv"'})


def _cell(value: Any) -> Any:
    """Free text (reasons, actors) that a spreadsheet would run as a formula is quoted (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@router.get("/verify")
def verify_chains(session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """Recompute every hash chain; `broken` names the first broken link of each chain, and each chain that
    is shorter, gone or rechained since the newest signed checkpoint (`anchor`; also
    `python -m scripts.verify_audit`)."""
    return verify(session, AnchorStore.from_settings(settings))


@router.get("/archive")
def archived_runs(session: SessionDep, workflow_type: str | None = None, business_key: str | None = None,
                  workflow_id: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                  offset: Offset = 0) -> list[dict[str, Any]]:
    """The archived Temporal histories (no content: see /audit/processes/{id}/history)."""
    query = select(HistoryArchive).order_by(HistoryArchive.id).offset(offset).limit(limit)
    for column, value in ((HistoryArchive.workflow_type, workflow_type), (HistoryArchive.business_key, business_key),
                          (HistoryArchive.workflow_id, workflow_id)):
        if value is not None:
            query = query.where(column == value)
    return [_archive_meta(row) for row in session.scalars(query)]


def _archive_meta(row: HistoryArchive) -> dict[str, Any]:
    return {"workflow_id": row.workflow_id, "run_id": row.run_id, "workflow_type": row.workflow_type,
            "business_key": row.business_key, "reason": row.reason, "first_event_at": _utc(row.first_event_at),
            "last_event_at": _utc(row.last_event_at), "event_count": row.event_count,
            "archived_at": _utc(row.archived_at), "hash": row.hash}


# --- one process ---------------------------------------------------------------------------------
def _transitions(session: Session, workflow_id: str) -> list[dict[str, Any]]:
    _process_of(workflow_id)
    _, rows = trail(session, TrailFilter(workflow_id=workflow_id), None)
    return [_line(r) for r in rows]


def _refusals(session: Session, workflow_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(select(RefusedAttempt).where(RefusedAttempt.workflow_id == workflow_id)
                           .order_by(RefusedAttempt.id))
    return [{"at": _utc(r.at).isoformat(), "method": r.method, "path": r.path, "actor": r.actor, "event": r.event,
             "status": r.status, "message": r.message, "hash": r.hash} for r in rows]


@router.get("/processes/{workflow_id}/transitions")
def process_transitions(workflow_id: WorkflowId, session: SessionDep) -> list[dict[str, Any]]:
    """The transition log: from → to, who, when, why, under which rule (the register's hash-chained mirror)."""
    lines = _transitions(session, workflow_id)
    if not lines:
        raise HTTPException(404, f"workflow_id: no audit log for {workflow_id!r}")
    return lines


@router.get("/processes/{workflow_id}/refusals")
def process_refusals(workflow_id: WorkflowId, session: SessionDep) -> list[dict[str, Any]]:
    """Commands the API refused for this process (they never entered Temporal's history)."""
    _process_of(workflow_id)
    return _refusals(session, workflow_id)


@router.get("/processes/{workflow_id}/diagram")
def process_diagram(workflow_id: WorkflowId, session: SessionDep,
                    format: Literal["json", "text"] = "json") -> Any:
    """The process's state machine (Mermaid stateDiagram-v2) with its current state highlighted."""
    definition: ProcessDefinition = _process_of(workflow_id).definition
    lines = _transitions(session, workflow_id)
    state = lines[-1]["to_state"] if lines else None
    diagram = definition.mermaid()
    if state is not None:
        diagram += f"\n    classDef current fill:#ffd54f,stroke:#e65100,stroke-width:3px\n    class {state} current"
    if format == "text":
        return Response(diagram, media_type="text/plain; charset=utf-8")
    return {"workflow_id": workflow_id, "process": definition.name, "current_state": state, "mermaid": diagram}


def _unavailable(path: ProcessPath, what: str) -> HTTPException:
    return HTTPException(503, f"{what}; try again", headers={"Retry-After": str(path.settings.retry_after_seconds)})


async def _runs(path: ProcessPath, workflow_id: str, source: Literal["auto", "live", "archive"]) -> list[dict[str, Any]]:
    """Every run of the process, oldest first: archived runs, and the live one from Temporal (preferred
    while the namespace still keeps it: it is complete). No database connection is held meanwhile."""
    def archived(s: Session) -> list[dict[str, Any]]:
        rows = s.scalars(select(HistoryArchive).where(HistoryArchive.workflow_id == workflow_id)
                         .order_by(HistoryArchive.id))
        return [{"run_id": r.run_id, "source": "archive", "reason": r.reason, "hash": r.hash,
                 "history": json.loads(history_json(r))} for r in rows]

    runs = await path.db(archived)
    last_archived = runs[-1]["run_id"] if runs else None
    if source == "live":
        runs = []
    if source == "archive":
        return runs
    client: Client = path.client
    try:
        history: WorkflowHistory = await asyncio.wait_for(
            client.get_workflow_handle(workflow_id).fetch_history(rpc_timeout=TEMPORAL_DEADLINE),
            TEMPORAL_DEADLINE.total_seconds())
    except RPCError as error:
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT) and (runs or source == "auto"):
            return runs  # beyond the namespace's retention: the archive is the record
        if error.status == RPCStatusCode.NOT_FOUND:
            return runs
        if runs and source == "auto":
            return runs
        raise _unavailable(path, "Temporal is not reachable") from error
    except asyncio.TimeoutError as error:
        if runs and source == "auto":
            return runs
        raise _unavailable(path, "Temporal did not answer in time") from error
    live = json.loads(history.to_json())
    started = live["events"][0].get("workflowExecutionStartedEventAttributes", {})
    run_id = started.get("originalExecutionRunId") or last_archived
    runs = [r for r in runs if r["run_id"] != run_id]
    runs.append({"run_id": run_id, "source": "live", "reason": None, "hash": None, "history": live})
    return runs


def _codec(client: Client) -> EncryptionCodec | None:
    codec = client.data_converter.payload_codec
    return codec if isinstance(codec, EncryptionCodec) else None


def _decode_payloads(node: Any) -> Any:
    """Add `decoded` next to every JSON payload of a history (proto JSON keeps them base64)."""
    if isinstance(node, dict):
        out = {k: _decode_payloads(v) for k, v in node.items()}
        metadata = node.get("metadata")
        if isinstance(metadata, dict) and "encoding" in metadata and isinstance(node.get("data"), str):
            try:
                if base64.b64decode(metadata["encoding"]) == b"json/plain":
                    out["decoded"] = json.loads(base64.b64decode(node["data"]))
            except ValueError:
                pass
        return out
    if isinstance(node, list):
        return [_decode_payloads(v) for v in node]
    return node


@router.get("/processes/{workflow_id}/consistency", responses={503: {"description": "Temporal unreachable"}})
async def process_consistency(workflow_id: WorkflowId, path: ProcessDep) -> dict[str, Any]:
    """Drift between the register's mirror and the workflow's own log (missing, extra or differing lines)."""
    _process_of(workflow_id)
    try:
        return await consistency(path.client, path.sessions, workflow_id, TEMPORAL_DEADLINE.total_seconds())
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(404, f"workflow_id: {workflow_id!r} is not in Temporal (beyond retention?)") from error
        raise _unavailable(path, "Temporal is not reachable") from error
    except asyncio.TimeoutError as error:
        raise _unavailable(path, "Temporal did not answer in time") from error


@router.get("/processes/{workflow_id}/history", responses={503: {"description": "Temporal unreachable"}})
async def process_history(workflow_id: WorkflowId, path: ProcessDep,
                          source: Literal["auto", "live", "archive"] = "auto", decode: bool = True) -> dict[str, Any]:
    """The Temporal event history of every run, decoded: live from Temporal while the namespace keeps it,
    from Ramflow's archive after (or with source=archive)."""
    _process_of(workflow_id)
    runs = await _runs(path, workflow_id, source)
    if not runs:
        raise HTTPException(404, f"workflow_id: no history for {workflow_id!r}")
    if decode:
        codec = _codec(path.client)
        runs = [{**run, "history": _decode_payloads(decrypt_history_json(run["history"], codec))} for run in runs]
    return {"workflow_id": workflow_id, "runs": runs}


@router.get("/processes/{workflow_id}/bundle", responses={503: {"description": "Temporal unreachable"}})
async def process_bundle(workflow_id: WorkflowId, path: ProcessDep) -> Response:
    """Everything about one process in one file: its histories (replay them with
    `python -m scripts.replay_bundle FILE`), transition log, refused attempts, current state and the
    state of its hash chain."""
    workflow_class = _process_of(workflow_id)
    codec = _codec(path.client)  # decrypted for the auditor: the bundle replays without the keys
    runs = [{**run, "history": decrypt_history_json(run["history"], codec)}
            for run in await _runs(path, workflow_id, "auto")]

    def records(s: Session) -> tuple[list, list, dict]:
        return _transitions(s, workflow_id), _refusals(s, workflow_id), verify(s, AnchorStore.from_settings(path.settings))

    transitions, refusals, report = await path.db(records)
    if not runs and not transitions:
        raise HTTPException(404, f"workflow_id: nothing recorded for {workflow_id!r}")
    key = business_key_of(workflow_id)
    bundle = {
        "format": BUNDLE_FORMAT, "exported_at": datetime.now(timezone.utc).isoformat(), "workflow_id": workflow_id,
        "workflow_type": workflow_class.__temporal_workflow_definition.name,
        "process": workflow_class.definition.name, "business_key": key,
        "current_state": transitions[-1]["to_state"] if transitions else None,
        "transitions": transitions, "refused_attempts": refusals,
        "chain": {"intact": not [b for b in report["broken"] if b["key"] in (key, workflow_id)],
                  "broken": [b for b in report["broken"] if b["key"] in (key, workflow_id)]},
        "runs": runs,
    }
    return Response(json.dumps(bundle, ensure_ascii=False, default=str), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{workflow_id}.audit.json"'})

