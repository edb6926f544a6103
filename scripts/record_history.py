"""Record a device lifecycle's event history as JSON for the replay test.

Run only when a deliberate, versioned (workflow.patched) change is made:
    .venv/bin/python -m scripts.record_history tests/workflows/histories/device_renewal_buyout.json
The replay test then proves that today's workflow code still replays yesterday's histories."""
from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from config import Settings
from db.migrate import upgrade
from db.seed import load_reference_data
from db.session import make_sessionmaker
from domain.equipment import (
    AcceptBuyout, DeviceCommand, DeviceOrder, DeviceStart, Deliver, GiveNotice, OfferBuyout, RecordErasure,
    SendToErasure, WithdrawNotice, device_workflow_id,
)
from worker import build_worker
from workflows.equipment import DeviceLifecycleWorkflow


async def record(target: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/ramflow.db"
        upgrade(url)
        sessions = make_sessionmaker(url)
        load_reference_data(sessions, 2026)
        settings = Settings(database_url=url, temporal_task_queue="record-history")
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=pydantic_data_converter, test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"))
        async with env, build_worker(env.client, sessions, settings):
            client = env.client
            order = DeviceOrder(order_number="ORD-HIST-1", model_code="LAT-5450", unit_id="TR-KS", user_ref="E5001")
            handle = await client.start_workflow(DeviceLifecycleWorkflow.run, DeviceStart(order=order),
                                                 id=device_workflow_id("ORD-HIST-1"), task_queue="record-history")
            await handle.execute_update(DeviceLifecycleWorkflow.registered)

            async def act(action) -> None:
                await handle.execute_update(DeviceLifecycleWorkflow.apply, DeviceCommand(actor="it.anna", action=action))

            await act(Deliver(serial_number="SN-H"))
            await act(GiveNotice())
            await act(WithdrawNotice())
            await env.sleep(timedelta(days=48 * 31))
            while (await handle.query(DeviceLifecycleWorkflow.view)).replacement_order is None:
                await asyncio.sleep(0.05)
            child = client.get_workflow_handle(device_workflow_id("ORD-HIST-1-R1"))
            await child.execute_update(DeviceLifecycleWorkflow.apply,
                                       DeviceCommand(actor="it.anna", action=Deliver(serial_number="SN-H2")))
            while (await handle.query(DeviceLifecycleWorkflow.view)).state != "returned":
                await asyncio.sleep(0.05)
            await act(OfferBuyout(price=Decimal("1200.00")))
            await act(AcceptBuyout())
            await act(SendToErasure(vendor="Inrego AB"))
            await act(RecordErasure(vendor="Inrego AB", certificate_id="CERT-H"))
            await handle.result()
            history = await handle.fetch_history()
            target.write_text(history.to_json())
            await child.terminate("recorded")
        sessions.kw["bind"].dispose()


if __name__ == "__main__":
    asyncio.run(record(Path(sys.argv[1])))
