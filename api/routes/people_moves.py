"""Movers (issue 22, rules EQ-7/EQ-8): when the directory moves a person to another unit (SCIM `department`),
their devices in use follow only when the old unit's manager confirms; the cost bearer changes from that day
(the device's `reassign` event, whose charge change is dated the day it is recorded)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import access
from api.deps import ActorDep, Limit, Offset, PrincipalDep, ProcessDep, SessionDep
from db.models import Device
from db.people_models import PersonMove
from domain.equipment import DeviceCommand, Reassign, device_workflow_id
from workflows.equipment import DeviceLifecycleWorkflow

router = APIRouter(tags=["people"])
MoveId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the move's id (GET /people-moves)")]


class MoveView(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    employee_ref: str
    from_unit_id: str
    to_unit_id: str
    requested_at: datetime
    state: str
    devices: list[str]
    confirmed_by: str | None
    confirmed_at: datetime | None


@router.get("/people-moves", response_model=list[MoveView])
def moves(session: SessionDep, principal: PrincipalDep, state: str | None = "pending", limit: Limit = 200,
          offset: Offset = 0) -> list[PersonMove]:
    """Moves waiting for (or given) the old unit's confirmation; a unit manager sees their unit's."""
    query = select(PersonMove).order_by(PersonMove.id).limit(limit).offset(offset)
    if (seen := access.visible(principal, PersonMove.from_unit_id)) is not None:
        query = query.where(seen)
    if state is not None:
        query = query.where(PersonMove.state == state)
    return list(session.scalars(query))


@router.post("/people-moves/{move_id}/confirm", response_model=MoveView, responses={404: {}, 503: {}})
async def confirm(move_id: MoveId, actor: ActorDep, path: ProcessDep, principal: PrincipalDep) -> MoveView:
    """The old unit's manager confirms: each device still in use by the person in the old unit is reassigned to
    the new unit (EQ-7), charged to it from today (EQ-8). Repeating the call changes nothing."""
    def load(session: Session) -> tuple[MoveView, list[str]]:
        move = session.get(PersonMove, move_id)
        if move is None or (not access.sees_everything(principal) and principal.unit != move.from_unit_id):
            raise HTTPException(404, f"move_id: no move {move_id}")  # another unit's move is not shown
        still = list(session.scalars(select(Device.order_number).where(
            Device.order_number.in_(move.devices), Device.unit_id == move.from_unit_id,
            Device.user_ref == move.employee_ref)))
        return MoveView.model_validate(move), still

    move, devices = await path.db(load)
    if move.state == "confirmed":
        return move
    for number in sorted(devices):
        command = DeviceCommand(actor=actor, action=Reassign(unit_id=move.to_unit_id),
                                reason=f"{move.employee_ref} moved to {move.to_unit_id}; confirmed by the manager of "
                                       f"{move.from_unit_id} (move {move.id})")
        try:
            await path.apply(device_workflow_id(number), DeviceLifecycleWorkflow.apply, command,
                             f"order_number: no device {number!r}", update_id=f"person-move-{move.id}-{number}")
        except HTTPException as error:
            if error.status_code != 409:  # a device that moved on meanwhile (returned, renewal due) stays
                raise

    def done(session: Session) -> MoveView:
        row = session.get(PersonMove, move_id)
        assert row is not None
        row.state, row.confirmed_by, row.confirmed_at = "confirmed", actor, datetime.now(timezone.utc)
        session.commit()
        return MoveView.model_validate(row)

    return await path.db(done)
