"""Helpers the equipment tests share: order a device, send it events (the act/view/until pattern of
tests/helpers.py on the device lifecycle), and follow a device through the API."""
from __future__ import annotations

from temporalio.client import Client, WorkflowHandle

from domain.equipment import DeviceCommand, DeviceOrder, DeviceStart, device_workflow_id
from tests.helpers import Process, poll, start
from workflows.equipment import DeviceLifecycleWorkflow

DEVICE = Process(DeviceLifecycleWorkflow.apply, DeviceCommand, DeviceLifecycleWorkflow.view)
act, view, until = DEVICE.act, DEVICE.view, DEVICE.until


async def order_device(client: Client, task_queue: str, order_number: str, model_code: str = "LAT-5450",
                       unit_id: str = "TR-KS", user_ref: str | None = "E5001", **extra) -> WorkflowHandle:
    order = DeviceOrder(order_number=order_number, model_code=model_code, unit_id=unit_id, user_ref=user_ref, **extra)
    return await start(client, DeviceLifecycleWorkflow.run, DeviceStart(order=order), device_workflow_id(order_number),
                       task_queue, ready=DeviceLifecycleWorkflow.registered)


async def until_state(api, number: str, state: str, seconds: float = 15.0) -> dict:
    """Poll the API until the device is in `state` (its children start asynchronously); its view."""
    body = await poll(api, f"/devices/{number}", lambda device: device.get("state") == state, seconds)
    assert body.get("state") == state, f"device {number} never reached {state!r}: {body}"
    return body


async def returned_at_replacement(api, number: str) -> None:
    """Rule EQ-11: a buyout case only once the rental has ended, at hardware replacement: renew now,
    deliver the replacement, and the old device is returned."""
    renewed = await api.post(f"/devices/{number}/events", json={"action": {"event": "renew_now"}})
    assert renewed.status_code == 200, renewed.text
    # at once, as the README does: an event that reaches the replacement while it is still being called off
    # waits for the call-off (workflows/base.py, `apply`)
    replacement = await api.post(f"/devices/{number}-R1/events",
                                 json={"action": {"event": "deliver", "serial_number": f"{number}-R1"}})
    assert replacement.status_code == 200, replacement.text
    await until_state(api, number, "returned")
