"""The reorganisation process's steps (workflows/reorganisations.py; issue 22, rules EQ-7, EQ-8)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from db.agreement_models import AgreementRow
from db.models import Device
from db.reorganisation_queries import move_ticket_units
from db.ticket_models import ServiceRequest, Ticket
from domain.equipment import DeviceCommand, Reassign, device_workflow_id
from domain.reorganisations import ItemResult, MoveChunk, ReorgStart, reorg_workflow_id
from domain.service_requests import REQUEST_FINAL
from domain.tickets import TICKET
from workflows.reorganisations import AGREEMENTS_OF_UNIT, DEVICES_OF_UNIT, MOVE_DEVICES, MOVE_TICKETS

# the device states a merge moves (rule EQ-7: the states `reassign` is allowed from)
MOVABLE = ("in_use", "notice_given", "returned_under_notice")


def refusal(error: Exception) -> str:
    """Why a process refused the move (its business message), for the per-item result."""
    cause = getattr(error, "cause", None)
    return str(getattr(cause, "message", None) or getattr(error, "message", None) or error)


class ReorganisationActivities:
    """Holds the Temporal client: each move is an event on the device's own process."""

    def __init__(self, client: Client, sessions: sessionmaker[Session]) -> None:
        self.client = client
        self.sessions = sessions

    @DEVICES_OF_UNIT.defn
    def devices_of_unit(self, start: ReorgStart) -> list[str]:
        """The closing unit's devices that are charged to it (in use, under notice)."""
        with self.sessions() as s:
            return list(s.scalars(select(Device.order_number).where(
                Device.unit_id == start.unit_id, Device.state.in_(MOVABLE)).order_by(Device.order_number)))

    @MOVE_DEVICES.defn
    async def move_devices(self, chunk: MoveChunk) -> list[ItemResult]:
        """Rules EQ-7/EQ-8: each device's `reassign` to the target (charged to it from today, the merge date).
        The update id is per reorganisation and device, so a retried attempt moves nothing twice."""
        from workflows.equipment import DeviceLifecycleWorkflow

        start = chunk.start
        details = activity.info().heartbeat_details  # a retried attempt resumes after the last device reported
        done = list(details[0]) if details else []
        results = [ItemResult.model_validate(item) for item in done]
        for number in chunk.order_numbers[len(results):]:
            command = DeviceCommand(actor=start.actor, action=Reassign(unit_id=start.target),
                                    reason=f"{start.unit_id} merged into {start.target} from {start.on} "
                                           f"({reorg_workflow_id(start.reorg_id)}): {start.reason}")
            try:
                await self.client.get_workflow_handle(device_workflow_id(number)).execute_update(
                    DeviceLifecycleWorkflow.apply, command, id=f"{reorg_workflow_id(start.reorg_id)}:{number}")
                results.append(ItemResult(key=number, outcome="moved"))
            except (WorkflowUpdateFailedError, RPCError) as error:  # returned or ended meanwhile: it stays
                results.append(ItemResult(key=number, outcome="refused", detail=refusal(error)))
            activity.heartbeat([r.model_dump() for r in results])
        return results

    @MOVE_TICKETS.defn
    def move_tickets(self, start: ReorgStart) -> list[ItemResult]:
        """The closing unit's open tickets and service requests move to the target unit in the register (no
        unit-change event: each move is a reference change, db/reorganisation_queries.py)."""
        with self.sessions.begin() as s:
            numbers = list(s.scalars(select(Ticket.number).where(
                Ticket.unit_id == start.unit_id, Ticket.state.not_in(TICKET.final_states)).order_by(Ticket.number)))
            moved = move_ticket_units(s, numbers, start.target, start.actor,
                                      f"{reorg_workflow_id(start.reorg_id)}: {start.reason}", TICKET.final_states)
            numbers = list(s.scalars(select(ServiceRequest.number).where(
                ServiceRequest.unit_id == start.unit_id, ServiceRequest.state.not_in(REQUEST_FINAL))
                .order_by(ServiceRequest.number)))
            moved |= move_ticket_units(s, numbers, start.target, start.actor,
                                       f"{reorg_workflow_id(start.reorg_id)}: {start.reason}", REQUEST_FINAL,
                                       ServiceRequest)
        return [ItemResult(key=n, outcome="moved" if why is None else "refused", detail=why) for n, why in moved.items()]

    @AGREEMENTS_OF_UNIT.defn
    def agreements_of_unit(self, start: ReorgStart) -> list[str]:
        """Rule AG-4: the closing unit's agreements not terminated, for their next revision (not rewritten)."""
        with self.sessions() as s:
            return list(s.scalars(select(AgreementRow.id).where(
                AgreementRow.unit_id == start.unit_id, AgreementRow.status != "terminated").order_by(AgreementRow.id)))

    def all(self) -> list:
        return [self.devices_of_unit, self.move_devices, self.move_tickets, self.agreements_of_unit]
