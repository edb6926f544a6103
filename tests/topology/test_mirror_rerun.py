"""Issue 15 (found by the topology test): a worker killed after a local activity but before its workflow task
completed leaves an audit line the history never kept; the task's rerun on another worker carries the record
the history keeps, and the mirror must end equal to it (rule EQ-7: the register mirrors the workflow's log)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from activities.equipment import EquipmentActivities
from db.models import Device, DeviceTransition
from domain.equipment import RegisterMirror
from domain.process import TransitionRecord
from tests.db.test_data_layer import NOW, register


def mirror(at, reason: str) -> RegisterMirror:
    record = TransitionRecord(seq=1, at=at, event="reassign", from_state="in_use", to_state="in_use",
                              actor="it.anna", reason=reason, rule="EQ-7", details={"unit_id": "TR-KS -> TR-SOC"})
    return RegisterMirror(order_number="ORD-DB-1", record=record, unit_id="TR-SOC", cost_bearer_unit_id="TR-SOC",
                          user_ref="E2", location=None, serial_number="S", delivered_at=NOW, renewal_months=48,
                          replaced_by=None)


def test_eq7_rerun_of_a_lost_workflow_task_overwrites_the_mirrored_line_with_the_kept_record(backend_sessions):
    acts = EquipmentActivities(backend_sessions)
    register(acts)
    acts.mirror_transition(mirror(NOW, "moved"))  # the dead worker's attempt
    kept = NOW + timedelta(seconds=10)  # the rerun after the workflow task timeout: a later workflow.now()
    acts.mirror_transition(mirror(kept, "moved"))
    acts.mirror_transition(mirror(kept, "moved"))  # an ordinary retry of the same record changes nothing
    with backend_sessions() as s:
        assert s.scalar(select(func.count()).select_from(DeviceTransition)) == 1
        line = s.scalars(select(DeviceTransition)).one()
        assert (line.seq, line.at, line.reason) == (1, kept, "moved")
        assert s.get(Device, "ORD-DB-1").updated_at == kept
