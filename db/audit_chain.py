"""Appending to and verifying the auditors' hash chains (issue 11; hashing in domain.audit).

Chains: one per process in each audit-log table (by seq), one over the history archive and one over
the refused attempts (by id). `verify` recomputes every chain and names the first broken link of each."""
from __future__ import annotations

import gzip
import hashlib
import zlib
from datetime import datetime, timezone
from itertools import groupby
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from db.agreement_models import GovernanceTransitionRow
from db.audit_models import ARCHIVE_FIELDS, REFUSAL_FIELDS, HistoryArchive, RefusedAttempt
from db.models import DeviceTransition
from db.premises_models import PremisesTransition
from db.ticket_models import ServiceRequestTransition, TicketTransition
from domain.audit import GENESIS, audit_line_content, first_broken_link, link_hash

# audit-log table -> the column that names its process (also the chain's key)
AUDIT_LOGS: dict[type, str] = {
    DeviceTransition: "order_number",
    TicketTransition: "number",
    ServiceRequestTransition: "number",
    GovernanceTransitionRow: "workflow_id",
    PremisesTransition: "project_id",
}


def _content(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {field: getattr(row, field) for field in fields}


def lock_chain(session: Session, model: type) -> None:
    """Serialise appends to `model`'s chain (issue 20): the caller holds the chain's end until it commits, so
    a concurrent append waits instead of linking to the same end (and failing on the unique prev_hash).
    PostgreSQL: a transaction-scoped advisory lock named after the table; SQLite: BEGIN IMMEDIATE takes
    the database's write lock before the end is read (a transaction that already wrote holds it)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        key = zlib.crc32(f"ramflow-chain/{model.__tablename__}".encode())
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    elif connection.dialect.name == "sqlite":
        dbapi = connection.connection.dbapi_connection
        if dbapi is not None and not dbapi.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def _last_hash(session: Session, model: type) -> str:
    lock_chain(session, model)
    return session.scalar(select(model.hash).order_by(model.id.desc()).limit(1)) or GENESIS


def append_archive(session: Session, **values: Any) -> HistoryArchive:
    """Add an archived history at the end of the archive's chain (the caller commits; the chain stays
    locked until then: `lock_chain`)."""
    row = HistoryArchive(**values)
    row.prev_hash = _last_hash(session, HistoryArchive)
    row.hash = link_hash(row.prev_hash, _content(row, ARCHIVE_FIELDS))
    session.add(row)
    return row


def append_refusal(session: Session, **values: Any) -> RefusedAttempt:
    # every hashed field set before hashing (a column default would only arrive at the flush)
    values = {field: [] if field == "roles" else None for field in REFUSAL_FIELDS} | values
    row = RefusedAttempt(**values)
    row.prev_hash = _last_hash(session, RefusedAttempt)
    row.hash = link_hash(row.prev_hash, _content(row, REFUSAL_FIELDS))
    session.add(row)
    return row


def history_json(row: HistoryArchive) -> bytes:
    return gzip.decompress(row.history_gz)


def verify(session: Session, anchors: Any = None) -> dict[str, Any]:
    """Recompute every chain, streaming the rows. `intact` is False when any link fails; `broken` names
    the first broken link of each failing chain (table, process key, row id, seq, what is wrong). With
    `anchors` (db.audit_anchor.AnchorStore) each chain is also compared with the newest signed checkpoint:
    truncation, deletion and rechaining (issue 20)."""
    broken: list[dict[str, Any]] = []
    checked: dict[str, int] = {}
    for model, key_column in AUDIT_LOGS.items():
        key = getattr(model, key_column)
        rows = session.scalars(select(model).order_by(key, model.seq).execution_options(yield_per=1000))
        count = 0
        for process_key, lines in groupby(rows, key=lambda r: getattr(r, key_column)):
            seqs: dict[int, int] = {}
            chain = []
            for line in lines:
                count += 1
                seqs[line.id] = line.seq
                chain.append((line.id, audit_line_content(key_column, process_key, line), line.prev_hash, line.hash))
            problem = first_broken_link(chain)
            if problem is not None:
                broken.append({"chain": model.__tablename__, "key": process_key, "seq": seqs[problem["id"]], **problem})
        checked[model.__tablename__] = count
    for model, fields in ((HistoryArchive, ARCHIVE_FIELDS), (RefusedAttempt, REFUSAL_FIELDS)):
        count, problem, keys = 0, None, {}
        expected_prev = GENESIS
        for row in session.scalars(select(model).order_by(model.id).execution_options(yield_per=100)):
            count += 1
            if problem is not None:
                continue
            problem = first_broken_link([(row.id, _content(row, fields), row.prev_hash, row.hash)], expected_prev)
            if problem is None and model is HistoryArchive:
                digest = hashlib.sha256(history_json(row)).hexdigest()
                if digest != row.history_sha256:  # the chain covers the digest; the digest the history
                    problem = {"id": row.id, "problem": "the stored history does not match its digest (altered)",
                               "expected": row.history_sha256, "found": digest}
            if problem is not None:
                keys = {"key": f"{row.workflow_id}/{row.run_id}" if model is HistoryArchive else row.workflow_id}
            expected_prev = row.hash
        checked[model.__tablename__] = count
        if problem is not None:
            broken.append({"chain": model.__tablename__, **keys, **problem})
    from db.audit_anchor import verify_against_anchor  # it reads the chains this module defines

    anchor, against_anchor = verify_against_anchor(session, anchors)
    broken += against_anchor
    return {"intact": not broken, "verified_at": datetime.now(timezone.utc).isoformat(), "checked": checked,
            "broken": broken, "anchor": anchor}
