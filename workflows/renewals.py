"""A changed renewal period reaches every running device (rule EQ-5), as a durable job of its own: the
API's `PUT /renewal-policies/...` starts it and answers once it is done or, for a large fleet, at once with
202 while it goes on (a fleet-wide re-arm took minutes inside one request: issue 15)."""
from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows.steps import Step, run_activity

with workflow.unsafe.imports_passed_through():
    from domain.renewals import RearmRequest

# Sends the period to every running device of the category, in chunks; heartbeats after each chunk, and a
# retried attempt resumes after the last chunk it reported (a region's fleet outlasts any one timeout).
REARM_RENEWALS = Step("equipment.rearm_renewals", timeout=timedelta(hours=6), heartbeat=timedelta(minutes=2))


@workflow.defn(name="RenewalPolicyRearm")
class RenewalPolicyRearmWorkflow:
    """Rule EQ-5: re-arm the renewal timers of the running devices for a changed period; the result is the
    order numbers that now run on it."""

    @workflow.run
    async def run(self, request: RearmRequest) -> list[str]:
        return await run_activity(REARM_RENEWALS, request, list[str])
