"""The inventory register and the side-effect records on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, inspect, select
from temporalio.exceptions import ApplicationError

from activities.equipment import EquipmentActivities
from activities.outbox import OutboxActivities
from db.models import Charge, Device, DeviceTransition, OutboxMessage, PriceRow, SalaryDeduction
from db.seed import load_reference_data
from domain.common import Notification
from domain.device_register import CostBearerChange, RegisterMirror, RegisterOrderInput
from domain.equipment import BuyoutCompletion, DeviceOrder, ErasureRequest
from domain.process import TransitionRecord

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)


def register(acts: EquipmentActivities, number: str = "ORD-DB-1", model: str = "LAT-5450", unit: str = "TR-KS"):
    order = DeviceOrder(order_number=number, model_code=model, unit_id=unit, user_ref="E1")
    return acts.register_order(RegisterOrderInput(workflow_id=f"device-{number}", order=order, ordered_at=NOW))


def test_migrations_create_every_table(backend_sessions, backend_url):
    tables = set(inspect(backend_sessions.kw["bind"]).get_table_names())
    assert {"devices", "device_transitions", "charges", "outbox", "applied_effects", "prices"} <= tables


def test_reference_data_loads_once(backend_sessions):
    assert load_reference_data(backend_sessions, 2026) is False
    with backend_sessions() as s:
        assert s.get(PriceRow, (2026, "IPHONE-15")).purchase_price == Decimal("8995.00")


def test_eq1_register_order_is_idempotent(backend_sessions):
    acts = EquipmentActivities(backend_sessions)
    first, again = register(acts), register(acts)
    assert first == again and first.renewal_months == 48 and first.municipality == "tranemo"
    with backend_sessions() as s:
        assert s.scalar(select(func.count()).select_from(Device)) == 1


def test_eq1_register_refuses_unknown_unit_without_writing(backend_sessions):
    acts = EquipmentActivities(backend_sessions)
    with pytest.raises(ApplicationError) as refused:
        register(acts, unit="NOPE")
    assert refused.value.non_retryable and "unit_id" in str(refused.value)
    with backend_sessions() as s:
        assert s.scalar(select(func.count()).select_from(Device)) == 0


def test_eq7_mirror_transition_is_idempotent_per_seq(backend_sessions):
    acts = EquipmentActivities(backend_sessions)
    register(acts)
    record = TransitionRecord(seq=1, at=NOW, event="reassign", from_state="in_use", to_state="in_use",
                              actor="it.anna", reason="moved", rule="EQ-7", details={"unit_id": "TR-KS -> TR-SOC"})
    mirror = RegisterMirror(order_number="ORD-DB-1", record=record, unit_id="TR-SOC", cost_bearer_unit_id="TR-SOC",
                            user_ref="E2", location="Rådhuset", serial_number="S", delivered_at=NOW,
                            renewal_months=48, replaced_by=None)
    acts.mirror_transition(mirror)
    acts.mirror_transition(mirror)
    with backend_sessions() as s:
        assert s.scalar(select(func.count()).select_from(DeviceTransition)) == 1
        device = s.get(Device, "ORD-DB-1")
        assert (device.unit_id, device.user_ref, device.location) == ("TR-SOC", "E2", "Rådhuset")
        assert s.scalars(select(DeviceTransition)).one().details == {"unit_id": "TR-KS -> TR-SOC"}


def test_eq6_eq8_cost_bearer_periods_open_and_close_once(backend_sessions):
    acts = EquipmentActivities(backend_sessions)
    register(acts)
    deliver = CostBearerChange(key="device-ORD-DB-1:3:cost", order_number="ORD-DB-1", unit_id="TR-KS",
                               on=date(2026, 3, 10), delivery=True)
    acts.change_cost_bearer(deliver)
    acts.change_cost_bearer(deliver)  # a retried activity books nothing twice
    acts.change_cost_bearer(CostBearerChange(key="device-ORD-DB-1:5:cost", order_number="ORD-DB-1",
                                             unit_id="TR-SOC", on=date(2026, 6, 1)))
    acts.change_cost_bearer(CostBearerChange(key="device-ORD-DB-1:7:cost", order_number="ORD-DB-1",
                                             unit_id=None, on=date(2026, 9, 1)))
    with backend_sessions() as s:
        rows = s.scalars(select(Charge).order_by(Charge.id)).all()
        assert [(c.unit_id, c.amount, c.starts_on, c.ends_on) for c in rows] == [
            ("TR-KS", Decimal("420.00"), date(2026, 3, 10), date(2026, 6, 1)),
            ("TR-SOC", Decimal("420.00"), date(2026, 6, 1), date(2026, 9, 1)),
        ]


def test_eq4_access_point_installation_is_charged_once_at_delivery(backend_sessions):
    acts = EquipmentActivities(backend_sessions)
    register(acts, "ORD-DB-AP", model="AP-U6")
    change = CostBearerChange(key="k-ap", order_number="ORD-DB-AP", unit_id="TR-KS", on=date(2026, 3, 10),
                              delivery=True)
    acts.change_cost_bearer(change)
    with backend_sessions() as s:
        kinds = sorted((c.kind, c.amount, c.recurring) for c in s.scalars(select(Charge)))
        assert kinds == [("installation", Decimal("1450.00"), False), ("rent", Decimal("85.00"), True)]


def test_eq11_eq12_buyout_completion_needs_certificate_then_deducts_once(backend_sessions):
    acts = EquipmentActivities(backend_sessions)
    register(acts)
    completion = BuyoutCompletion(order_number="ORD-DB-1", employee_ref="E1", amount=Decimal("1234.50"),
                                  original_os="Windows 11 Pro", at=NOW)
    with pytest.raises(ApplicationError) as refused:
        acts.complete_buyout(completion)
    assert refused.value.type == "NotCertified"
    acts.order_erasure(ErasureRequest(order_number="ORD-DB-1", vendor="Inrego AB", at=NOW))
    acts.record_erasure_certificate(ErasureRequest(order_number="ORD-DB-1", vendor="Inrego AB",
                                                   certificate_id="C-9", at=NOW))
    acts.complete_buyout(completion)
    acts.complete_buyout(completion)
    with backend_sessions() as s:
        assert s.scalar(select(func.count()).select_from(SalaryDeduction)) == 1
        assert s.get(SalaryDeduction, "ORD-DB-1").amount == Decimal("1234.50")


def test_notifications_are_written_once_per_key(backend_sessions):
    acts = OutboxActivities(backend_sessions)
    note = Notification(key="device-X:3:notify:delivered", topic="delivered", recipient="unit:TR-KS",
                        subject="s", body="b", workflow_id="device-X", at=NOW)
    acts.notify(note)
    acts.notify_before_patch(note)  # the name histories from before neutral-notify-activity call
    with backend_sessions() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 1
