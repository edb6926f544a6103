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


async def until_state(api, number: str, state: str, tries: int = 300) -> None:
    """Poll the API until the device is in `state` (its children start asynchronously)."""
    import asyncio

    for _ in range(tries):
        response = await api.get(f"/devices/{number}")
        if response.status_code == 200 and response.json()["state"] == state:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"device {number} never reached {state!r}")


async def returned_at_replacement(api, number: str) -> None:
    """Rule EQ-11: a buyout case only once the rental has ended, at hardware replacement: renew now,
    deliver the replacement, and the old device is returned."""
    renewed = await api.post(f"/devices/{number}/events", json={"action": {"event": "renew_now"}})
    assert renewed.status_code == 200, renewed.text
    await until_state(api, f"{number}-R1", "called_off")
    replacement = await api.post(f"/devices/{number}-R1/events",
                                 json={"action": {"event": "deliver", "serial_number": f"{number}-R1"}})
    assert replacement.status_code == 200, replacement.text
    await until_state(api, number, "returned")
