"""The auditors' consistency check (issue 11): one process's database mirror against its workflow's own
log. Used by `GET /audit/processes/{workflow_id}/consistency` and `scripts/check_consistency.py`."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from db.audit_queries import TrailFilter, trail
from domain.audit import log_drift, only_rerun_drift


async def consistency(client: Client, sessions: sessionmaker[Session], workflow_id: str,
                      timeout: float = 10.0) -> dict:
    """Compare one process's database mirror with its workflow's own log (the `view` query every
    process answers, also after it closed while the namespace keeps it). Raises RPCError when the
    workflow is gone or unreachable, asyncio.TimeoutError when Temporal does not answer in time."""
    view = await asyncio.wait_for(client.get_workflow_handle(workflow_id).query(
        "view", rpc_timeout=timedelta(seconds=timeout)), timeout)

    def mirrored() -> list[dict]:
        with sessions() as s:
            return trail(s, TrailFilter(workflow_id=workflow_id), None)[1]

    mirror = await asyncio.to_thread(mirrored)
    drift = log_drift(view["log"], mirror)
    return {"workflow_id": workflow_id, "consistent": only_rerun_drift(drift), "workflow_lines": len(view["log"]),
            "mirror_lines": len(mirror), "drift": drift}
