"""Orders, the inventory register and lifecycle events of devices (rules EQ-1 … EQ-14)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import access, search
from api.deliveries import HistoryEntry
from api.deps import ActorDep, IdempotencyKeyDep, Limit, Offset, PrincipalDep, ProcessDep, SessionDep
from api.names import devices_named
from api.processes import audit_log, claimed_number, history_of
from api.repeats import Repeat
from api.search import known_parameters_only
from db.equipment_queries import InvalidOrder, resolve_terms
from db.numbers import next_number
from db.models import Device, DeviceTransition, ErasureVendor, Unit
from db.people_models import DeviceReturnFlag, Person
from domain.catalogue import Category
from domain.device_register import DeviceView
from domain.equipment import (ORDER_NUMBER_PATTERN, DeviceAction, DeviceCommand, DeviceOrder, DeviceStart,
                              RecordErasure, SendToErasure, device_workflow_id)
from domain.renewals import RenewalPeriodChange
from workflows.equipment import DeviceLifecycleWorkflow

router = APIRouter(tags=["equipment"])
OrderNumber = Annotated[str, Path(min_length=1, max_length=40)]


class RegisterRow(BaseModel):
    """A row of the inventory register."""

    order_number: str
    model_code: str
    category: str
    municipality: str
    unit_id: str
    cost_bearer_unit_id: str | None
    user_ref: str | None
    user_name: str | None = None  # issue 22: from the people register
    location: str | None
    state: str
    serial_number: str | None
    ordered_at: datetime
    delivered_at: datetime | None
    renewal_months: int | None
    replaces: str | None
    replaced_by: str | None
    return_flagged_at: datetime | None = None  # issue 22, EQ-7: its user left; to be returned to the unit

    model_config = {"from_attributes": True}


class NamedDeviceView(DeviceView):
    """The device with its user's name and, for a leaver's device, when it was flagged for return (issue 22)."""

    user_name: str | None = None
    return_flagged_at: datetime | None = None


class EventRequest(BaseModel):
    reason: str | None = Field(None, max_length=500, description="why: recorded in the audit log")
    action: DeviceAction


class RenewalPeriodRequest(BaseModel):
    renewal_months: int | None = Field(None, ge=1, le=120, description="null: no automatic renewal")
    reason: str | None = Field(None, max_length=500)


class OrderRequest(DeviceOrder):
    order_number: str | None = Field(None, pattern=ORDER_NUMBER_PATTERN,
                                     description="business key; leave out to have Ramflow allocate one "
                                                 "(ORD-<year>-NNNNN; send an Idempotency-Key to retry safely)")


def allocated_order_number(session: Session, path, actor: str, request: OrderRequest,  # noqa: ANN001
                           idempotency_key: str | None) -> str:
    """The next free `ORD-<year>-NNNNN` (a number typed in by hand earlier is skipped), claimed for the key."""
    def allocate() -> str:
        year = datetime.now(timezone.utc).year
        for _ in range(100):
            number = next_number(path.sessions, "ORD-", year)
            if session.get(Device, number) is None:
                return number
        raise HTTPException(409, "order_number: no free number in the series; give one")
    if idempotency_key is None:
        return allocate()
    number, _ = claimed_number(session, "orders", idempotency_key, actor, request.model_dump(mode="json"), None,
                               allocate)
    return number


@router.post("/orders", status_code=status.HTTP_201_CREATED, response_model=DeviceView,
             responses={200: {"description": "the order already exists (repeated call)"}, 422: {}, 503: {}})
async def place_order(request: OrderRequest, actor: ActorDep, path: ProcessDep, response: Response,
                      principal: PrincipalDep, idempotency_key: IdempotencyKeyDep) -> DeviceView:
    """Rule EQ-1: equipment is ordered through support; the order number is the idempotency key. Without
    one Ramflow allocates it (issue 23: `ORD-<year>-NNNNN`), once per Idempotency-Key."""
    access.own_unit(principal, request.unit_id)
    order = DeviceOrder(**request.model_dump(exclude={"order_number"}), order_number=request.order_number or (
        await path.db(allocated_order_number, path, actor, request, idempotency_key)))
    workflow_id = device_workflow_id(order.order_number)
    not_found = f"order_number: no device {order.order_number!r}"

    def check(session: Session) -> bool:
        if session.get(Device, order.order_number) is not None:
            return True
        try:
            resolve_terms(session, order, datetime.now(timezone.utc))  # 422 before anything is written
        except InvalidOrder as error:
            raise HTTPException(422, str(error)) from error
        return False

    # issue 20: an existing device answers only who may see it (IT, its unit's manager, its user), and only the
    # same order; its placement is compared while it is as ordered (EQ-7: units move and reassign it later)
    repeat = Repeat.of(order, "order_number", "device", original=_as_ordered,
                       visible=lambda view: access.may_see(principal, (view.unit_id, view.cost_bearer_unit_id),
                                                           view.user_ref))
    if await path.db(check):  # a repeated call: the same device once it is registered and called off
        view = repeat.check(await path.ready(DeviceLifecycleWorkflow.run, workflow_id,
                                             DeviceLifecycleWorkflow.registered, not_found))
        response.status_code = status.HTTP_200_OK
        return view
    settings = path.settings
    start = DeviceStart(order=order, renewal_lead_days=settings.renewal_lead_days,
                        buyout_answer_days=settings.buyout_answer_days, ordered_by=actor)
    return await path.start(DeviceLifecycleWorkflow.run, start, workflow_id, DeviceLifecycleWorkflow.registered,
                            response, not_found, repeat=repeat)


def _as_ordered(view: DeviceView) -> dict:
    """What a device's view still says of its order (issue 20): the model and the device it replaces; the
    placement too until delivery."""
    shown = {"model_code": view.model_code, "replaces": view.replaces}
    if view.delivered_at is None:
        shown |= {"unit_id": view.unit_id, "user_ref": view.user_ref, "location": view.location}
    return shown


@router.get("/devices", response_model=list[RegisterRow], dependencies=[Depends(known_parameters_only)],
            responses={422: {"description": "a bad value, or a query parameter the list does not know"}})
async def list_devices(
    request: Request,
    principal: PrincipalDep,
    q: Annotated[str | None, Query(max_length=200, description="free text: the beginning of a serial or order "
                                   "number, an employee number, or words of the user's name")] = None,
    serial_number: Annotated[str | None, Query(max_length=80, description="exact, case-insensitive")] = None,
    order_number: Annotated[str | None, Query(max_length=40)] = None,
    user: Annotated[str | None, Query(max_length=200, description="employee number, or words of the name")] = None,
    unit_id: str | None = None,
    user_ref: str | None = None,
    model_code: str | None = None,
    category: Category | None = None,
    state: str | None = None,
    cost_bearer_unit_id: str | None = None,
    municipality: str | None = None,
    delivered_from: date | None = Query(None, description="delivered on or after this day (Swedish time)"),
    delivered_to: date | None = Query(None, description="delivered on or before this day (Swedish time)"),
    limit: Limit = 200,
    offset: Offset = 0,
) -> list[RegisterRow]:
    """The inventory register, filtered in SQL on indexed columns and paged (rule EQ-7: kept current by every
    transition; issue 23: search over the whole fleet)."""
    def read(session: Session) -> list[RegisterRow]:
        # one query: the user's name (issue 22) and a leaver's return flag (EQ-7) joined in, not fetched after it
        query = (select(Device, Person.name, DeviceReturnFlag.flagged_at)
                 .outerjoin(Person, Person.employee_ref == Device.user_ref)
                 .outerjoin(DeviceReturnFlag, DeviceReturnFlag.order_number == Device.order_number)
                 .order_by(Device.order_number))
        if (seen := access.visible(principal, Device.unit_id, Device.user_ref)) is not None:
            query = query.where(seen)
        filters = {"unit_id": unit_id, "user_ref": user_ref, "state": state, "model_code": model_code,
                   "cost_bearer_unit_id": cost_bearer_unit_id, "municipality": municipality,
                   "category": category.value if category else None, "order_number": order_number}
        for name, value in filters.items():
            if value is not None:
                query = query.where(getattr(Device, name) == value)
        if serial_number:
            query = query.where(search.upper_exact(Device.serial_number, serial_number))
        if user:
            query = query.where(search.person_filter(session, Device.user_ref, user))
        if q and q.strip():
            query = query.where(search.device_text(session, Device.serial_number, Device.order_number,
                                                   Device.user_ref, q))
        if delivered_from is not None:
            query = query.where(Device.delivered_at >= search.local_day_start(delivered_from))
        if delivered_to is not None:
            query = query.where(Device.delivered_at < search.local_day_end(delivered_to))
        return [RegisterRow.model_validate({**{k: getattr(row, k, None) for k in RegisterRow.model_fields},
                                            "user_name": name, "return_flagged_at": flagged})
                for row, name, flagged in session.execute(query.limit(limit).offset(offset))]

    return await search.in_session(request, read)


def device_mirror(session: Session, order_number: str) -> DeviceView | None:
    """The device as the register mirrors it (when its process cannot answer): no live deadlines."""
    row = session.get(Device, order_number)
    if row is None:
        return None
    return DeviceView(
        order_number=row.order_number, workflow_id=row.workflow_id, state=row.state, category=Category(row.category),
        model_code=row.model_code, unit_id=row.unit_id, cost_bearer_unit_id=row.cost_bearer_unit_id,
        user_ref=row.user_ref, location=row.location, serial_number=row.serial_number, delivered_at=row.delivered_at,
        renewal_months=row.renewal_months, renewal_due_at=None, rental_end_at=None, rental_weeks=row.rental_weeks,
        replaces=row.replaces,
        replacement_order=row.replaced_by, buyout=None, erasure_vendor=None, erasure_certificate=None,
        police_report_ref=None, allowed_events=[],
        log=audit_log(session, DeviceTransition, DeviceTransition.order_number, order_number))


@router.get("/devices/{order_number}", response_model=NamedDeviceView, responses={404: {}, 503: {}})
async def get_device(order_number: OrderNumber, path: ProcessDep, response: Response,
                     principal: PrincipalDep) -> NamedDeviceView:
    """The device's live state from its workflow, with allowed events, deadlines and transition log; from the
    register (header `X-Ramflow-View: mirror`) when the process cannot answer in time."""
    if not access.sees_everything(principal):
        await path.db(access.device, principal, order_number)
    view = await path.view(device_workflow_id(order_number), DeviceLifecycleWorkflow.view,
                           f"order_number: no device {order_number!r}", response,
                           mirror=lambda s: device_mirror(s, order_number))
    return (await path.db(devices_named, [view], NamedDeviceView))[0]


@router.get("/devices/{order_number}/history", response_model=list[HistoryEntry], responses={404: {}})
def device_history(order_number: OrderNumber, session: SessionDep, principal: PrincipalDep, limit: Limit = 1000,
                   offset: Offset = 0) -> list[HistoryEntry]:
    """The audit log as mirrored in the register: who did what, when (UTC), why, under which rule."""
    access.device(session, principal, order_number)
    return history_of(session, Device, DeviceTransition, order_number, f"order_number: no device {order_number!r}",
                      limit, offset)


@router.post("/devices/{order_number}/events", response_model=DeviceView,
             responses={404: {}, 409: {"description": "the current state does not allow the event"}, 422: {},
                        503: {}})
async def post_event(order_number: OrderNumber, request: EventRequest, actor: ActorDep, path: ProcessDep,
                     idempotency_key: IdempotencyKeyDep, principal: PrincipalDep) -> DeviceView:
    """A lifecycle event: deliver, give_notice, reassign, report_stolen, offer_buyout, record_erasure, …"""
    action = request.action
    await access.device_event(path, principal, order_number, action)

    def check(session: Session) -> None:
        if isinstance(action, (SendToErasure, RecordErasure)):
            vendor = session.get(ErasureVendor, action.vendor)
            if vendor is None or not vendor.certified:
                raise HTTPException(422, f"action.vendor: {action.vendor!r} is not a certified erasure vendor "
                                         "(rule EQ-12)")
        unit_id = getattr(action, "unit_id", None)
        if unit_id is not None and session.get(Unit, unit_id) is None:
            raise HTTPException(422, f"action.unit_id: unknown unit {unit_id!r}")

    if isinstance(action, (SendToErasure, RecordErasure)) or getattr(action, "unit_id", None) is not None:
        await path.db(check)  # only these events name something in the register
    command = DeviceCommand(actor=actor, reason=request.reason, action=action, person=principal.employee_ref)
    return await path.apply(device_workflow_id(order_number), DeviceLifecycleWorkflow.apply, command,
                            f"order_number: no device {order_number!r}", update_id=idempotency_key)


@router.put("/devices/{order_number}/renewal-period", response_model=DeviceView,
            responses={404: {}, 409: {}, 503: {}})
async def change_renewal_period(order_number: OrderNumber, request: RenewalPeriodRequest, actor: ActorDep,
                                path: ProcessDep) -> DeviceView:
    """Rule EQ-5: change a running device's renewal period; its timer is re-armed."""
    change = RenewalPeriodChange(actor=actor, reason=request.reason, renewal_months=request.renewal_months)
    return await path.apply(device_workflow_id(order_number), DeviceLifecycleWorkflow.change_renewal_period, change,
                            f"order_number: no device {order_number!r}")
