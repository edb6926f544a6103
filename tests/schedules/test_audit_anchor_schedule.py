"""Issue 20: the audit chains' checkpoint is written by a Temporal Schedule (every
AUDIT_ANCHOR_INTERVAL_MINUTES) on a real dev server; a triggered run writes a signed checkpoint file."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import SecretStr
from temporalio.client import ScheduleActionStartWorkflow

from config import Settings
from db.audit_anchor import AnchorStore
from db.audit_chain import verify
from worker import build_worker
from workflows.schedules import AUDIT_ANCHOR_SCHEDULE, ensure_audit_anchor_schedule


async def test_audit_anchor_schedule_writes_a_signed_checkpoint(dev_server, sessions, executor, tmp_path):
    client = dev_server.client
    settings = Settings(temporal_task_queue="ramflow-anchor", database_url=str(sessions.kw["bind"].url),
                        audit_anchor_key=SecretStr("k" * 32), audit_anchor_dir=str(tmp_path / "anchors"),
                        audit_anchor_interval_minutes=15)
    assert await ensure_audit_anchor_schedule(client, settings) == [AUDIT_ANCHOR_SCHEDULE]
    handle = client.get_schedule_handle(AUDIT_ANCHOR_SCHEDULE)
    described = await handle.describe()
    assert [i.every for i in described.schedule.spec.intervals] == [timedelta(minutes=15)]
    assert isinstance(described.schedule.action, ScheduleActionStartWorkflow)
    assert described.schedule.action.workflow == "AuditAnchor"
    store = AnchorStore.from_settings(settings)
    async with build_worker(client, sessions, settings, executor=executor):
        await handle.trigger()
        for _ in range(400):
            if store.files():
                break
            await asyncio.sleep(0.05)
    [path] = store.files()
    assert store.read(path) is not None
    with sessions() as s:
        report = verify(s, store)
    assert report["intact"] and report["anchor"]["file"] == path.name
    await handle.delete()
