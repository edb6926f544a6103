"""Helpers the equipment tests share: start a device, send it events."""
from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client, WorkflowHandle

from domain.equipment import DeviceCommand, DeviceOrder, DeviceStart, DeviceView, device_workflow_id
from workflows.equipment import DeviceLifecycleWorkflow


async def order_device(client: Client, task_queue: str, order_number: str, model_code: str = "LAT-5450",
                       unit_id: str = "TR-KS", user_ref: str | None = "E5001", **extra) -> WorkflowHandle:
    order = DeviceOrder(order_number=order_number, model_code=model_code, unit_id=unit_id, user_ref=user_ref, **extra)

    handle = await client.start_workflow(
        DeviceLifecycleWorkflow.run, DeviceStart(order=order), id=device_workflow_id(order_number),
        task_queue=task_queue, execution_timeout=timedelta(days=3650),
    )
    await handle.execute_update(DeviceLifecycleWorkflow.registered)
    return handle


async def act(handle: WorkflowHandle, action, actor: str = "it.anna", reason: str | None = None) -> DeviceView:
    return await handle.execute_update(
        DeviceLifecycleWorkflow.apply, DeviceCommand(actor=actor, reason=reason, action=action)
    )


async def view(handle: WorkflowHandle) -> DeviceView:
    return await handle.query(DeviceLifecycleWorkflow.view)


async def until(handle: WorkflowHandle, predicate, seconds: float = 15.0) -> DeviceView:
    """Query until `predicate(view)` holds: a fired timer's work lands a moment after the clock moved."""
    import asyncio

    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while True:
        current = await view(handle)
        if predicate(current) or loop.time() > end:
            return current
        await asyncio.sleep(0.05)
