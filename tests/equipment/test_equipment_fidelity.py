"""Rule fidelity of the equipment lifecycle (issue 9): behaviours that disagreed with the framework
assignment, each named after its rule, on the time-skipping server with real activities."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError

from db.models import Charge, DeviceTransition
from domain.catalogue import CatalogueModel, Category
from domain.equipment import (
    Deliver, GiveNotice, OfferBuyout, Reassign, RecordErasure, RenewNow, ReturnDevice, SendToErasure,
    device_workflow_id,
)
from tests.equipment.helpers import act, order_device, until, view


def test_eq3_student_computer_life_is_agreed_per_municipality_not_48_months():
    # Ulricehamn renews student computers after 36 months (EQ-5); the 48-month floor is for
    # workstations, printers/copiers and screens only
    model = CatalogueModel(code="CB-36", name="Chromebook", category=Category.STUDENT_COMPUTER,
                           expected_life_months=36, warranty_months=24, agreement_ref="ADDA-KLIENT-2023")
    assert model.expected_life_months == 36
    for category in (Category.WORKSTATION, Category.PRINTER, Category.SCREEN):
        with pytest.raises(ValueError, match="EQ-3"):
            CatalogueModel(code="SHORT", name="x", category=category, expected_life_months=36, warranty_months=24,
                           agreement_ref="A")


def _open_charges(sessions, number: str) -> list[str]:
    with sessions() as s:
        return [c.unit_id for c in s.scalars(select(Charge).where(
            Charge.order_number == number, Charge.recurring.is_(True), Charge.ends_on.is_(None)))]


async def test_eq8_bl6_device_returned_under_notice_stays_charged_until_reassigned(client, worker, sessions):
    handle = await order_device(client, worker.task_queue, "ORD-EQ8-F1")
    await act(handle, Deliver(serial_number="SN-F1"))
    await act(handle, GiveNotice(), reason="staff cut")
    state = await act(handle, ReturnDevice(), reason="left at the IT office")
    assert state.state == "returned_under_notice" and state.cost_bearer_unit_id == "TR-KS"
    assert _open_charges(sessions, "ORD-EQ8-F1") == ["TR-KS"]
    state = await act(handle, Reassign(unit_id="TR-SOC", user_ref="E7001"))
    assert state.state == "in_use" and state.cost_bearer_unit_id == "TR-SOC"
    assert _open_charges(sessions, "ORD-EQ8-F1") == ["TR-SOC"]


async def test_eq8_device_returned_under_notice_stays_charged_until_the_term_ends(client, worker, env, sessions):
    handle = await order_device(client, worker.task_queue, "ORD-EQ8-F2")
    await act(handle, Deliver(serial_number="SN-F2"))
    await act(handle, GiveNotice())
    await act(handle, ReturnDevice())
    await env.sleep(timedelta(days=400))
    assert (await view(handle)).cost_bearer_unit_id == "TR-KS"
    await env.sleep(timedelta(days=48 * 31 - 400 + 2))
    state = await until(handle, lambda v: v.state == "returned")
    assert state.state == "returned" and state.cost_bearer_unit_id is None and state.log[-1].event == "end_rental"
    assert _open_charges(sessions, "ORD-EQ8-F2") == []


async def test_eq11_early_return_is_not_a_buyout_case(client, worker):
    handle = await order_device(client, worker.task_queue, "ORD-EQ11-F1", user_ref="E5011")
    await act(handle, Deliver(serial_number="SN-F11"))
    await act(handle, ReturnDevice(), reason="returned the day it was delivered")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await act(handle, OfferBuyout(price=Decimal("1500.00")))
    assert "EQ-11" in str(refused.value.cause) and "rental has ended" in str(refused.value.cause)
    assert (await view(handle)).state == "returned"


async def test_eq12_certificate_must_come_from_the_vendor_the_device_was_sent_to(client, worker):
    handle = await order_device(client, worker.task_queue, "ORD-EQ12-F1")
    await act(handle, Deliver(serial_number="SN-F12"))
    await act(handle, ReturnDevice())
    await act(handle, SendToErasure(vendor="Inrego AB"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await act(handle, RecordErasure(vendor="Certus Datadestruktion AB", certificate_id="C-9"))
    assert "EQ-12" in str(refused.value.cause) and "vendor the device was sent to" in str(refused.value.cause)
    assert (await view(handle)).state == "awaiting_erasure"
    assert (await act(handle, RecordErasure(vendor="Inrego AB", certificate_id="INR-1"))).state == "erased"


async def test_eq5_replacement_of_a_laptop_is_a_laptop(client, worker):
    handle = await order_device(client, worker.task_queue, "ORD-EQ5-F1", model_code="LAT-5450")
    await act(handle, Deliver(serial_number="SN-F5"))
    await act(handle, RenewNow())
    child = await view(client.get_workflow_handle(device_workflow_id("ORD-EQ5-F1-R1")))
    assert child.model_code == "LAT-5450"  # not the OptiPlex desktop


async def test_eq5_it_may_choose_another_kind_for_the_replacement(client, worker):
    handle = await order_device(client, worker.task_queue, "ORD-EQ5-F2", model_code="LAT-5450")
    await act(handle, Deliver(serial_number="SN-F52"))
    state = await act(handle, RenewNow(model_code="OPT-7020"), reason="the user now sits at a fixed desk")
    assert state.log[-1].details["model_code"] == "OPT-7020"
    child = await view(client.get_workflow_handle(device_workflow_id("ORD-EQ5-F2-R1")))
    assert child.model_code == "OPT-7020"


async def test_eq13_mdm_enrolment_is_in_the_device_view_and_audit_log(client, worker, sessions):
    handle = await order_device(client, worker.task_queue, "ORD-EQ13-F1", model_code="IPAD-10")
    state = await act(handle, Deliver(serial_number="SN-IPAD"))
    assert state.mdm_profile == "standard-tablet" and state.mdm_enrolled_at is not None
    activate = next(r for r in state.log if r.event == "activate")
    assert activate.details["mdm_profile"] == "standard-tablet"
    with sessions() as s:
        rows = s.scalars(select(DeviceTransition).where(DeviceTransition.order_number == "ORD-EQ13-F1")).all()
        assert any((r.details or {}).get("mdm_profile") == "standard-tablet" for r in rows)
