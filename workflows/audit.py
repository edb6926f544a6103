"""Issue 11, what auditors get from every process workflow: the searchable attributes after each move
and the run's event history archived as its last step. Both were added after processes were running,
behind patches, so histories from before them replay without these commands."""
from __future__ import annotations

from typing import Any

from temporalio import workflow

from workflows import search_attributes
from workflows.steps import Step, run_activity

with workflow.unsafe.imports_passed_through():
    from domain.audit import ArchiveRequest, business_key_of

ARCHIVE_HISTORY = Step("audit.archive_history")
ANCHOR_CHAINS = Step("audit.anchor_chains")  # writes a file outside the database: an ordinary activity


async def archive_run(reason: str) -> None:
    """The run's event history into Ramflow's archive, beyond the namespace's retention; the last step
    of every workflow and the one before continue-as-new."""
    if workflow.patched("audit-archive-history"):
        info = workflow.info()
        await run_activity(ARCHIVE_HISTORY, ArchiveRequest(
            workflow_id=info.workflow_id, run_id=info.run_id, workflow_type=info.workflow_type, reason=reason))


def upsert_search_attributes(snapshot: Any) -> None:
    """What auditors search by, after every move."""
    if workflow.patched("audit-search-attributes"):
        info = workflow.info()
        workflow.upsert_search_attributes(search_attributes.updates(
            info.workflow_type, business_key_of(info.workflow_id), snapshot))


@workflow.defn(name="AuditAnchor")
class AuditAnchorWorkflow:
    """Issue 20: one signed checkpoint of every audit chain's head and length, written outside the database
    (db.audit_anchor); started by its Schedule (workflows.schedules) every AUDIT_ANCHOR_INTERVAL_MINUTES."""

    @workflow.run
    async def run(self, reason: str = "scheduled") -> str:
        return await run_activity(ANCHOR_CHAINS, reason, result_type=str)
