"""Orders, the inventory register and lifecycle events of devices (rules EQ-1 … EQ-14)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.equipment import InvalidOrder, resolve_terms
from api import access
from api.deps import ActorDep, ClientDep, PrincipalDep, SessionDep, SettingsDep
from api.errors import http_error
from db.models import Device, DeviceTransition, ErasureVendor, Unit
from domain.catalogue import Category
from domain.equipment import (
    DeviceAction,
    DeviceCommand,
    DeviceOrder,
    DeviceStart,
    DeviceView,
    RecordErasure,
    RenewalPeriodChange,
    SendToErasure,
    device_workflow_id,
)
from domain.process import TransitionRecord
from workflows.equipment import DeviceLifecycleWorkflow

router = APIRouter(tags=["equipment"])


class RegisterRow(BaseModel):
    """A row of the inventory register."""

    order_number: str
    model_code: str
    category: str
    municipality: str
    unit_id: str
    cost_bearer_unit_id: str | None
    user_ref: str | None
    location: str | None
    state: str
    serial_number: str | None
    ordered_at: datetime
    delivered_at: datetime | None
    renewal_months: int | None
    replaces: str | None
    replaced_by: str | None

    model_config = {"from_attributes": True}


class EventRequest(BaseModel):
    reason: str | None = Field(None, max_length=500, description="why: recorded in the audit log")
    action: DeviceAction


class RenewalPeriodRequest(BaseModel):
    renewal_months: int | None = Field(None, ge=1, le=120, description="null: no automatic renewal")
    reason: str | None = Field(None, max_length=500)


@router.post("/orders", status_code=status.HTTP_201_CREATED, response_model=DeviceView,
             responses={200: {"description": "the order already exists (repeated call)"}, 422: {}})
async def place_order(order: DeviceOrder, actor: ActorDep, client: ClientDep, session: SessionDep,
                      settings: SettingsDep, response: Response, principal: PrincipalDep) -> DeviceView:
    """Rule EQ-1: equipment is ordered through support; the order number is the idempotency key."""
    access.own_unit(principal, order.unit_id)
    handle = client.get_workflow_handle(device_workflow_id(order.order_number))
    if session.get(Device, order.order_number) is not None:
        response.status_code = status.HTTP_200_OK
        return await _view(handle, order.order_number)
    try:
        resolve_terms(session, order, datetime.now(timezone.utc))  # 422 before anything is written
    except InvalidOrder as error:
        raise HTTPException(422, str(error)) from error
    start = DeviceStart(order=order, renewal_lead_days=settings.renewal_lead_days,
                        buyout_answer_days=settings.buyout_answer_days, ordered_by=actor)
    try:
        handle = await client.start_workflow(
            DeviceLifecycleWorkflow.run, start, id=handle.id, task_queue=settings.temporal_task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        response.status_code = status.HTTP_200_OK
    return await handle.execute_update(DeviceLifecycleWorkflow.registered)


@router.get("/devices", response_model=list[RegisterRow])
def list_devices(
    session: SessionDep,
    principal: PrincipalDep,
    unit_id: str | None = None,
    user_ref: str | None = None,
    category: Category | None = None,
    state: str | None = None,
    cost_bearer_unit_id: str | None = None,
    municipality: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[Device]:
    """The inventory register, filtered (rule EQ-7: kept current by every transition)."""
    query = select(Device).order_by(Device.order_number)
    if (seen := access.visible(principal, Device.unit_id, Device.user_ref)) is not None:
        query = query.where(seen)
    filters = {"unit_id": unit_id, "user_ref": user_ref, "state": state,
               "cost_bearer_unit_id": cost_bearer_unit_id, "municipality": municipality,
               "category": category.value if category else None}
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(Device, name) == value)
    return list(session.scalars(query.limit(limit).offset(offset)))


@router.get("/devices/{order_number}", response_model=DeviceView)
async def get_device(order_number: str, client: ClientDep, session: SessionDep, principal: PrincipalDep) -> DeviceView:
    """The device's live state from its workflow, with allowed events, deadlines and transition log."""
    access.device(session, principal, order_number)
    return await _view(client.get_workflow_handle(device_workflow_id(order_number)), order_number)


@router.get("/devices/{order_number}/history", response_model=list[TransitionRecord])
def device_history(order_number: str, session: SessionDep, principal: PrincipalDep) -> list[TransitionRecord]:
    """The audit log as mirrored in the register: who did what, when, why, under which rule."""
    access.device(session, principal, order_number)
    if session.get(Device, order_number) is None:
        raise HTTPException(404, f"order_number: no device {order_number!r}")
    rows = session.scalars(select(DeviceTransition).where(DeviceTransition.order_number == order_number)
                           .order_by(DeviceTransition.seq))
    return [TransitionRecord.model_validate(row, from_attributes=True) for row in rows]


@router.post("/devices/{order_number}/events", response_model=DeviceView,
             responses={404: {}, 409: {"description": "the current state does not allow the event"}, 422: {}})
async def post_event(order_number: str, request: EventRequest, actor: ActorDep, client: ClientDep,
                     session: SessionDep, principal: PrincipalDep) -> DeviceView:
    """A lifecycle event: deliver, give_notice, reassign, report_stolen, offer_buyout, record_erasure, …"""
    action = request.action
    await access.device_event(session, client, principal, order_number, action)
    if isinstance(action, (SendToErasure, RecordErasure)):
        vendor = session.get(ErasureVendor, action.vendor)
        if vendor is None or not vendor.certified:
            raise HTTPException(422, f"action.vendor: {action.vendor!r} is not a certified erasure vendor (rule EQ-12)")
    unit_id = getattr(action, "unit_id", None)
    if unit_id is not None and session.get(Unit, unit_id) is None:
        raise HTTPException(422, f"action.unit_id: unknown unit {unit_id!r}")
    handle = client.get_workflow_handle(device_workflow_id(order_number))
    command = DeviceCommand(actor=actor, reason=request.reason, action=action)
    try:
        return await handle.execute_update(DeviceLifecycleWorkflow.apply, command)
    except (WorkflowUpdateFailedError, RPCError) as error:
        raise http_error(error, f"order_number: no device {order_number!r}") from error


@router.put("/devices/{order_number}/renewal-period", response_model=DeviceView)
async def change_renewal_period(order_number: str, request: RenewalPeriodRequest, actor: ActorDep,
                                client: ClientDep) -> DeviceView:
    """Rule EQ-5: change a running device's renewal period; its timer is re-armed."""
    handle = client.get_workflow_handle(device_workflow_id(order_number))
    change = RenewalPeriodChange(actor=actor, reason=request.reason, renewal_months=request.renewal_months)
    try:
        return await handle.execute_update(DeviceLifecycleWorkflow.change_renewal_period, change)
    except (WorkflowUpdateFailedError, RPCError) as error:
        raise http_error(error, f"order_number: no device {order_number!r}") from error


async def _view(handle, order_number: str) -> DeviceView:
    try:
        return await handle.query(DeviceLifecycleWorkflow.view)
    except RPCError as error:
        raise http_error(error, f"order_number: no device {order_number!r}") from error
