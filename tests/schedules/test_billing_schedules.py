"""Billing schedules on a real Temporal dev server (rules BL-2, BL-3, EQ-5): they exist with the
municipalities' calendars after the worker's start-up call, idempotently; the safety net renews a
device whose renewal is due but not pending."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from temporalio.client import ScheduleActionStartWorkflow, ScheduleRange

from config import Settings
from db.models import Device
from domain.equipment import Deliver
from tests.equipment.helpers import act, order_device, view
from worker import build_worker
from workflows.billing import RenewalSafetyNetWorkflow
from workflows.schedules import (
    BILLING_SCHEDULES,
    CENTRAL_COST_SCHEDULES,
    RENEWAL_SAFETY_NET_SCHEDULE,
    ensure_billing_schedules,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")


async def test_bl2_bl3_billing_schedules_exist_with_the_municipalities_calendars(dev_server):
    client = dev_server.client
    settings = Settings(temporal_task_queue="ramflow-billing-schedules")
    ids = await ensure_billing_schedules(client, settings)
    assert ids == await ensure_billing_schedules(client, settings)  # idempotent create-or-update
    assert set(ids) == {*BILLING_SCHEDULES.values(), *CENTRAL_COST_SCHEDULES.values(), RENEWAL_SAFETY_NET_SCHEDULE}

    ulricehamn = await client.get_schedule_handle(BILLING_SCHEDULES["ulricehamn"]).describe()
    [calendar] = ulricehamn.schedule.spec.calendars
    assert (list(calendar.day_of_month), list(calendar.hour)) == ([ScheduleRange(1)], [ScheduleRange(6)])
    assert ulricehamn.schedule.spec.jitter == timedelta(minutes=30)
    assert ulricehamn.schedule.spec.time_zone_name == "Europe/Stockholm"
    action = ulricehamn.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "BillingRun"
    upcoming = [t.astimezone(STOCKHOLM) for t in ulricehamn.info.next_action_times]
    assert all(t.day == 1 and t.hour == 6 for t in upcoming)  # jitter ≤ 30 min
    assert len({t.month for t in upcoming}) == len(upcoming)  # every month

    tranemo = await client.get_schedule_handle(BILLING_SCHEDULES["tranemo"]).describe()
    [calendar] = tranemo.schedule.spec.calendars
    assert list(calendar.month) == [ScheduleRange(1), ScheduleRange(5), ScheduleRange(9)]
    assert {t.astimezone(STOCKHOLM).month for t in tranemo.info.next_action_times} <= {1, 5, 9}

    central = await client.get_schedule_handle(CENTRAL_COST_SCHEDULES["tranemo"]).describe()
    [calendar] = central.schedule.spec.calendars
    assert (list(calendar.month), list(calendar.day_of_month)) == ([ScheduleRange(1)], [ScheduleRange(15)])
    assert "BL-3" in calendar.comment

    net = await client.get_schedule_handle(RENEWAL_SAFETY_NET_SCHEDULE).describe()
    assert net.schedule.action.workflow == "RenewalSafetyNet"
    times = net.info.next_action_times
    assert all(abs((b - a) - timedelta(days=1)) < timedelta(hours=1) for a, b in zip(times, times[1:]))  # daily


async def test_eq5_safety_net_renews_an_imported_device_whose_renewal_is_not_pending(dev_server, sessions, executor):
    client = dev_server.client
    settings = Settings(temporal_task_queue="ramflow-safety-net", database_url=str(sessions.kw["bind"].url))
    async with build_worker(client, sessions, settings, executor=executor):
        # a tablet: no renewal period in the policy, so its workflow waits for no renewal at all ...
        handle = await order_device(client, settings.temporal_task_queue, "ORD-NET-1", model_code="IPAD-10",
                                    unit_id="UL-KS")
        await act(handle, Deliver(serial_number="SN-NET"))
        with sessions.begin() as s:  # ... but the old register it came from says 12 months, delivered in 2024
            device = s.get(Device, "ORD-NET-1")
            device.renewal_months = 12
            device.delivered_at = datetime(2024, 1, 10, tzinfo=timezone.utc)
        renewed = await client.execute_workflow(RenewalSafetyNetWorkflow.run, id="safety-net-test-1",
                                                task_queue=settings.temporal_task_queue)
        assert renewed == ["ORD-NET-1"]
        state = await view(handle)
        assert state.state == "renewal_due" and state.replacement_order == "ORD-NET-1-R1"
        assert state.log[-1].actor == "ramflow" and "safety net" in (state.log[-1].reason or "")
        with sessions() as s:
            assert s.get(Device, "ORD-NET-1").state == "renewal_due"  # the register no longer lists it in use
        again = await client.execute_workflow(RenewalSafetyNetWorkflow.run, id="safety-net-test-2",
                                              task_queue=settings.temporal_task_queue)
        assert again == []  # idempotent: nothing is renewed twice
        for workflow_id in ("device-ORD-NET-1", "device-ORD-NET-1-R1"):
            await client.get_workflow_handle(workflow_id).terminate("test finished")
