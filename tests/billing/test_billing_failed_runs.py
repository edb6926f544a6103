"""The failed-runs gauge (ramflow_billing_runs_failed) counts a run whose workflow failed at once, a run
stuck or terminated once an hour has passed without publishing, and not a published or a re-run period."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from db.billing_models import BillingRunRow
from domain.billing import BillingRunStart, UnitBasisRequest, billing_workflow_id
from observability.business import BusinessCollector
from tests.billing.helpers import add_rental, bill
from worker import WORKFLOWS, all_activities, build_worker
from workflows.billing import BillingRunWorkflow


def failed_runs(sessions, settings, now: datetime) -> float:
    collector = BusinessCollector(lambda: sessions, settings.renewal_lead_days, now=lambda: now)
    return sum(sample.value for family in collector.collect() for sample in family.samples
               if sample.name == "ramflow_billing_runs_failed")


async def test_bl2_failed_run_counts_at_once_and_a_rerun_clears_it(env, sessions, settings, executor):
    with sessions.begin() as s:
        add_rental(s, "F-1", "UL-KS", date(2026, 1, 1))

    @activity.defn(name="billing.store_basis")
    def broken_store(request: UnitBasisRequest):
        raise ApplicationError("invoice_lines: disk full", type="StorageFailed", non_retryable=True)

    activities = [a for a in all_activities(env.client, sessions, settings)
                  if getattr(a, "__temporal_activity_definition").name != "billing.store_basis"]
    async with Worker(env.client, task_queue=settings.temporal_task_queue, workflows=WORKFLOWS,
                      activities=[*activities, broken_store], activity_executor=executor):
        with pytest.raises(WorkflowFailureError):
            await bill(env.client, settings.temporal_task_queue, "ulricehamn", "2026-03")
    run_id = billing_workflow_id("ulricehamn", "2026-03")
    with sessions() as s:
        assert s.get(BillingRunRow, run_id).status == "failed"
    assert failed_runs(sessions, settings, datetime.now(timezone.utc)) == 1  # at once, not an hour later

    async with build_worker(env.client, sessions, settings, executor=executor):  # staff run the period again
        await bill(env.client, settings.temporal_task_queue, "ulricehamn", "2026-03")
    with sessions() as s:
        assert s.get(BillingRunRow, run_id).status == "published"
    assert failed_runs(sessions, settings, datetime.now(timezone.utc) + timedelta(hours=2)) == 0


async def test_bl2_terminated_run_counts_as_stuck_after_an_hour(env, sessions, settings, executor):
    with sessions.begin() as s:
        add_rental(s, "F-2", "UL-KS", date(2026, 1, 1))

    @activity.defn(name="billing.store_basis")
    async def hanging_store(request: UnitBasisRequest):
        await activity.wait_for_worker_shutdown()  # never finishes while the worker runs

    activities = [a for a in all_activities(env.client, sessions, settings)
                  if getattr(a, "__temporal_activity_definition").name != "billing.store_basis"]
    async with Worker(env.client, task_queue=settings.temporal_task_queue, workflows=WORKFLOWS,
                      activities=[*activities, hanging_store], activity_executor=executor,
                      graceful_shutdown_timeout=timedelta(seconds=1)):
        handle = await env.client.start_workflow(
            BillingRunWorkflow.run, BillingRunStart(municipality="ulricehamn", period="2026-03"),
            id=billing_workflow_id("ulricehamn", "2026-03"), task_queue=settings.temporal_task_queue)
        while (await handle.query(BillingRunWorkflow.progress))["status"] != "storing":
            pass
        await handle.terminate("operator stopped it")  # a terminated workflow records nothing itself
    now = datetime.now(timezone.utc)
    assert failed_runs(sessions, settings, now) == 0  # started minutes ago: maybe still running
    assert failed_runs(sessions, settings, now + timedelta(hours=1, minutes=1)) == 1  # stuck: never published
