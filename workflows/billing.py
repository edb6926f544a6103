"""A billing run (rules BL-1 … BL-6): collect → one invoice basis per unit, compared with the unit's
previous one and stored → publish. Idempotent by municipality + period + unit, so a re-run or a
worker that dies mid-run (a new one replays and retries) gives the same bases and no duplicate lines.
Also the daily renewal safety net (EQ-5)."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.billing import BasisSummary, BillingRunStart, RunPlan, RunResult, UnitBasisRequest, total

from workflows.steps import Step

# The activities these processes call (activities/billing.py), all ordinary (remote) activities. They run with
# billing's own timeouts and retry policy below: `InvalidRun` is a billing refusal, never retried.
COLLECT = Step("billing.collect")
STORE_BASIS = Step("billing.store_basis")
PUBLISH = Step("billing.publish")
MARK_FAILED = Step("billing.mark_failed")
RENEWAL_SAFETY_NET = Step("billing.renewal_safety_net")
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                    maximum_interval=timedelta(minutes=5), non_retryable_error_types=["InvalidRun"])
STEP_TIMEOUT = timedelta(minutes=5)
# One unit's basis takes well under a second; if its worker dies the attempt is retried elsewhere after this.
UNIT_TIMEOUT = timedelta(seconds=60)
CONCURRENT_UNITS = 8  # bases are independent; a few at a time keeps the database's writers few


@workflow.defn(name="BillingRun")
class BillingRunWorkflow:
    def __init__(self) -> None:
        self.plan: RunPlan | None = None
        self.bases: list[BasisSummary] = []
        self.status = "collecting"

    @workflow.run
    async def run(self, start: BillingRunStart) -> RunResult:
        try:
            self.plan = await workflow.execute_activity(
                COLLECT.name, start.model_copy(update={"as_of": start.as_of or workflow.now()}),
                result_type=RunPlan, start_to_close_timeout=STEP_TIMEOUT, retry_policy=RETRY)
        except ActivityError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type == "InvalidRun":
                raise ApplicationError(cause.message, type="InvalidRun", non_retryable=True) from error
            raise
        try:
            return await self._store_and_publish(self.plan)
        except ActivityError as error:
            # the failed-runs gauge (observability) sees a failed run at once, not an hour later
            if workflow.patched("billing-run-records-failure"):
                await workflow.execute_activity(
                    MARK_FAILED.name, args=[self.plan.run_id, str(error.cause or error)],
                    start_to_close_timeout=STEP_TIMEOUT, retry_policy=RETRY)
            self.status = "failed"
            raise

    async def _store_and_publish(self, plan: RunPlan) -> RunResult:
        self.status = "storing"
        for first in range(0, len(plan.units), CONCURRENT_UNITS):  # rule BL-5: one basis per unit
            chunk = plan.units[first:first + CONCURRENT_UNITS]
            self.bases += await asyncio.gather(*(workflow.execute_activity(
                STORE_BASIS.name, UnitBasisRequest(run_id=plan.run_id, municipality=plan.municipality,
                                                        period=plan.period, kind=plan.kind, unit_id=unit),
                result_type=BasisSummary, start_to_close_timeout=UNIT_TIMEOUT, retry_policy=RETRY)
                for unit in chunk))
        stored = [b for b in self.bases if b.basis_id is not None]
        result = RunResult(run_id=plan.run_id, municipality=plan.municipality, period=plan.period, bases=stored,
                           total=total_of(stored))
        self.status = "publishing"
        await workflow.execute_activity(PUBLISH.name, result, start_to_close_timeout=STEP_TIMEOUT,
                                        retry_policy=RETRY)
        self.status = "published"
        return result

    @workflow.query
    def progress(self) -> dict[str, str | int]:
        return {"status": self.status, "period": self.plan.period if self.plan else "",
                "units_done": len(self.bases), "units": len(self.plan.units) if self.plan else 0}


def total_of(bases: list[BasisSummary]):
    return sum((b.total for b in bases), total([]))


@workflow.defn(name="RenewalSafetyNet")
class RenewalSafetyNetWorkflow:
    """Rule EQ-5: daily, renew devices in use whose renewal is due but whose workflow has none
    pending (e.g. imported from an old register)."""

    @workflow.run
    async def run(self) -> list[str]:
        return await workflow.execute_activity(
            RENEWAL_SAFETY_NET.name, workflow.now().date(), result_type=list[str],
            start_to_close_timeout=timedelta(minutes=30), retry_policy=RETRY)
