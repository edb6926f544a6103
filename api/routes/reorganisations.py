"""Reorganisations (issue 22, part 3; rules EQ-7, EQ-8): units created, renamed and merged from a date by
it-admin (each a reference change, the names kept in `unit_history`), a merge run as the durable process
`reorg-<id>` (workflows/reorganisations.py), and bulk moves of devices and tickets for IT staff."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError

from api.deps import ActorDep, IdempotencyKeyDep, ProcessDep, SettingsDep
from api.security import record_reference_change, row_dict
from db.models import Device, Municipality, Unit, UnitHistory
from db.reorganisation_queries import close_name, current_name, move_ticket_units, open_on
from domain.common import REF_PATTERN
from domain.equipment import DeviceCommand, Reassign, device_workflow_id
from domain.reorganisations import ItemResult, ReorgStart, merge_id, reorg_workflow_id
from domain.tickets import TICKET
from workflows.equipment import DeviceLifecycleWorkflow
from workflows.reorganisations import UnitReorganisationWorkflow

router = APIRouter(tags=["reorganisations"])
UnitId = Annotated[str, Path(pattern=REF_PATTERN, max_length=40, description="the unit's id")]
FIELDS = ("id", "municipality", "name", "manager_ref", "valid_from", "closed_on", "merged_into")


def today() -> date:
    return datetime.now(timezone.utc).date()


class UnitCreate(BaseModel):
    id: str = Field(pattern=REF_PATTERN, max_length=40)
    municipality: str = Field(max_length=40)
    name: str = Field(min_length=1, max_length=200)
    manager_ref: str | None = Field(None, pattern=REF_PATTERN)
    valid_from: date
    reason: str = Field(min_length=1, max_length=500)


class UnitRename(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    valid_from: date = Field(description="the new name applies from this day; earlier periods keep the old one")
    reason: str = Field(min_length=1, max_length=500)


class UnitMerge(BaseModel):
    on: date = Field(description="the unit closes this day; its devices are charged to the target from it (EQ-8)")
    reason: str = Field(min_length=1, max_length=500)


class UnitState(BaseModel):
    id: str
    municipality: str
    name: str
    manager_ref: str | None
    valid_from: date | None
    closed_on: date | None
    merged_into: str | None
    history: list[dict]
    workflow_id: str | None = None


class BulkReassign(BaseModel):
    unit_id: str = Field(pattern=REF_PATTERN, max_length=40)
    reason: str = Field(min_length=1, max_length=500)


class BulkDevices(BulkReassign):
    order_numbers: list[str] = Field(min_length=1, max_length=500)


class BulkTickets(BulkReassign):
    numbers: list[str] = Field(min_length=1, max_length=500)


def _state(s: Session, unit: Unit, workflow_id: str | None = None) -> UnitState:
    rows = s.query(UnitHistory).filter(UnitHistory.unit_id == unit.id).order_by(UnitHistory.id).all()
    return UnitState(**{f: getattr(unit, f) for f in FIELDS}, workflow_id=workflow_id,
                     history=[{"name": r.name, "valid_from": r.valid_from, "valid_to": r.valid_to} for r in rows])


def _unit(s: Session, unit_id: str, field: str = "unit_id") -> Unit:
    unit = s.get(Unit, unit_id)
    if unit is None:
        raise HTTPException(404, f"{field}: no unit {unit_id!r}")
    return unit


def refuse_closed(unit: Unit) -> None:
    """Nothing moves into a unit that does not exist today or is merged away (even from a later day)."""
    if not open_on(unit, today()) or unit.closed_on is not None:
        raise HTTPException(409, f"unit_id: {unit.id} is closed or closing (merged into {unit.merged_into} "
                                 f"on {unit.closed_on})")


@router.post("/units", response_model=UnitState, status_code=201, responses={409: {}, 422: {}})
async def create_unit(body: UnitCreate, actor: ActorDep, path: ProcessDep) -> UnitState:
    """A new unit from a date (a split: new units, then bulk moves)."""
    def create(s: Session) -> UnitState:
        if s.get(Municipality, body.municipality) is None:
            raise HTTPException(422, f"municipality: unknown municipality {body.municipality!r}")
        if s.get(Unit, body.id) is not None:
            raise HTTPException(409, f"id: unit {body.id!r} exists")
        unit = Unit(id=body.id, municipality=body.municipality, name=body.name, manager_ref=body.manager_ref,
                    valid_from=body.valid_from)
        s.add(unit)
        s.add(UnitHistory(unit_id=body.id, name=body.name, valid_from=body.valid_from))
        record_reference_change(s, actor, "unit", body.id, None, row_dict(unit, FIELDS), body.reason)
        s.commit()
        return _state(s, unit)
    return await path.db(create)


@router.put("/units/{unit_id}", response_model=UnitState, responses={404: {}, 409: {}, 422: {}})
async def rename_unit(unit_id: UnitId, body: UnitRename, actor: ActorDep, path: ProcessDep) -> UnitState:
    """A new name from a date; the history keeps the old one for earlier periods."""
    def rename(s: Session) -> UnitState:
        unit = _unit(s, unit_id)
        if not open_on(unit, body.valid_from):
            raise HTTPException(409, f"unit_id: {unit_id} does not exist on {body.valid_from}")
        latest = current_name(s, unit_id)
        if latest is not None and latest.valid_from is not None and body.valid_from <= latest.valid_from:
            raise HTTPException(409, f"valid_from: the name {latest.name!r} applies from {latest.valid_from}; a "
                                     f"new name starts after it (the history is not rewritten)")
        before = row_dict(unit, FIELDS)
        close_name(s, unit, body.valid_from)
        s.add(UnitHistory(unit_id=unit_id, name=body.name, valid_from=body.valid_from))
        if body.valid_from <= today():  # a future name shows from its day (the history holds it until then)
            unit.name = body.name
        record_reference_change(s, actor, "unit", unit_id, before,
                                row_dict(unit, FIELDS) | {"name": body.name, "name_from": body.valid_from},
                                body.reason)
        s.commit()
        return _state(s, unit)
    return await path.db(rename)


@router.post("/units/{unit_id}/merge-into/{target}", response_model=UnitState, status_code=202,
             responses={404: {}, 409: {}, 422: {}, 503: {}})
async def merge_unit(unit_id: UnitId, target: UnitId, body: UnitMerge, actor: ActorDep, path: ProcessDep,
                     settings: SettingsDep) -> UnitState:
    """The unit closes on `on`; from that day its devices, open tickets and costs move to `target` (process
    `reorg-<id>`). Invoice bases before the day stay with the old unit (charges end the day before). A
    repeated merge answers the same; a merge cannot be backdated (the periods before are invoiced)."""
    reorg = merge_id(unit_id, target, body.on)

    def check(s: Session) -> bool:
        unit, into = _unit(s, unit_id), _unit(s, target, "target")
        if unit.merged_into == target and unit.closed_on == body.on:
            return True  # the same merge again
        if unit.closed_on is not None:
            raise HTTPException(409, f"unit_id: {unit_id} closed on {unit.closed_on}")
        if target == unit_id or into.municipality != unit.municipality:
            raise HTTPException(422, "target: another unit of the same municipality")
        if not open_on(into, body.on):
            raise HTTPException(409, f"target: {target} does not exist on {body.on}")
        if body.on < today():
            raise HTTPException(422, f"on: {body.on} is past: a merge cannot be backdated (rule EQ-8: the cost "
                                     f"bearer changes from the day it is recorded)")
        return False

    repeated = await path.db(check)
    start = ReorgStart(reorg_id=reorg, unit_id=unit_id, target=target, on=body.on, actor=actor, reason=body.reason)
    try:
        await path.client.start_workflow(
            UnitReorganisationWorkflow.run, start, id=reorg_workflow_id(reorg), task_queue=settings.temporal_task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
    except RPCError as error:
        if not repeated:
            raise HTTPException(503, f"the reorganisation could not start: {error}",
                                headers={"Retry-After": str(settings.retry_after_seconds)}) from error

    def close(s: Session) -> UnitState:
        unit = _unit(s, unit_id)
        if not repeated:
            before = row_dict(unit, FIELDS)
            close_name(s, unit, body.on)
            unit.closed_on, unit.merged_into = body.on, target
            record_reference_change(s, actor, "unit", unit_id, before, row_dict(unit, FIELDS), body.reason)
            s.commit()
        return _state(s, unit, reorg_workflow_id(reorg))
    return await path.db(close)


@router.post("/devices/bulk-reassign", response_model=list[ItemResult], responses={404: {}, 409: {}, 422: {}})
async def bulk_reassign_devices(body: BulkDevices, actor: ActorDep, path: ProcessDep,
                                key: IdempotencyKeyDep) -> list[ItemResult]:
    """Rules EQ-7/EQ-8: each device's own `reassign` event (recorded in its log, charged to the unit from
    today); per device: moved, unchanged or refused with the reason. With an Idempotency-Key a retried request
    applies no event twice."""
    def load(s: Session) -> dict[str, str | None]:
        unit = _unit(s, body.unit_id)
        refuse_closed(unit)
        return {n: (d.unit_id if (d := s.get(Device, n)) is not None else None) for n in body.order_numbers}

    units = await path.db(load)
    results = []
    for number in dict.fromkeys(body.order_numbers):
        if units[number] is None:
            results.append(ItemResult(key=number, outcome="refused", detail=f"order_number: no device {number!r}"))
            continue
        if units[number] == body.unit_id:
            results.append(ItemResult(key=number, outcome="unchanged"))
            continue
        command = DeviceCommand(actor=actor, action=Reassign(unit_id=body.unit_id), reason=body.reason)
        try:
            await path.apply(device_workflow_id(number), DeviceLifecycleWorkflow.apply, command,
                             f"order_number: no device {number!r}",
                             update_id=f"bulk-{key}-{number}" if key else None)
            results.append(ItemResult(key=number, outcome="moved"))
        except HTTPException as error:  # this device's process refused (its state): the others go on
            results.append(ItemResult(key=number, outcome="refused", detail=str(error.detail)))
    return results


@router.post("/tickets/bulk-reassign", response_model=list[ItemResult], responses={404: {}, 409: {}, 422: {}})
async def bulk_reassign_tickets(body: BulkTickets, actor: ActorDep, path: ProcessDep) -> list[ItemResult]:
    """Open tickets move to the unit in the register (tickets have no unit-change event: each move is a
    reference change); per ticket: moved, unchanged or refused. Repeating the request changes nothing."""
    def move(s: Session) -> list[ItemResult]:
        unit = _unit(s, body.unit_id)
        refuse_closed(unit)
        moved = move_ticket_units(s, list(dict.fromkeys(body.numbers)), body.unit_id, actor, body.reason,
                                  TICKET.final_states)
        s.commit()
        return [ItemResult(key=n, outcome="moved" if why is None else "unchanged" if why == "unchanged"
                           else "refused", detail=None if why in (None, "unchanged") else why)
                for n, why in moved.items()]
    return await path.db(move)
