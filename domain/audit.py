"""Tamper evidence for the audit records (issue 11): canonical content and the hash chain. Pure: no I/O.

Every audit row stores `prev_hash` (the hash of the row before it in its chain, GENESIS for the first)
and `hash` = SHA-256 over `prev_hash` and the row's canonical content. Altering, deleting or inserting
a row anywhere breaks the chain from that row on, and recomputing finds the first broken link."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Literal

from pydantic import BaseModel

GENESIS = "0" * 64


def canonical_instant(at: datetime) -> str:
    """UTC, microseconds, no offset: SQLite returns instants naive (in UTC), PostgreSQL aware."""
    if at.tzinfo is not None:
        at = at.astimezone(timezone.utc).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return canonical_instant(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)  # Decimal, enums: their text


def canonical(content: dict[str, Any]) -> bytes:
    """One byte string per content, whatever the database returned (sorted keys, UTC instants)."""
    return json.dumps(_plain(content), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_hash(prev_hash: str, content: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(content)).hexdigest()


# The columns of an audit-log line that its hash covers (db.models.AuditLogColumns, without id and hashes).
AUDIT_LINE_FIELDS = ("seq", "at", "event", "from_state", "to_state", "actor", "reason", "rule", "details")


def audit_line_content(key_column: str, key: str, line: Any) -> dict[str, Any]:
    """What a transition row's hash covers: its process key and every field of the line."""
    content = {field: getattr(line, field) for field in AUDIT_LINE_FIELDS}
    content["details"] = dict(content["details"] or {})
    content[key_column] = key
    return content


def first_broken_link(rows: Iterable[tuple[Any, dict[str, Any], str | None, str | None]],
                      expected_prev: str = GENESIS) -> dict[str, Any] | None:
    """Walk one chain in order: rows of (row id, content, prev_hash, hash), the first linked to
    `expected_prev`. None when intact, else the first row whose link does not hold and why."""
    for row_id, content, prev_hash, stored in rows:
        if prev_hash != expected_prev:
            return {"id": row_id, "problem": "prev_hash does not match the previous row (a row before it was "
                    "removed, inserted or altered)", "expected": expected_prev, "found": prev_hash}
        recomputed = link_hash(expected_prev, content)
        if stored != recomputed:
            return {"id": row_id, "problem": "content does not match its hash (the row was altered)",
                    "expected": recomputed, "found": stored}
        expected_prev = stored
    return None


# --- the history archive and search attributes ---------------------------------------------------
# Workflow-ID prefixes of the processes (domain.*.…_workflow_id); the rest of the ID is the business key.
WORKFLOW_ID_PREFIXES = ("cloud-move-", "agreement-", "service-", "device-", "framework-", "devcase-",
                        "request-", "ticket-")


def business_key_of(workflow_id: str) -> str:
    """`device-ORD-2026-0001` → `ORD-2026-0001` (workflow IDs carry business keys only, never personal data)."""
    for prefix in WORKFLOW_ID_PREFIXES:
        if workflow_id.startswith(prefix):
            return workflow_id[len(prefix):]
    return workflow_id


class ArchiveRequest(BaseModel):
    """Archive one run's event history (idempotent per workflow id + run id)."""

    workflow_id: str
    run_id: str
    workflow_type: str
    reason: Literal["closed", "continued_as_new"]


# --- consistency: the database mirror against the workflow's own log ------------------------------
DRIFT_FIELDS = ("at", "event", "from_state", "to_state", "actor", "reason", "rule", "details")


def log_drift(workflow_log: list[dict[str, Any]], mirror: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every difference between the workflow's log (the truth: it is what Temporal replays) and the
    register's mirror: lines missing from the mirror, lines only in the mirror, fields that differ."""
    def normal(line: dict[str, Any], field: str) -> Any:
        value = line.get(field)
        if field == "at" and value is not None:
            return canonical_instant(value if isinstance(value, datetime) else datetime.fromisoformat(value))
        if field == "details":
            return dict(value or {})
        return value

    truth = {line["seq"]: line for line in workflow_log}
    copy = {line["seq"]: line for line in mirror}
    drift: list[dict[str, Any]] = []
    for seq in sorted(truth.keys() | copy.keys()):
        if seq not in copy:
            drift.append({"seq": seq, "problem": "missing from the database mirror", "event": truth[seq]["event"]})
        elif seq not in truth:
            drift.append({"seq": seq, "problem": "in the database mirror only", "event": copy[seq]["event"]})
        else:
            differing = [field for field in DRIFT_FIELDS if normal(truth[seq], field) != normal(copy[seq], field)]
            if differing == ["at"] and is_rerun_drift(truth[seq]["at"], copy[seq]["at"]):
                drift.append({"seq": seq, "problem": RERUN_DRIFT, "workflow": normal(truth[seq], "at"),
                              "mirror": normal(copy[seq], "at")})
                continue
            for field in differing:
                drift.append({"seq": seq, "problem": f"{field} differs", "workflow": normal(truth[seq], field),
                              "mirror": normal(copy[seq], field)})
    return drift


# A worker that dies after a local activity wrote a mirror line, but before its workflow task completed, leaves
# a line whose record the history never kept: the task re-runs on another worker with a later workflow.now().
# The audit lines are append-only (hash chain, triggers), so the mirror keeps the first write; the difference is
# reported as what it is, not as tampering (issue 15 topology test, issue 11 consistency check).
RERUN_DRIFT = "rerun drift: only the time differs (a workflow task re-ran after its worker died)"
RERUN_WINDOW = timedelta(minutes=5)


def is_rerun_drift(kept: Any, mirrored: Any) -> bool:
    def instant(value: Any) -> datetime:
        return value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return timedelta(0) <= instant(kept) - instant(mirrored) <= RERUN_WINDOW


def only_rerun_drift(drift: list[dict[str, Any]]) -> bool:
    """True when the mirror equals the workflow's log but for re-run times."""
    return all(entry["problem"] == RERUN_DRIFT for entry in drift)
