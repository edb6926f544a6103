"""A worker dies in the middle of a billing run; a new worker replays the run and finishes it with the same
bases and no duplicate lines (rule BL-5, idempotent by municipality + period + unit). Real (time-skipping)
server. The dying worker's unfinished attempts fail, as a lost attempt does when its timeout (60 s) passes."""
from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from temporalio import activity
from temporalio.worker import Worker

from activities.billing import BillingActivities
from db.billing_models import BillingRunRow, InvoiceBasisRow, InvoiceLineRow
from domain.billing import BillingRunStart, UnitBasisRequest, billing_workflow_id
from tests.billing.helpers import add_rental
from worker import WORKFLOWS, all_activities, build_worker
from workflows.billing import BillingRunWorkflow


async def test_bl5_worker_killed_mid_run_new_worker_finishes_without_duplicates(env, sessions, settings, executor):
    with sessions.begin() as s:
        for order, unit, amount, model, category in (
                ("K-1", "UL-KS", "420.00", "LAT-5450", "workstation"), ("K-2", "UL-BUF", "360.00", "OPT-7020", "workstation"),
                ("K-3", "UL-SBF", "45.00", "P2425", "screen"), ("K-4", "UL-IT", "310.00", "TP-E14", "teacher_computer")):
            add_rental(s, order, unit, date(2026, 1, 1), amount=amount, model=model, category=category)
    real = BillingActivities(sessions)
    calls, done, two_stored = 0, 0, asyncio.Event()

    @activity.defn(name="billing.store_basis")
    async def store_then_die(request: UnitBasisRequest):
        nonlocal calls, done
        calls += 1
        if calls > 2:  # the worker dies here: these attempts fail (as a lost attempt does at its timeout)
            raise RuntimeError("worker process killed")
        stored = await asyncio.to_thread(real.store_basis, request)
        done += 1
        if done == 2:
            two_stored.set()
        return stored

    activities = [a for a in all_activities(env.client, sessions, settings)
                  if getattr(a, "__temporal_activity_definition").name != "billing.store_basis"]
    doomed = Worker(env.client, task_queue=settings.temporal_task_queue, workflows=WORKFLOWS,
                    activities=[*activities, store_then_die], activity_executor=executor,
                    max_cached_workflows=0)  # no sticky queue: a dead worker keeps no workflow task
    run = asyncio.create_task(doomed.run())
    handle = await env.client.start_workflow(
        BillingRunWorkflow.run, BillingRunStart(municipality="ulricehamn", period="2026-03"),
        id=billing_workflow_id("ulricehamn", "2026-03"), task_queue=settings.temporal_task_queue)
    await asyncio.wait_for(two_stored.wait(), 30)
    with sessions() as s:
        assert s.scalar(select(func.count(InvoiceBasisRow.id))) == 2  # half-way: two bases stored
        assert s.get(BillingRunRow, handle.id).status == "collecting"
    await doomed.shutdown()  # the worker is gone; the run's history and the two stored bases stay
    await run
    async with build_worker(env.client, sessions, settings, executor=executor):  # a new worker, same queue
        result = await handle.result()
    assert len(result.bases) == 5  # UL-KS, UL-BUF, UL-SBF, UL-IT and UL-VOF (its application, AG-6)
    with sessions() as s:
        per_unit = s.execute(select(InvoiceBasisRow.unit_id, func.count()).group_by(InvoiceBasisRow.unit_id)).all()
        assert sorted(n for _, n in per_unit) == [1] * 5
        keys = s.execute(select(InvoiceLineRow.basis_id, InvoiceLineRow.key)).all()
        assert len(keys) == len(set(keys)) == 5
        totals = dict(s.execute(select(InvoiceBasisRow.unit_id, InvoiceBasisRow.total)).all())
        assert (totals["UL-KS"], totals["UL-BUF"], totals["UL-SBF"], totals["UL-IT"]) == (
            Decimal("420.00"), Decimal("360.00"), Decimal("45.00"), Decimal("310.00"))
        assert s.get(BillingRunRow, handle.id).status == "published"
        assert sum(totals.values()) == result.total
