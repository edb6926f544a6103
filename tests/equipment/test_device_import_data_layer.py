"""The device import's tables on SQLite and PostgreSQL (issue 22): the stored import and its rows, the
progress view, and the renewal safety net leaving a device alone until its slot in the spread wave (EQ-5)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from activities.equipment import EquipmentActivities
from db.billing_queries import due_for_renewal
from db.import_queries import pending_rows, progress, record_outcomes, reference, store_import
from domain.device_import import read_table, spread_renewals, validate
from domain.device_import_job import import_workflow_id
from domain.device_register import RegisterMirror, RegisterOrderInput
from domain.equipment import DeviceOrder
from domain.process import TransitionRecord
from tests.equipment.import_helpers import register_csv, row

NOW = datetime(2027, 3, 10, 9, 0, tzinfo=timezone.utc)
TODAY = NOW.date()


def in_use(backend_sessions, number: str, delivered: date) -> None:
    """A device in use in the register, as the lifecycle's activities leave it."""
    acts = EquipmentActivities(backend_sessions)
    order = DeviceOrder(order_number=number, model_code="LAT-5450", unit_id="TR-KS")
    acts.register_order(RegisterOrderInput(workflow_id=f"device-{number}", order=order, ordered_at=NOW))
    record = TransitionRecord(seq=1, at=NOW, event="activate", from_state="delivered", to_state="in_use",
                              actor="it.anna", reason="import from register.csv", rule="EQ-1", details={})
    acts.mirror_transition(RegisterMirror(
        order_number=number, record=record, unit_id="TR-KS", cost_bearer_unit_id="TR-KS", user_ref=None,
        location=None, serial_number=f"SN-{number}", delivered_at=datetime.combine(delivered, datetime.min.time(),
                                                                                  tzinfo=timezone.utc),
        renewal_months=48, replaced_by=None))


def test_eq5_stored_import_progress_and_safety_net_respects_spread_slots(backend_sessions):
    rows = [row(f"D-{i}", TODAY - timedelta(days=6 * 365 + i), model="LAT-5450") for i in range(3)]
    content = register_csv(rows)
    import_id = "a" * 64
    with backend_sessions.begin() as s:
        validated = validate(read_table(content), reference(s, TODAY), TODAY, TODAY)
        slots = spread_renewals(validated.reports, NOW, 30, per_day=2)
        store_import(s, import_id, "register.csv", "it.anna", TODAY, False, validated, slots, NOW)
    assert list(slots) == [2]  # the youngest of three overdue devices (row 2: D-0) waits a day
    with backend_sessions() as s:
        assert [r.row for r in pending_rows(s, import_id, 0, 10)] == [2, 3, 4]
        assert [r.row for r in pending_rows(s, import_id, 2, 10)] == [3, 4]  # resumes after the last chunk
    for i in range(3):
        in_use(backend_sessions, f"D-{i}", TODAY - timedelta(days=6 * 365 + i))
    with backend_sessions.begin() as s:
        record_outcomes(s, import_id, {2: ("started", None), 3: ("started", None), 4: ("failed", "why")})
    with backend_sessions() as s:
        seen = progress(s, import_id, 10, 0)
        assert (seen.rows, seen.done, seen.failed, seen.remaining) == (3, 2, 1, 0)
        assert seen.workflow_id == import_workflow_id(import_id) and seen.status == "running"
        assert sorted(n for n, _ in due_for_renewal(s, TODAY, 30)) == ["D-1", "D-2"]  # D-0: not before its slot
        assert sorted(n for n, _ in due_for_renewal(s, TODAY + timedelta(days=1), 30)) == ["D-0", "D-1", "D-2"]
