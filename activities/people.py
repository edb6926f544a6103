"""The leaver process's steps (workflows/people.py; issue 22, rules EQ-7, EQ-11)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from db.models import Device
from db.people_models import DeviceReturnFlag
from db.ticket_models import Ticket
from domain.common import SYSTEM_ACTOR
from domain.equipment import ACTIVE_STATES, BUYOUT_OFFERED, DeclineBuyout, DeviceCommand, DeviceSnapshot
from domain.people import LeaverStart, leaver_workflow_id
from domain.tickets import TICKET
from workflows.people import FLAG_DEVICES, LAPSE_BUYOUT_OFFERS, OPEN_TICKETS


class PeopleActivities:
    """Holds the Temporal client: lapsing an offer is an event on the device's own process."""

    def __init__(self, client: Client, sessions: sessionmaker[Session]) -> None:
        self.client = client
        self.sessions = sessions

    @FLAG_DEVICES.defn
    def flag_devices_for_return(self, start: LeaverStart) -> list[str]:
        """Rule EQ-7: each device in use by the leaver is flagged for return to its unit (once; a retry or a
        second run flags nothing twice). The order numbers flagged, earlier ones included."""
        with self.sessions.begin() as s:
            devices = s.scalars(select(Device).where(Device.user_ref == start.employee_ref,
                                                     Device.state.in_(ACTIVE_STATES)).order_by(Device.order_number))
            numbers = []
            for device in devices:
                numbers.append(device.order_number)
                if s.get(DeviceReturnFlag, device.order_number) is None:
                    s.add(DeviceReturnFlag(order_number=device.order_number, employee_ref=start.employee_ref,
                                           unit_id=device.unit_id, flagged_at=start.at,
                                           workflow_id=leaver_workflow_id(start.employee_ref)))
            return numbers

    @LAPSE_BUYOUT_OFFERS.defn
    async def lapse_buyout_offers(self, start: LeaverStart) -> list[str]:
        """Rule EQ-11: an open buyout offer to the leaver lapses: the system declines it on the device's process
        (the device becomes available to other buyers), once per device (the update id)."""
        from workflows.equipment import DeviceLifecycleWorkflow

        with self.sessions() as s:
            offered = list(s.execute(select(Device.order_number, Device.workflow_id)
                                     .where(Device.state == BUYOUT_OFFERED).order_by(Device.order_number)))
        lapsed = []
        for number, workflow_id in offered:
            handle = self.client.get_workflow_handle(workflow_id)
            try:
                snapshot = await handle.query(DeviceLifecycleWorkflow.snapshot, result_type=DeviceSnapshot)
                if snapshot.buyout is None or snapshot.buyout.buyer_ref != start.employee_ref:
                    continue
                await handle.execute_update(
                    DeviceLifecycleWorkflow.apply,
                    DeviceCommand(actor=SYSTEM_ACTOR, reason=f"the buyer {start.employee_ref} left: the offer lapses",
                                  action=DeclineBuyout()),
                    id=f"{leaver_workflow_id(start.employee_ref)}:{number}")
                lapsed.append(number)
            except (WorkflowUpdateFailedError, RPCError) as error:  # answered or moved on meanwhile
                activity.logger.info("buyout offer on %s not lapsed: %s", number, error)
        return lapsed

    @OPEN_TICKETS.defn
    def open_tickets(self, start: LeaverStart) -> list[str]:
        """Their open tickets stay with the unit they were reported for (nothing moves); the manager is told."""
        with self.sessions() as s:
            return list(s.scalars(select(Ticket.number).where(
                Ticket.reporter_ref == start.employee_ref, Ticket.state.not_in(TICKET.final_states))
                .order_by(Ticket.number)))

    def all(self) -> list:
        return [self.flag_devices_for_return, self.lapse_buyout_offers, self.open_tickets]
