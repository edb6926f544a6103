"""A worker process is SIGKILLed in the middle of a billing run; a new worker finishes the run with the
same bases as an uninterrupted run of the same register and no duplicate lines (rule BL-5, idempotent by
municipality + period + unit). Real (time-skipping) server, reachable by the worker process; the killed
worker's attempts are lost and retried when their start-to-close timeout (60 s, skipped) passes."""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from db.billing_models import BillingRunRow, InvoiceBasisRow, InvoiceLineRow
from db.session import make_sessionmaker
from domain.billing import BillingRunStart, billing_workflow_id
from tests.billing.helpers import add_rental, bill, move
from worker import build_worker
from workflows.billing import BillingRunWorkflow

ROOT = Path(__file__).resolve().parents[2]


def register(sessions) -> None:
    with sessions.begin() as s:
        for i, (unit, amount, model, category) in enumerate((
                ("UL-KS", "420.00", "LAT-5450", "workstation"), ("UL-BUF", "360.00", "OPT-7020", "workstation"),
                ("UL-SBF", "45.00", "P2425", "screen"), ("UL-IT", "310.00", "TP-E14", "teacher_computer"),
                ("UL-KS", "45.00", "P2425", "screen"), ("UL-BUF", "420.00", "LAT-5450", "workstation"))):
            add_rental(s, f"K-{i}", unit, date(2026, 1, 1) if i % 2 else date(2026, 3, 10), amount=amount,
                       model=model, category=category)
        move(s, "K-1", "UL-IT", date(2026, 3, 16))  # split between two units mid-month (EQ-7)


def what_was_billed(sessions) -> dict:
    """Each unit's basis as a unit manager reads it: total, change section and lines (no ids or times)."""
    with sessions() as s:
        out = {}
        for basis in s.scalars(select(InvoiceBasisRow)):
            lines = s.execute(select(InvoiceLineRow.key, InvoiceLineRow.text, InvoiceLineRow.quantity,
                                     InvoiceLineRow.amount).where(InvoiceLineRow.basis_id == basis.id)
                              .order_by(InvoiceLineRow.key)).all()
            out[basis.unit_id] = (basis.total, basis.changes, [tuple(line) for line in lines])
        return out


async def wait_for_bases(sessions, count: int, process: subprocess.Popen) -> None:
    for _ in range(600):
        with sessions() as s:
            if s.scalar(select(func.count(InvoiceBasisRow.id))) >= count:
                return
        assert process.poll() is None, "the worker process ended on its own"
        await asyncio.sleep(0.1)
    raise AssertionError(f"the worker process did not store {count} bases in 60 s")


async def test_bl5_worker_process_killed_mid_run_new_worker_finishes_without_duplicates(
        env, sessions, settings, executor, database_url, tmp_path):
    register(sessions)
    untouched = tmp_path / "uninterrupted.db"
    sessions.kw["bind"].dispose()  # checkpoints SQLite's write-ahead log into the file copied
    shutil.copy(database_url.removeprefix("sqlite:///"), untouched)  # the same register, for the reference run

    t0 = time.monotonic()
    target = env.client.service_client.config.target_host
    process = subprocess.Popen([sys.executable, "-m", "tests.billing.worker_process", target,
                                settings.model_dump_json(), "2"], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        handle = await env.client.start_workflow(
            BillingRunWorkflow.run, BillingRunStart(municipality="ulricehamn", period="2026-03"),
            id=billing_workflow_id("ulricehamn", "2026-03"), task_queue=settings.temporal_task_queue)
        print("started", time.monotonic() - t0)
        await wait_for_bases(sessions, 2, process)
        print("two stored", time.monotonic() - t0)
        with sessions() as s:
            assert s.get(BillingRunRow, handle.id).status == "collecting"  # half-way: two bases stored
        process.send_signal(signal.SIGKILL)  # no shutdown: its running attempts are simply lost
        assert process.wait(10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
    async with build_worker(env.client, sessions, settings, executor=executor):  # a new worker, same queue
        result = await handle.result()

    reference = make_sessionmaker(f"sqlite:///{untouched}")
    other_queue = settings.model_copy(update={"temporal_task_queue": f"test-{uuid.uuid4()}"})
    async with build_worker(env.client, reference, other_queue, executor=executor):
        await bill(env.client, other_queue.temporal_task_queue, "ulricehamn", "2026-03")  # uninterrupted
    assert len(result.bases) == 5  # UL-KS, UL-BUF, UL-SBF, UL-IT and UL-VOF (its application, AG-6)
    assert what_was_billed(sessions) == what_was_billed(reference)
    with sessions() as s:
        per_unit = s.execute(select(InvoiceBasisRow.unit_id, func.count()).group_by(InvoiceBasisRow.unit_id)).all()
        assert sorted(n for _, n in per_unit) == [1] * 5
        keys = s.execute(select(InvoiceLineRow.basis_id, InvoiceLineRow.key)).all()
        assert len(keys) == len(set(keys))
        assert s.get(BillingRunRow, handle.id).status == "published"
        assert sum(s.scalars(select(InvoiceBasisRow.total))) == result.total
    reference.kw["bind"].dispose()
