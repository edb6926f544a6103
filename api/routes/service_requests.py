"""Service requests — a non-employee account (TK-9), a functional address (TK-10), a program install (TK-11),
a move (TK-12) — and the persons a unit's manager designates to apply (TK-9)."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, Field, TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import access
from api.auth import Principal
from api.bounds import Number
from api.deliveries import HistoryEntry
from api.deps import ActorDep, IdempotencyKeyDep, Limit, Offset, PrincipalDep, ProcessDep, SessionDep
from api.processes import (VIEW_SOURCE, ProcessPath, audit_log, claimed_number, ended_in_register, history_of,
                           registered_number)
from api.routes.calendar import support_calendar
from api.repeats import Repeat
from db.models import Unit
from db.numbers import next_number
from db.ticket_models import DesignatedApplicant, ServiceRequest, ServiceRequestTransition, SupportCharge, aware, utc
from db.ticket_queries import InvalidTicket, NotAllowedToApply, resolve_request_terms
from domain.service_requests import (
    RULE_OF_KIND,
    RequestAction,
    RequestCharge,
    RequestCommand,
    RequestDetails,
    RequestKind,
    RequestStart,
    RequestView,
    ServiceRequestOrder,
    request_workflow_id,
)
from domain.common import REF_PATTERN
from domain.tickets import in_server_series, TICKET_NUMBER_PATTERN
from workflows.tickets import ServiceRequestWorkflow

router = APIRouter(tags=["support tickets"])


class NewServiceRequest(BaseModel):
    number: str | None = Field(None, pattern=TICKET_NUMBER_PATTERN,
                               description="allocated (SR<year>-00001) if left out")
    unit_id: str = Field(pattern=REF_PATTERN)
    applicant_ref: str | None = Field(None, pattern=REF_PATTERN, description="default and only: the signed-in user (rule TK-9)")
    details: RequestDetails


class RequestEventRequest(BaseModel):
    reason: str | None = Field(None, max_length=500)
    action: RequestAction


class RequestRow(BaseModel):
    number: str
    kind: str
    unit_id: str
    applicant_ref: str
    state: str
    assignee: str | None
    details: dict
    result: str | None
    minutes_worked: int | None
    submitted_at: datetime


class DesignatedView(BaseModel):
    unit_id: str
    person_ref: str
    designated_by: str
    designated_at: datetime




@router.post("/service-requests", status_code=status.HTTP_201_CREATED, response_model=RequestView,
             responses={200: {"description": "the request already exists (same number or Idempotency-Key)"},
                        403: {"description": "rule TK-9: not the manager or a designated person"}, 422: {}, 503: {}})
async def submit_request(request: NewServiceRequest, actor: ActorDep, path: ProcessDep, response: Response,
                         idempotency_key: IdempotencyKeyDep, principal: PrincipalDep) -> RequestView:
    """A non-employee account (TK-9), a functional address (TK-10), a program install (TK-11), a move (TK-12)."""
    await path.db(access.applicant, principal, request.unit_id, request.details.kind, request.applicant_ref)
    settings = path.settings
    applicant = request.applicant_ref or principal.employee_ref or actor  # a person: their employee number
    if not re.fullmatch(REF_PATTERN, applicant):
        raise HTTPException(422, "applicant_ref: the signed-in user's subject is no applicant reference")
    check = ServiceRequestOrder(number="CHECK", unit_id=request.unit_id, applicant_ref=applicant,
                                details=request.details)
    year = datetime.now(timezone.utc).astimezone(support_calendar(settings).tz).year

    def prepare(session: Session) -> tuple[str | None, bool, bool]:
        """(number, exists in the register, claimed by an earlier request with this key)"""
        if registered_number(session, ServiceRequest, request.number, "SR<year>-NNNNN", in_server_series):
            return request.number, True, True
        try:
            resolve_request_terms(session, check)
        except InvalidTicket as error:
            raise HTTPException(422, str(error)) from error
        except NotAllowedToApply as error:
            raise HTTPException(403, str(error)) from error
        session.rollback()
        if idempotency_key is None:
            return request.number, False, False
        number, earlier = claimed_number(session, "service-requests", idempotency_key, actor,
                                         request.model_dump(mode="json"), request.number,
                                         lambda: next_number(path.sessions, "SR", year))
        return number, False, earlier

    # issue 20: an existing request answers only its unit's manager and IT, and only the same request
    repeat = Repeat.of(request, "number", "service request", exclude={"number"},
                       visible=lambda view: access.may_see(principal, (view.unit_id,)))
    number, registered, exists = await path.db(prepare)
    if registered:
        view = repeat.check(await request_view(path, number, response))
        response.status_code = status.HTTP_200_OK
        return view

    def start_of(number: str) -> RequestStart:
        return RequestStart(order=check.model_copy(update={"number": number}), submitted_by=actor,
                            move_hourly_rate=settings.move_hourly_rate,
                            move_increment_minutes=settings.move_increment_minutes)

    return await path.start_numbered(number, exists, lambda: next_number(path.sessions, "SR", year), start_of,
                                     ServiceRequestWorkflow.run, ServiceRequestWorkflow.registered,
                                     request_workflow_id, "service request", response, repeat)


@router.get("/service-requests", response_model=list[RequestRow])
def list_requests(session: SessionDep, principal: PrincipalDep, kind: RequestKind | None = None,
                  state: str | None = None, unit_id: str | None = None, limit: Limit = 200,
                  offset: Offset = 0) -> list[RequestRow]:
    query = select(ServiceRequest).order_by(ServiceRequest.submitted_at, ServiceRequest.number)
    if (seen := access.visible(principal, ServiceRequest.unit_id)) is not None:
        query = query.where(seen)
    for name, value in {"kind": kind.value if kind else None, "state": state, "unit_id": unit_id}.items():
        if value is not None:
            query = query.where(getattr(ServiceRequest, name) == value)
    return [RequestRow(**{name: getattr(row, name) for name in RequestRow.model_fields
                          if name != "submitted_at"}, submitted_at=aware(row.submitted_at))
            for row in session.scalars(query.limit(limit).offset(offset))]


async def request_view(path: ProcessPath, number: str, response: Response | None = None) -> RequestView:
    def register(session: Session, finished_only: bool) -> RequestView | None:
        row = session.get(ServiceRequest, number)
        if row is None or (finished_only and row.state not in ("delivered", "rejected", "handed_back")):
            return None
        return request_view_from_register(session, row)

    finished = await path.db(register, True)
    if finished is not None:
        if response is not None:
            response.headers[VIEW_SOURCE] = "mirror"
        return finished
    view = await path.view(request_workflow_id(number), ServiceRequestWorkflow.view,
                           f"number: no service request {number!r}", response, mirror=lambda s: register(s, False))
    if view.charge is None:  # rule TK-12: the charge is the register's, shown on the live view too
        view = view.model_copy(update={"charge": await path.db(request_charge, number)})
    return view


@router.get("/service-requests/{number}", response_model=RequestView, responses={404: {}, 503: {}})
async def get_request(number: Number, path: ProcessDep, response: Response, principal: PrincipalDep) -> RequestView:
    """The request's live state; a finished request (its workflow has ended) from the register."""
    if not access.sees_everything(principal):
        await path.db(access.service_request, principal, number)
    return await request_view(path, number, response)


def request_charge(session: Session, number: str) -> RequestCharge | None:
    """Rules TK-12, EQ-13: what the unit was charged for a move or extra support ordered from IT, shown on the
    request (issue 25: extra support showed `charge: null`)."""
    charge = session.scalar(select(SupportCharge).where(SupportCharge.source.in_(("physical_move", "extra_support")),
                                                        SupportCharge.reference == number))
    return None if charge is None else RequestCharge.model_validate(charge, from_attributes=True)


def request_view_from_register(session: Session, row: ServiceRequest) -> RequestView:
    log = audit_log(session, ServiceRequestTransition, ServiceRequestTransition.number, row.number, None)
    kind = RequestKind(row.kind)
    hand_back = next((r.reason for r in reversed(log) if r.event == "hand_back"), None)
    return RequestView(
        number=row.number, workflow_id=row.workflow_id, kind=kind, rule=RULE_OF_KIND[kind], state=row.state,
        unit_id=row.unit_id, applicant_ref=row.applicant_ref, assignee=row.assignee,
        details=TypeAdapter(RequestDetails).validate_python(row.details), result=row.result,
        minutes_worked=row.minutes_worked, handed_back_reason=hand_back if row.state == "handed_back" else None,
        charge=request_charge(session, row.number), allowed_events=[], log=log)


@router.get("/service-requests/{number}/history", response_model=list[HistoryEntry], responses={404: {}})
def request_history(number: Number, session: SessionDep, principal: PrincipalDep, limit: Limit = 1000,
                    offset: Offset = 0) -> list[HistoryEntry]:
    access.service_request(session, principal, number)
    return history_of(session, ServiceRequest, ServiceRequestTransition, number,
                      f"number: no service request {number!r}", limit, offset)


@router.post("/service-requests/{number}/events", response_model=RequestView, responses={404: {}, 409: {}, 503: {}})
async def post_request_event(number: Number, request: RequestEventRequest, actor: ActorDep, path: ProcessDep,
                             idempotency_key: IdempotencyKeyDep) -> RequestView:
    """start_work, deliver (a move needs minutes_worked: TK-12), reject, hand_back."""
    return await path.event(request_workflow_id(number), ServiceRequestWorkflow.apply,
                            RequestCommand, request, actor, f"number: no service request {number!r}",
                            ended=ended_in_register(ServiceRequest, number, "service request"), update_id=idempotency_key)


@router.get("/units/{unit_id}/designated-applicants", response_model=list[DesignatedView])
def designated_applicants(unit_id: str, session: SessionDep, principal: PrincipalDep, limit: Limit = 200,
                          offset: Offset = 0) -> list[DesignatedView]:
    """Rule TK-9: who besides the manager may apply for non-employee accounts."""
    access.unit(principal, unit_id)
    rows = session.scalars(select(DesignatedApplicant).where(DesignatedApplicant.unit_id == unit_id)
                           .order_by(DesignatedApplicant.person_ref).limit(limit).offset(offset))
    return [DesignatedView(unit_id=r.unit_id, person_ref=r.person_ref, designated_by=r.designated_by,
                           designated_at=aware(r.designated_at)) for r in rows]


def managed_unit(session: Session, principal: Principal, unit_id: str) -> Unit:
    """Rule TK-9: the unit, if the caller is its manager by employee number (404 unknown, 403 another person)."""
    access.unit(principal, unit_id)
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise HTTPException(404, f"unit_id: unknown unit {unit_id!r}")
    if not access.same_person(principal, unit.manager_ref):
        raise HTTPException(403, f"rule TK-9: only the manager of {unit_id} designates applicants")
    return unit


@router.put("/units/{unit_id}/designated-applicants/{person_ref}", response_model=DesignatedView,
            responses={403: {"description": "only the unit's manager designates"}, 404: {}})
def designate_applicant(unit_id: str, person_ref: str, session: SessionDep,
                        principal: PrincipalDep) -> DesignatedView:
    """Rule TK-9: the unit's manager designates a person who may apply."""
    managed_unit(session, principal, unit_id)
    row = session.get(DesignatedApplicant, (unit_id, person_ref))
    if row is None:
        row = DesignatedApplicant(unit_id=unit_id, person_ref=person_ref, designated_by=principal.employee_ref,
                                  designated_at=utc(datetime.now(timezone.utc)))
        session.add(row)
        session.commit()
    return DesignatedView(unit_id=unit_id, person_ref=person_ref, designated_by=row.designated_by,
                          designated_at=aware(row.designated_at))


@router.delete("/units/{unit_id}/designated-applicants/{person_ref}", status_code=204, responses={403: {}})
def remove_designation(unit_id: str, person_ref: str, session: SessionDep,
                       principal: PrincipalDep) -> Response:
    managed_unit(session, principal, unit_id)
    row = session.get(DesignatedApplicant, (unit_id, person_ref))
    if row is not None:
        session.delete(row)
        session.commit()
    return Response(status_code=204)


