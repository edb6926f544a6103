"""A worker process is SIGKILLed in the middle of a device import (issue 22); a new worker finishes the job,
resuming after its last chunk, and each device is started once: one workflow, one audit log of four moves,
one charge period (rules EQ-1, EQ-6). Real (time-skipping) server, reachable by the worker process; the killed
worker's attempt is lost and retried when its heartbeat timeout (30 s) passes."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, select

from db.import_models import DeviceImportRowRecord
from db.import_queries import reference, store_import
from db.models import Charge, Device, DeviceTransition
from domain.device_import import file_id, read_table, spread_renewals, validate
from domain.device_import_job import ImportJob, import_workflow_id
from domain.equipment import device_workflow_id
from tests.equipment.import_helpers import register_csv, row, today, years_ago
from worker import build_worker
from workflows.device_import import DeviceImportWorkflow
from workflows.equipment import DeviceLifecycleWorkflow

ROOT = Path(__file__).resolve().parents[2]
DEVICES = 23  # four chunks of five and a last of three in the worker process


def commit_rows(sessions, content: bytes) -> str:
    """What `POST /imports/devices?dry_run=false` stores: the import and its validated rows."""
    import_id, now = file_id(content), datetime.now(timezone.utc)
    cutover = today().replace(day=1)
    with sessions.begin() as s:
        validated = validate(read_table(content), reference(s, cutover), today(), cutover)
        assert validated.errors == 0
        store_import(s, import_id, "register.csv", "it.anna", cutover, False, validated,
                     spread_renewals(validated.reports, now, 30, 50), now)
    return import_id


async def until_started(sessions, count: int, process: subprocess.Popen) -> None:
    for _ in range(600):
        with sessions() as s:
            if s.scalar(select(func.count()).select_from(Device)) >= count:
                return
        assert process.poll() is None, "the worker process ended on its own"
        await asyncio.sleep(0.1)
    raise AssertionError(f"the worker process did not start {count} devices in 60 s")


async def test_eq1_worker_killed_mid_import_new_worker_finishes_each_device_started_once(
        env, sessions, settings, executor):
    # screens: rented, no renewal timer, so skipping the clock past the lost attempt fires nothing else
    content = register_csv([row(f"K-{i:03d}", years_ago(1 + i % 3, days=i), model="P2425") for i in range(DEVICES)])
    import_id = commit_rows(sessions, content)
    target = env.client.service_client.config.target_host
    process = subprocess.Popen([sys.executable, "-m", "tests.equipment.import_worker_process", target,
                                settings.model_dump_json(), "12"], cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        handle = await env.client.start_workflow(
            DeviceImportWorkflow.run, ImportJob(import_id=import_id), id=import_workflow_id(import_id),
            task_queue=settings.temporal_task_queue)
        await until_started(sessions, 12, process)  # two chunks recorded, two devices of the third started
        with sessions() as s:
            outcomes = dict(s.execute(select(DeviceImportRowRecord.outcome, func.count())
                                      .group_by(DeviceImportRowRecord.outcome)).all())
        assert outcomes == {"started": 10, "pending": DEVICES - 10}
        process.send_signal(signal.SIGKILL)  # no shutdown: its running attempt is simply lost
        assert process.wait(10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
    async with build_worker(env.client, sessions, settings, executor=executor):  # a new worker, same queue
        summary = await handle.result()
        views = [await env.client.get_workflow_handle(device_workflow_id(f"K-{i:03d}")).query(
            DeviceLifecycleWorkflow.view) for i in range(DEVICES)]

    assert (summary.started, summary.failed, summary.unchanged) == (DEVICES, 0, 0)
    with sessions() as s:
        assert {o for o in s.scalars(select(DeviceImportRowRecord.outcome))} == {"started"}
        per_device = dict(s.execute(select(DeviceTransition.order_number, func.count())
                                    .group_by(DeviceTransition.order_number)).all())
        charges = dict(s.execute(select(Charge.order_number, func.count()).group_by(Charge.order_number)).all())
    assert per_device == {f"K-{i:03d}": 4 for i in range(DEVICES)}  # order, call_off, deliver, activate: once
    assert charges == {f"K-{i:03d}": 1 for i in range(DEVICES)}  # one rent period each
    for i, view in enumerate(views):
        assert view.state == "in_use" and [r.event for r in view.log] == ["order", "call_off", "deliver", "activate"]
        assert view.delivered_at.date() == years_ago(1 + i % 3, days=i)
