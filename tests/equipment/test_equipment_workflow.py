"""The device lifecycle on the time-skipping server, with real activities on a real database."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from db.models import CallOff, Charge, Device, DeviceTransition, ErasureRecord, MdmEnrolment, OutboxMessage, SalaryDeduction
from domain.equipment import (
    AcceptBuyout,
    DeclineBuyout,
    Deliver,
    GiveNotice,
    OfferBuyout,
    Reassign,
    RecordErasure,
    RecordPoliceReport,
    ReportStolen,
    Sell,
    SendToErasure,
    Settle,
    device_workflow_id,
)
from tests.equipment.helpers import act, order_device, until, view


async def test_eq1_eq2_order_is_registered_and_called_off_under_its_agreement(client, worker, sessions):
    handle = await order_device(client, worker.task_queue, "ORD-EQ1-1")
    state = await view(handle)
    assert state.state == "called_off"
    assert [r.event for r in state.log] == ["order", "call_off"]
    with sessions() as s:
        device = s.get(Device, "ORD-EQ1-1")
        assert device is not None and device.state == "called_off" and device.agreement_ref == "ADDA-KLIENT-2023"
        assert s.get(CallOff, "ORD-EQ1-1").reference == "AVROP-ADDA-KLIENT-2023-ORD-EQ1-1"


async def test_eq6_delivered_device_is_charged_to_the_ordering_unit(client, worker, sessions):
    handle = await order_device(client, worker.task_queue, "ORD-EQ6-1")
    state = await act(handle, Deliver(serial_number="SN-1"))
    assert state.state == "in_use" and state.cost_bearer_unit_id == "TR-KS"
    with sessions() as s:
        charges = s.scalars(select(Charge).where(Charge.order_number == "ORD-EQ6-1")).all()
        assert [(c.unit_id, c.kind, c.amount, c.ends_on) for c in charges] == [("TR-KS", "rent", Decimal("420.00"), None)]


async def test_eq13_phone_is_enrolled_in_mdm_and_charged_purchase_plus_fee(client, worker, sessions):
    handle = await order_device(client, worker.task_queue, "ORD-EQ13-1", model_code="IPHONE-15")
    await act(handle, Deliver(serial_number="IMEI-1"))
    with sessions() as s:
        assert s.get(MdmEnrolment, "ORD-EQ13-1").profile == "standard-mobile_phone"
        kinds = sorted((c.kind, c.amount) for c in s.scalars(select(Charge).where(Charge.order_number == "ORD-EQ13-1")))
        assert kinds == [("purchase", Decimal("8995.00")), ("service_fee", Decimal("95.00"))]


async def test_eq8_notice_keeps_cost_until_reassigned(client, worker, sessions):
    handle = await order_device(client, worker.task_queue, "ORD-EQ8-1")
    await act(handle, Deliver(serial_number="SN-8"))
    state = await act(handle, GiveNotice(), reason="staff cut")
    assert state.state == "notice_given" and state.cost_bearer_unit_id == "TR-KS"
    state = await act(handle, Reassign(unit_id="TR-SOC", user_ref="E7001"))
    assert state.state == "in_use" and state.cost_bearer_unit_id == "TR-SOC"
    with sessions() as s:
        rows = s.scalars(select(Charge).where(Charge.order_number == "ORD-EQ8-1").order_by(Charge.id)).all()
        assert [(c.unit_id, c.ends_on is None) for c in rows] == [("TR-KS", False), ("TR-SOC", True)]
        assert s.scalar(select(OutboxMessage.topic).where(OutboxMessage.topic == "notice")) == "notice"


async def test_eq8_notice_without_reassignment_ends_with_the_rental_term(client, worker, env, sessions):
    handle = await order_device(client, worker.task_queue, "ORD-EQ8-2")
    await act(handle, Deliver(serial_number="SN-82"))
    await act(handle, GiveNotice())
    await env.sleep(timedelta(days=48 * 31 + 2))
    state = await until(handle, lambda v: v.state == "returned")
    assert state.state == "returned" and state.cost_bearer_unit_id is None
    assert state.log[-1].event == "end_rental" and state.log[-1].actor == "ramflow"


async def test_eq5_renewal_orders_replacement_and_returns_old_device(client, worker, env, sessions):
    handle = await order_device(client, worker.task_queue, "ORD-EQ5-1")
    delivered = await act(handle, Deliver(serial_number="SN-5"))
    due = delivered.renewal_due_at
    assert due is not None and due.date() > delivered.delivered_at.date().replace(year=delivered.delivered_at.year + 3)
    await env.sleep(timedelta(days=47 * 30))
    assert (await view(handle)).state == "in_use"
    await env.sleep(due - await env.get_current_time() + timedelta(hours=1))
    old = await until(handle, lambda v: v.replacement_order is not None)
    assert old.state == "renewal_due" and old.replacement_order == "ORD-EQ5-1-R1"
    child = client.get_workflow_handle(device_workflow_id("ORD-EQ5-1-R1"))
    child_state = await view(child)
    assert child_state.state == "called_off" and child_state.replaces == "ORD-EQ5-1"
    await act(child, Deliver(serial_number="SN-5B"))
    old = await until(handle, lambda v: v.state == "returned")
    assert old.state == "returned" and old.cost_bearer_unit_id is None
    assert (await view(child)).cost_bearer_unit_id == "TR-KS"


async def test_eq11_buyout_by_own_user_with_erasure_reinstall_and_salary_deduction(client, worker, env, sessions):
    handle = await order_device(client, worker.task_queue, "ORD-EQ11-1", user_ref="E5011")
    await act(handle, Deliver(serial_number="SN-11"))
    await env.sleep(timedelta(days=48 * 31))
    await until(handle, lambda v: v.replacement_order is not None)
    child = client.get_workflow_handle(device_workflow_id("ORD-EQ11-1-R1"))
    await act(child, Deliver(serial_number="SN-11B"))
    assert (await until(handle, lambda v: v.state == "returned")).state == "returned"
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await act(handle, OfferBuyout(price=Decimal("1500.00"), buyer_ref="E9999"))
    assert "first offered to its own user" in str(refused.value.cause)
    state = await act(handle, OfferBuyout(price=Decimal("1500.00")))
    assert state.state == "buyout_offered" and state.buyout.buyer_ref == "E5011"
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await act(handle, AcceptBuyout(), actor="it.anna")
    assert refused.value.cause.type == "Forbidden" and "E5011" in str(refused.value.cause)
    await act(handle, AcceptBuyout(), actor="E5011")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await act(handle, SendToErasure(vendor="Billig Skrot HB"))
    assert "not a certified erasure vendor" in str(refused.value.cause)
    assert (await view(handle)).state == "buyout_accepted"
    await act(handle, SendToErasure(vendor="Inrego AB"))
    state = await act(handle, RecordErasure(vendor="Inrego AB", certificate_id="CERT-77"))
    assert state.state == "sold_to_employee"
    with sessions() as s:
        assert s.get(ErasureRecord, "ORD-EQ11-1").reinstalled_os == "Windows 11 Pro"
        deduction = s.get(SalaryDeduction, "ORD-EQ11-1")
        assert (deduction.employee_ref, deduction.amount) == ("E5011", Decimal("1500.00"))


async def test_eq11_declined_buyout_opens_it_to_other_employees_and_times_out(client, worker, env):
    handle = await order_device(client, worker.task_queue, "ORD-EQ11-2", user_ref="E5012")
    await act(handle, Deliver(serial_number="SN-112"))
    await env.sleep(timedelta(days=48 * 31))
    await until(handle, lambda v: v.replacement_order is not None)
    await act(client.get_workflow_handle(device_workflow_id("ORD-EQ11-2-R1")), Deliver(serial_number="X"))
    await until(handle, lambda v: v.state == "returned")
    await act(handle, OfferBuyout(price=Decimal("900.00")))
    assert (await act(handle, DeclineBuyout(), actor="E5012")).state == "available_for_buyout"
    state = await act(handle, OfferBuyout(price=Decimal("900.00"), buyer_ref="E6000", answer_days=7))
    assert state.buyout.buyer_ref == "E6000"
    await env.sleep(timedelta(days=8))
    state = await until(handle, lambda v: v.state == "available_for_buyout")
    assert state.state == "available_for_buyout" and state.log[-1].event == "buyout_expired"


async def test_eq11_only_computers_can_be_bought_out(client, worker, sessions):
    handle = await order_device(client, worker.task_queue, "ORD-EQ11-3", model_code="P2425")
    await act(handle, Deliver(serial_number="SCR"))
    from domain.equipment import ReturnDevice

    await act(handle, ReturnDevice())
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await act(handle, OfferBuyout(price=Decimal("100.00")))
    assert "only computers can be bought out" in str(refused.value.cause)


async def test_eq12_no_sale_without_erasure_certificate(client, worker):
    handle = await order_device(client, worker.task_queue, "ORD-EQ12-1")
    await act(handle, Deliver(serial_number="SN-12"))
    from domain.equipment import ReturnDevice

    await act(handle, ReturnDevice())
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await act(handle, Sell(buyer="Inrego AB", price=Decimal("800.00")))
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "IllegalTransition"
    assert "'sell' is not allowed in state 'returned'" in str(cause)
    await act(handle, SendToErasure(vendor="Certus Datadestruktion AB"))
    await act(handle, RecordErasure(vendor="Certus Datadestruktion AB", certificate_id="C-1"))
    assert (await act(handle, Sell(buyer="Inrego AB", price=Decimal("800.00")))).state == "sold"


async def test_eq9_theft_needs_police_report_before_settlement(client, worker, sessions):
    handle = await order_device(client, worker.task_queue, "ORD-EQ9-1")
    await act(handle, Deliver(serial_number="SN-9"))
    state = await act(handle, ReportStolen(), reason="break-in at the school")
    assert state.state == "stolen" and state.cost_bearer_unit_id is None
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await act(handle, Settle(settlement="insurance pays"))
    assert "police-report reference" in str(refused.value.cause)
    await act(handle, RecordPoliceReport(police_report_ref="5000-K123456-26"))
    assert (await act(handle, Settle(settlement="insurance pays", amount=Decimal("5000")))).state == "settled"
    with sessions() as s:
        events = s.scalars(select(DeviceTransition.event).where(DeviceTransition.order_number == "ORD-EQ9-1")
                           .order_by(DeviceTransition.seq)).all()
        assert events[-3:] == ["report_stolen", "record_police_report", "settle"]


async def test_eq1_order_can_be_cancelled_before_delivery_and_is_never_charged(client, worker, sessions):
    from domain.equipment import Cancel

    handle = await order_device(client, worker.task_queue, "ORD-EQ1-2")
    assert (await act(handle, Cancel(), reason="ordered twice")).state == "cancelled"
    with sessions() as s:
        assert s.scalars(select(Charge).where(Charge.order_number == "ORD-EQ1-2")).all() == []
        assert s.get(Device, "ORD-EQ1-2").state == "cancelled"


async def test_eq10_worn_out_tablet_is_erased_and_recycled(client, worker, sessions):
    from domain.equipment import Recycle, ReturnDevice

    handle = await order_device(client, worker.task_queue, "ORD-EQ10-1", model_code="IPAD-10")
    await act(handle, Deliver(serial_number="TAB"))
    await act(handle, ReturnDevice(), reason="worn out")
    await act(handle, SendToErasure(vendor="Inrego AB"))
    await act(handle, RecordErasure(vendor="Inrego AB", certificate_id="C-T"))
    assert (await act(handle, Recycle())).state == "recycled"


async def test_eq14_short_term_laptop_is_charged_per_week_and_returns_to_the_pool(client, worker, env, sessions):
    handle = await order_device(client, worker.task_queue, "ORD-EQ14-1", model_code="LOAN-LAT", unit_id="TR-SOC",
                                rental_weeks=2)
    delivered = await act(handle, Deliver(serial_number="LOAN-7"))
    assert delivered.rental_end_at - delivered.delivered_at == timedelta(weeks=2)
    with sessions() as s:
        charges = s.scalars(select(Charge).where(Charge.order_number == "ORD-EQ14-1")).all()
        assert [(c.kind, c.amount, c.recurring) for c in charges] == [("short_term_rent", Decimal("500.00"), False)]
    await env.sleep(timedelta(weeks=2, hours=1))
    state = await until(handle, lambda v: v.state == "returned")
    assert state.state == "returned" and state.log[-1].event == "end_rental"


async def test_eq5_renew_now_orders_the_replacement_at_once(client, worker):
    from domain.equipment import RenewNow

    handle = await order_device(client, worker.task_queue, "ORD-EQ5-2")
    await act(handle, Deliver(serial_number="SN-52"))
    state = await act(handle, RenewNow(), reason="broken beyond repair")
    assert state.state == "renewal_due" and state.replacement_order == "ORD-EQ5-2-R1"
    child = await view(client.get_workflow_handle(device_workflow_id("ORD-EQ5-2-R1")))
    assert child.replaces == "ORD-EQ5-2" and child.log[0].actor == "ramflow"


async def test_eq5_changed_renewal_period_rearms_the_timer(client, worker, env):
    from domain.renewals import RenewalPeriodChange
    from workflows.equipment import DeviceLifecycleWorkflow

    handle = await order_device(client, worker.task_queue, "ORD-EQ5-3")
    await act(handle, Deliver(serial_number="SN-53"))
    changed = await handle.execute_update(DeviceLifecycleWorkflow.change_renewal_period,
                                          RenewalPeriodChange(actor="it.anna", renewal_months=12))
    assert changed.renewal_months == 12 and changed.log[-1].rule == "EQ-5"
    await env.sleep(timedelta(days=340))
    state = await until(handle, lambda v: v.state == "renewal_due")
    assert state.state == "renewal_due" and state.replacement_order == "ORD-EQ5-3-R1"


async def test_eq9_lost_device_leaves_billing_and_can_be_written_off(client, worker, sessions):
    from domain.equipment import ReportLost, WriteOff

    handle = await order_device(client, worker.task_queue, "ORD-EQ9-2")
    await act(handle, Deliver(serial_number="SN-92"))
    assert (await act(handle, ReportLost())).cost_bearer_unit_id is None
    assert (await act(handle, WriteOff())).state == "written_off"
    with sessions() as s:
        period = s.scalars(select(Charge).where(Charge.order_number == "ORD-EQ9-2")).one()
        assert period.ends_on is not None


async def test_eq5_continued_run_rebuilds_its_renewal_timer_from_the_snapshot(client, worker, env):
    """Continue-as-new hands the snapshot to a fresh run: the renewal date must survive it."""
    from domain.equipment import DeviceSnapshot, DeviceStart
    from workflows.equipment import DeviceLifecycleWorkflow

    handle = await order_device(client, worker.task_queue, "ORD-CAN-1")
    delivered = await act(handle, Deliver(serial_number="SN-C"))
    snapshot = await handle.query(DeviceLifecycleWorkflow.snapshot, result_type=DeviceSnapshot)
    await handle.terminate("simulating continue-as-new")
    resumed = await client.start_workflow(
        DeviceLifecycleWorkflow.run, DeviceStart(order=snapshot.order, snapshot=snapshot),
        id=device_workflow_id("ORD-CAN-1"), task_queue=worker.task_queue)
    state = await view(resumed)
    assert state.state == "in_use" and state.renewal_due_at == delivered.renewal_due_at
    assert [r.seq for r in state.log] == list(range(1, len(delivered.log) + 1))
    await env.sleep(delivered.renewal_due_at - await env.get_current_time() + timedelta(minutes=5))
    assert (await until(resumed, lambda v: v.state == "renewal_due")).log[-1].seq == len(delivered.log) + 1


async def test_eq2_event_sent_while_the_order_is_called_off_waits_for_the_call_off(client, worker):
    """Rules EQ-1/EQ-2: an event that reaches a device in its very first workflow task (Update-with-Start),
    while the order is still being registered and called off, is judged once the call-off is done: a
    delivery is taken, an event the called-off device does not allow is refused and changes nothing."""
    from temporalio.client import WithStartWorkflowOperation
    from temporalio.common import WorkflowIDConflictPolicy

    from domain.equipment import DeviceCommand, DeviceOrder, DeviceStart
    from workflows.equipment import DeviceLifecycleWorkflow

    def with_start(number: str) -> WithStartWorkflowOperation:
        order = DeviceOrder(order_number=number, model_code="LAT-5450", unit_id="TR-KS", user_ref="E5001")
        return WithStartWorkflowOperation(DeviceLifecycleWorkflow.run, DeviceStart(order=order),
                                          id=device_workflow_id(number), task_queue=worker.task_queue,
                                          id_conflict_policy=WorkflowIDConflictPolicy.FAIL)

    state = await client.execute_update_with_start_workflow(
        DeviceLifecycleWorkflow.apply, DeviceCommand(actor="it.anna", action=Deliver(serial_number="SN-EARLY")),
        start_workflow_operation=with_start("ORD-EQ2-EARLY"))
    assert state.state == "in_use"
    assert [r.event for r in state.log] == ["order", "call_off", "deliver", "activate"]

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await client.execute_update_with_start_workflow(
            DeviceLifecycleWorkflow.apply, DeviceCommand(actor="it.anna", action=Sell(buyer="x", price=Decimal("1"))),
            start_workflow_operation=with_start("ORD-EQ2-EARLY-2"))
    assert isinstance(refused.value.cause, ApplicationError) and "called_off" in str(refused.value.cause)
    state = await view(client.get_workflow_handle(device_workflow_id("ORD-EQ2-EARLY-2")))
    assert state.state == "called_off" and [r.event for r in state.log] == ["order", "call_off"]
