"""Issue 11 on a real dev server (visibility queries need it): an auditor finds processes by the typed
search attributes, which the worker's start registers idempotently."""
from __future__ import annotations

import asyncio
import uuid

from temporalio.testing import WorkflowEnvironment

from activities.audit import ensure_search_attributes
from config import Settings
from domain.equipment import Cancel
from tests.conftest import TEST_DATA_CONVERTER, binary
from tests.equipment.helpers import act, order_device
from worker import build_worker


async def test_auditor_finds_a_cancelled_device_by_search_attributes(sessions, database_url, executor):
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=binary("temporal"),
                                                data_converter=TEST_DATA_CONVERTER, ui=False)
    try:
        client = env.client
        assert len(await ensure_search_attributes(client, "default")) == 5
        assert await ensure_search_attributes(client, "default") == []  # the next worker start adds nothing
        settings = Settings(database_url=database_url, temporal_task_queue=f"sa-{uuid.uuid4()}")
        async with build_worker(client, sessions, settings, executor=executor):
            for number in ("ORD-SA-1", "ORD-SA-2"):
                await order_device(client, settings.temporal_task_queue, number)
            await act(client.get_workflow_handle("device-ORD-SA-1"), Cancel())
            query = ('RamflowProcessType = "DeviceLifecycle" AND RamflowState = "cancelled" '
                     'AND RamflowMunicipality = "tranemo"')
            found: list[str] = []
            for _ in range(100):  # visibility is eventually consistent
                found = [w.id async for w in client.list_workflows(query)]
                if found:
                    break
                await asyncio.sleep(0.1)
            assert found == ["device-ORD-SA-1"]
    finally:
        await env.shutdown()


async def test_continued_run_is_archived_and_the_chain_runs_on(sessions, database_url, executor):
    """Continue-as-new archives the finished run's history first (the dev server suggests it after a few
    events here); the next run carries on the same audit log and hash chain."""
    import gzip
    import json

    from sqlalchemy import select
    from temporalio.client import WorkflowHistory
    from temporalio.worker import Replayer

    from db.audit_chain import verify
    from db.audit_models import HistoryArchive
    from domain.equipment import Deliver, Reassign
    from worker import WORKFLOWS

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"), data_converter=TEST_DATA_CONVERTER, ui=False,
        dev_server_extra_args=["--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=60"])
    try:
        client = env.client
        await ensure_search_attributes(client, "default")
        settings = Settings(database_url=database_url, temporal_task_queue=f"can-{uuid.uuid4()}")
        async with build_worker(client, sessions, settings, executor=executor):
            handle = await order_device(client, settings.temporal_task_queue, "ORD-CAN-A")
            first_run = (await handle.describe()).run_id
            await act(handle, Deliver(serial_number="SN-CAN"))
            for i in range(12):
                latest = client.get_workflow_handle("device-ORD-CAN-A")
                await act(latest, Reassign(location=f"Rum {i}"))
            for _ in range(100):
                with sessions() as s:
                    rows = s.scalars(select(HistoryArchive).where(HistoryArchive.reason == "continued_as_new")).all()
                if rows:
                    break
                await asyncio.sleep(0.1)
            assert rows and rows[0].run_id == first_run
            assert (await client.get_workflow_handle("device-ORD-CAN-A").describe()).run_id != first_run
            history = WorkflowHistory.from_json(rows[0].workflow_id, json.loads(gzip.decompress(rows[0].history_gz)))
            replayed = await Replayer(workflows=WORKFLOWS, data_converter=TEST_DATA_CONVERTER).replay_workflow(history)
            assert replayed.replay_failure is None
            with sessions() as s:
                report = verify(s)
            assert report["intact"] and report["checked"]["device_transitions"] == 4 + 12
    finally:
        await env.shutdown()
