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
from tests.equipment_helpers import act, order_device
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
