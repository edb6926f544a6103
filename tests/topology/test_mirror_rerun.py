"""Issue 15 (found by the topology test): a worker killed after a local activity but before its workflow task
completed leaves an audit line whose time the history never kept; the task's rerun on another worker carries a
later time. The audit lines are append-only (issue 11: hash chain, triggers), so the mirror keeps the first
write, and the consistency check reports the difference as rerun drift, not as an altered record."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from activities.equipment import EquipmentActivities
from db.models import DeviceTransition
from domain.audit import RERUN_DRIFT, log_drift, only_rerun_drift
from domain.device_register import RegisterMirror
from domain.process import TransitionRecord
from tests.equipment.test_equipment_data_layer import NOW, register


def mirror(at, reason: str) -> RegisterMirror:
    record = TransitionRecord(seq=1, at=at, event="reassign", from_state="in_use", to_state="in_use",
                              actor="it.anna", reason=reason, rule="EQ-7", details={"unit_id": "TR-KS -> TR-SOC"})
    return RegisterMirror(order_number="ORD-DB-1", record=record, unit_id="TR-SOC", cost_bearer_unit_id="TR-SOC",
                          user_ref="E2", location=None, serial_number="S", delivered_at=NOW, renewal_months=48,
                          replaced_by=None)


def test_eq7_rerun_of_a_lost_workflow_task_keeps_the_first_line_and_reports_rerun_drift(backend_sessions):
    acts = EquipmentActivities(backend_sessions)
    register(acts)
    acts.mirror_transition(mirror(NOW, "moved"))  # the dead worker's attempt
    kept = NOW + timedelta(seconds=10)  # the rerun after the workflow task timeout: a later workflow.now()
    acts.mirror_transition(mirror(kept, "moved"))
    acts.mirror_transition(mirror(kept, "moved"))  # an ordinary retry of the same record changes nothing
    with backend_sessions() as s:
        assert s.scalar(select(func.count()).select_from(DeviceTransition)) == 1
        line = s.scalars(select(DeviceTransition)).one()
        assert (line.seq, line.at, line.reason) == (1, NOW, "moved")  # append-only: never updated
    truth = [mirror(kept, "moved").record.model_dump()]
    drift = log_drift(truth, [mirror(NOW, "moved").record.model_dump()])
    assert [d["problem"] for d in drift] == [RERUN_DRIFT] and only_rerun_drift(drift)
    altered = log_drift(truth, [mirror(NOW, "tampered").record.model_dump()])
    assert not only_rerun_drift(altered) and {d["problem"] for d in altered} == {"at differs", "reason differs"}
