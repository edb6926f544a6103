"""Issue 15: a renewal's model and the unit's notice come from one local step (`renewals.order_replacement`),
before the replacement starts; what the unit and the register see is unchanged (rule EQ-5)."""
from __future__ import annotations

from sqlalchemy import select

from db.models import OutboxMessage
from domain.equipment import Deliver, RenewNow, device_workflow_id
from tests.equipment_helpers import act, order_device, until


async def test_eq5_renewal_notice_names_the_chosen_model_once(client, worker, sessions):
    handle = await order_device(client, worker.task_queue, "ORD-EQ5-ONE")
    await act(handle, Deliver(serial_number="SN-ONE"))
    state = await act(handle, RenewNow(), reason="broken beyond repair")
    assert state.state == "renewal_due" and state.replacement_order == "ORD-EQ5-ONE-R1"
    child = await until(client.get_workflow_handle(device_workflow_id("ORD-EQ5-ONE-R1")),
                        lambda v: v.state == "called_off")
    assert child.state == "called_off" and child.replaces == "ORD-EQ5-ONE"
    with sessions() as s:
        notices = s.scalars(select(OutboxMessage).where(OutboxMessage.topic == "renewal",
                                                        OutboxMessage.workflow_id == device_workflow_id("ORD-EQ5-ONE"))).all()
    assert len(notices) == 1
    assert notices[0].recipient == "unit:TR-KS" and notices[0].subject == "ORD-EQ5-ONE is due for renewal"
    assert notices[0].body == (f"Replacement ORD-EQ5-ONE-R1 ({child.model_code}) is ordered; "
                               f"the old device is returned on delivery.")
