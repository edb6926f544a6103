"""Support tickets, service requests, incidents and the tertial follow-up (rules TK-1 … TK-12, AV-1 … AV-4)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, Field, TypeAdapter, model_validator
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.bounds import Instant, YearQuery
from api import access
from api.errors import JSON_ERRORS
from api.deps import ActorDep, IdempotencyKeyDep, Limit, Offset, PrincipalDep, ProcessDep, SessionDep, SettingsDep
from api.processes import VIEW_SOURCE, ProcessPath, audit_log
from api.routes.calendar import framework_parameters, support_calendar
from config import Settings
from db.idempotency import IdempotencyKey, KeyReused, claim, request_hash
from db.models import Municipality, OutboxMessage, Unit
from db.ticket_queries import InvalidTicket, NotAllowedToApply, resolve_request_terms, resolve_ticket_terms
from db.ticket_models import (
    DesignatedApplicant,
    Incident,
    NumberCounter,
    ServiceRequest,
    ServiceRequestTransition,
    SupportCharge,
    SurveyAnswer,
    Ticket,
    TicketTransition,
    aware,
    utc,
)
from domain.process import TransitionRecord
from domain.service_requests import (
    RequestAction,
    RequestCharge,
    RequestCommand,
    RequestDetails,
    RequestKind,
    RequestStart,
    RULE_OF_KIND,
    RequestView,
    ServiceRequestOrder,
    request_workflow_id,
)
from domain.support_matters import RESPONSIBILITIES, Matter, Owner, SupportLevel, owner_of
from domain.tertial_report import (
    ChargeFact,
    IncidentFact,
    SurveyFact,
    TertialReport,
    TicketFact,
    report_csv,
    tertial_bounds,
    tertial_report,
)
from domain.tickets import (
    REF_PATTERN,
    SURVEY_QUESTIONS,
    TICKET_NUMBER_PATTERN,
    IntefunktionFunction,
    Line,
    Classification,
    TicketAction,
    TicketCommand,
    TicketReport,
    TicketStart,
    TicketView,
    in_server_series,
    line_lead,
    ticket_workflow_id,
)
from workflows.tickets import ServiceRequestWorkflow, TicketWorkflow

router = APIRouter(tags=["support tickets"])
FUTURE_TOLERANCE = timedelta(minutes=2)
ALLOCATION_ATTEMPTS = 20  # allocated numbers skip IDs a workflow already has (e.g. a restored database)
Number = Annotated[str, Path(min_length=1, max_length=40)]


# --- models of the API ------------------------------------------------------------------------------
class NewTicket(TicketReport):
    number: str | None = Field(None, pattern=TICKET_NUMBER_PATTERN,
                               description="optional business key; allocated (T<year>-00001) when left out")
    reported_at: Instant | None = Field(None, description="default: now; ISO 8601, without an offset: local time; "
                                                           "a phone call recorded after the fact, never in the future")


class TicketRow(BaseModel):
    """A row of the ticket register (mirrored from the workflows)."""

    number: str
    unit_id: str
    municipality: str
    reporter_ref: str
    title: str
    device_order_number: str | None
    support_level: str | None
    matter: str | None
    function: str | None
    on_call: bool
    line: str
    state: str
    assignee: str | None
    reported_at: datetime
    deadline: datetime | None
    breached: bool
    breached_at: datetime | None
    resolved_at: datetime | None
    resolved_line: str | None
    closed_at: datetime | None
    survey_selected: bool | None


class EventRequest(BaseModel):
    reason: str | None = Field(None, max_length=500, description="why: recorded in the audit log")
    action: TicketAction


class ClassificationRequest(BaseModel):
    matter: Matter | None = None
    function: IntefunktionFunction | None = None
    unit_started_troubleshooting: bool = False
    reason: str | None = Field(None, max_length=500)


class SurveyAnswerRequest(BaseModel):
    """Rule TK-6: the two questions."""

    solved_satisfactorily: bool = Field(description=SURVEY_QUESTIONS[0])
    treatment: int = Field(ge=1, le=5, description=SURVEY_QUESTIONS[1] + " 1 (poor) … 5 (very good)")
    comment: str | None = Field(None, max_length=2000)


class SurveyAnswerView(SurveyAnswerRequest):
    ticket_number: str
    answered_at: datetime


class MatterRow(BaseModel):
    matter: Matter
    title: str
    owners: dict[SupportLevel, Owner]
    note: str


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


class NewIncident(BaseModel):
    """Rules AV-3, AV-4: an outage (downtime) or another IT incident, reported by IT or by a unit."""

    kind: Literal["outage", "incident"]
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=4000)
    reported_by: Literal["it", "unit"] = "it"
    unit_id: str | None = Field(None, description="the reporting unit (reported_by=unit)")
    municipality: str | None = Field(None, description="affected municipality; null: both")
    started_at: Instant
    ended_at: Instant | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "NewIncident":
        for name in ("started_at", "ended_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name}: give the offset (ISO 8601 with offset)")
        if self.reported_by == "unit" and self.unit_id is None:
            raise ValueError("unit_id: a unit-reported incident names the unit (rule AV-4)")
        if self.ended_at is not None and self.ended_at <= self.started_at:
            raise ValueError("ended_at: must be after started_at")
        return self


class IncidentEnd(BaseModel):
    ended_at: Instant


class IncidentView(BaseModel):
    id: int
    kind: str
    title: str
    description: str | None
    reported_by: str
    unit_id: str | None
    municipality: str | None
    started_at: datetime
    ended_at: datetime | None
    recorded_by: str


class OperationalMessage(BaseModel):
    """Rule AV-4: operational messages are published on each municipality's intranet."""

    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=4000)
    municipality: str | None = Field(None, description="null: both intranets")


# --- helpers ------------------------------------------------------------------------------------------
def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def next_number(session: Session, prefix: str, year: int) -> str:
    """T2026-00001, T2026-00002, … (one counter row per prefix and year, incremented in the database)."""
    session.rollback()
    if session.get(NumberCounter, (prefix, year)) is None:
        try:
            session.add(NumberCounter(prefix=prefix, year=year, last=0))
            session.commit()
        except IntegrityError:  # another request created it first
            session.rollback()
    session.execute(update(NumberCounter).where(NumberCounter.prefix == prefix, NumberCounter.year == year)
                    .values(last=NumberCounter.last + 1))
    last = session.scalar(select(NumberCounter.last).where(NumberCounter.prefix == prefix,
                                                           NumberCounter.year == year))
    session.commit()
    return f"{prefix}{year}-{last:05d}"


def local(at: datetime | None, tz) -> datetime | None:
    """An instant read from the register, in local time (rule TK-1: everything is Europe/Stockholm)."""
    return None if at is None else aware(at).astimezone(tz)


def ticket_row(row: Ticket, tz) -> TicketRow:
    data = {name: getattr(row, name) for name in TicketRow.model_fields}
    for name in ("reported_at", "deadline", "breached_at", "resolved_at", "closed_at"):
        data[name] = local(data[name], tz)
    return TicketRow(**data)


def record_of(row: TicketTransition | ServiceRequestTransition) -> TransitionRecord:
    return TransitionRecord(seq=row.seq, at=aware(row.at), event=row.event, from_state=row.from_state,
                            to_state=row.to_state, actor=row.actor, reason=row.reason, rule=row.rule,
                            details=row.details or {})


def view_from_register(session: Session, row: Ticket, settings: Settings) -> TicketView:
    """A ticket whose workflow has ended (closed, handed back) is answered from the register."""
    cal = support_calendar(settings)
    log = [record_of(r) for r in session.scalars(
        select(TicketTransition).where(TicketTransition.number == row.number).order_by(TicketTransition.seq))]
    level = SupportLevel(row.support_level) if row.support_level else None
    matter = Matter(row.matter) if row.matter else None
    deadline = aware(row.deadline)
    return TicketView(
        number=row.number, workflow_id=row.workflow_id, state=row.state, line=Line(row.line), assignee=row.assignee,
        unit_id=row.unit_id, reporter_ref=row.reporter_ref, title=row.title,
        device_order_number=row.device_order_number, support_level=level, matter=matter,
        owner=owner_of(matter, level), function=IntefunktionFunction(row.function) if row.function else None,
        intefunktion=row.function is not None, on_call=row.on_call,
        reported_at=aware(row.reported_at).astimezone(cal.tz),
        deadline=deadline.astimezone(cal.tz) if deadline else None,
        deadline_met=(not row.breached) if row.function is not None and row.state == "closed" else None,
        clock_paused=row.function is not None, remaining_support_seconds=None,
        warning_at=local(row.warned_at, cal.tz), breached=row.breached, breached_at=local(row.breached_at, cal.tz),
        resolved_at=local(row.resolved_at, cal.tz),
        resolved_line=Line(row.resolved_line) if row.resolved_line else None,
        handed_back_reason=row.handed_back_reason, survey_selected=row.survey_selected, allowed_events=[], log=log,
    )


def ended_detail(model: type, number: str, what: str):
    """For an event on a process that has ended: its final state, from the register (409)."""
    def work(session: Session) -> str | None:
        row = session.get(model, number)
        return None if row is None else f"{what} {number} is {row.state}: its process has ended"
    return work


async def ticket_view(path: ProcessPath, number: str, response: Response | None = None) -> TicketView:
    """A live ticket from its workflow; a closed or handed-back one (or one whose process cannot answer in
    time) from the register."""
    settings = path.settings

    def register(session: Session, finished_only: bool) -> TicketView | None:
        row = session.get(Ticket, number)
        if row is None or (finished_only and row.state not in ("closed", "handed_back")):
            return None
        return view_from_register(session, row, settings)

    finished = await path.db(register, True)
    if finished is not None:
        if response is not None:
            response.headers[VIEW_SOURCE] = "mirror"
        return finished
    return await path.view(ticket_workflow_id(number), TicketWorkflow.view, f"number: no ticket {number!r}",
                           response, mirror=lambda s: register(s, False))


def publish(session: Session, subject: str, body: str, municipality: str | None, topic: str,
            at: datetime) -> list[str]:
    """Rule AV-4: a message on each (or one) municipality's intranet, through the outbox."""
    codes = [municipality] if municipality else list(
        session.scalars(select(Municipality.code).order_by(Municipality.code)))
    for code in codes:
        session.add(OutboxMessage(created_at=utc(at), topic=topic, recipient=f"intranet:{code}", subject=subject,
                                  body=body))
    return [f"intranet:{code}" for code in codes]


# --- tickets ----------------------------------------------------------------------------------------
@router.post("/tickets", status_code=status.HTTP_201_CREATED, response_model=TicketView,
             responses={200: {"description": "the ticket already exists (repeated call, same number or "
                                             "Idempotency-Key)"}, 422: {}, 503: {}})
async def report_ticket(ticket: NewTicket, actor: ActorDep, path: ProcessDep, response: Response,
                        idempotency_key: IdempotencyKeyDep, principal: PrincipalDep) -> TicketView:
    """Rule TK-2: every request enters in the 1st line; its workflow keeps the deadline clock (TK-5).
    A matter the unit owns is handed back at once (TK-7): 201 with the handed-back ticket."""
    access.new_ticket(principal, ticket.unit_id, ticket.reporter_ref)
    settings = path.settings
    cal = support_calendar(settings)
    reported_at = ticket.reported_at
    if reported_at is not None:
        reported_at = (reported_at.replace(tzinfo=cal.tz) if reported_at.tzinfo is None else reported_at)
        if reported_at > now_utc() + FUTURE_TOLERANCE:
            raise HTTPException(422, "reported_at: must not be in the future")
    report_data = ticket.model_dump(exclude={"number", "reported_at"})
    year = now_utc().astimezone(cal.tz).year

    def prepare(session: Session) -> tuple[str | None, bool, dict | None]:
        """(number, exists already, support hours); the number is claimed for an Idempotency-Key."""
        if ticket.number is not None and session.get(Ticket, ticket.number) is not None:
            return ticket.number, True, None
        if ticket.number is not None and in_server_series(ticket.number):  # kept out of the allocator's series
            raise HTTPException(422, f"number: {ticket.number!r} has the form of the server's numbers "
                                     "(T<year>-NNNNN); leave it out to get one, or choose another form")
        try:
            resolve_ticket_terms(session, TicketReport(number="CHECK", **report_data))  # 422, nothing written
        except InvalidTicket as error:
            raise HTTPException(422, str(error)) from error
        session.rollback()
        # rules TK-1, GV-2: the support hours of the framework version in force on the report date
        hours = framework_parameters(session, (reported_at or now_utc()).astimezone(cal.tz).date()).hours()
        if idempotency_key is None:
            return ticket.number, False, hours
        digest = request_hash(actor, ticket.model_dump(mode="json"))
        try:
            number, new = claim(session, "tickets", idempotency_key, digest,
                                lambda s: ticket.number or next_number(s, "T", year))
        except KeyReused as error:
            raise HTTPException(422, str(error)) from error
        return number, not new, hours

    number, exists, hours = await path.db(prepare)
    if exists and hours is None:
        response.status_code = status.HTTP_200_OK
        return await ticket_view(path, number, response)
    given = number is not None
    for _ in range(1 if given else ALLOCATION_ATTEMPTS):
        if not given:
            number = await path.db(next_number, "T", year)
        start = TicketStart(
            report=TicketReport(number=number, reported_at=reported_at, **report_data), reported_by=actor,
            warning_share=settings.intefunktion_warning_share, survey_share=settings.survey_share,
            on_call_minimum_minutes=settings.on_call_minimum_minutes,
            on_call_increment_minutes=settings.on_call_increment_minutes,
            on_call_hourly_rate=settings.on_call_hourly_rate, extra_closed_days=settings.extra_closed_days,
            support_hours=hours,
        )
        not_found = f"number: no ticket {number!r}"
        created, view = await path.start_ready(TicketWorkflow.run, start, ticket_workflow_id(number),
                                               TicketWorkflow.registered, not_found)
        if not created and not given:
            continue  # an allocated number whose workflow exists (e.g. a restored database): the next one
        if created and not exists:
            return view
        response.status_code = status.HTTP_200_OK  # a repeated call, possibly while the first still registers
        return view if created else await path.ready(TicketWorkflow.run, ticket_workflow_id(number),
                                                     TicketWorkflow.registered, not_found)
    raise HTTPException(409, "number: could not allocate a free ticket number")


@router.get("/tickets", response_model=list[TicketRow])
def list_tickets(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    line: Line | None = None,
    state: str | None = None,
    unit_id: str | None = None,
    municipality: str | None = None,
    assignee: str | None = None,
    breached: bool | None = None,
    intefunktion: bool | None = Query(None, description="true: tickets naming a failing function (TK-4)"),
    function: IntefunktionFunction | None = None,
    on_call: bool | None = None,
    is_open: bool | None = Query(None, alias="open", description="true: not closed or handed back"),
    reported_from: Instant | None = None,
    reported_to: Instant | None = None,
    limit: Limit = 200,
    offset: Offset = 0,
) -> list[TicketRow]:
    """The ticket register, filtered."""
    query = select(Ticket).order_by(Ticket.reported_at, Ticket.number)
    if (seen := access.visible(principal, Ticket.unit_id, Ticket.reporter_ref)) is not None:
        query = query.where(seen)
    filters = {"line": line.value if line else None, "state": state, "unit_id": unit_id,
               "municipality": municipality, "assignee": assignee, "breached": breached, "on_call": on_call,
               "function": function.value if function else None}
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(Ticket, name) == value)
    if intefunktion is not None:
        query = query.where(Ticket.function.is_not(None) if intefunktion else Ticket.function.is_(None))
    if is_open is not None:
        finished = Ticket.state.in_(("closed", "handed_back"))
        query = query.where(~finished if is_open else finished)
    if reported_from is not None:
        query = query.where(Ticket.reported_at >= utc(reported_from))
    if reported_to is not None:
        query = query.where(Ticket.reported_at < utc(reported_to))
    tz = support_calendar(settings).tz
    return [ticket_row(row, tz) for row in session.scalars(query.limit(limit).offset(offset))]


@router.get("/tickets/{number}", response_model=TicketView, responses={404: {}, 503: {}})
async def get_ticket(number: Number, path: ProcessDep, response: Response, principal: PrincipalDep) -> TicketView:
    """The ticket with its assignee (TK-2), its current deadline (TK-5) and its transition log."""
    if not access.sees_everything(principal):
        await path.db(access.ticket, principal, number)
    return await ticket_view(path, number, response)


@router.get("/tickets/{number}/history", response_model=list[TransitionRecord], responses={404: {}})
def ticket_history(number: Number, session: SessionDep, principal: PrincipalDep, limit: Limit = 1000,
                   offset: Offset = 0) -> list[TransitionRecord]:
    access.ticket(session, principal, number)
    if session.get(Ticket, number) is None:
        raise HTTPException(404, f"number: no ticket {number!r}")
    return audit_log(session, TicketTransition, TicketTransition.number, number, limit, offset)


@router.post("/tickets/{number}/events", response_model=TicketView,
             responses={404: {}, 409: {"description": "the current state does not allow the event"}, 422: {},
                        503: {}})
async def post_ticket_event(number: Number, request: EventRequest, actor: ActorDep, path: ProcessDep,
                            idempotency_key: IdempotencyKeyDep) -> TicketView:
    """assign, escalate, transfer, wait_for_customer, resume, resolve, reopen, close, hand_back."""
    command = TicketCommand(actor=actor, reason=request.reason, action=request.action)
    return await path.apply(ticket_workflow_id(number), TicketWorkflow.apply, command, f"number: no ticket {number!r}",
                            ended=ended_detail(Ticket, number, "ticket"), update_id=idempotency_key)


@router.put("/tickets/{number}/classification", response_model=TicketView, responses={404: {}, 409: {}, 503: {}})
async def classify_ticket(number: Number, request: ClassificationRequest, actor: ActorDep,
                          path: ProcessDep) -> TicketView:
    """Triage: the matter (TK-7; a matter the unit owns is handed back) and the failing function (TK-4)."""
    change = Classification(actor=actor, reason=request.reason, matter=request.matter, function=request.function,
                            unit_started_troubleshooting=request.unit_started_troubleshooting)
    return await path.apply(ticket_workflow_id(number), TicketWorkflow.classify, change,
                            f"number: no ticket {number!r}", ended=ended_detail(Ticket, number, "ticket"))


@router.post("/tickets/{number}/survey", status_code=status.HTTP_201_CREATED, response_model=SurveyAnswerView,
             responses={404: {}, 409: {"description": "the ticket did not get the survey, or it is answered"}})
def answer_survey(number: str, answer: SurveyAnswerRequest, session: SessionDep,
                  principal: PrincipalDep) -> SurveyAnswerView:
    access.survey(session, principal, number)  # rule TK-6: the reporter answers
    """Rule TK-6: the answer to the survey of a closed ticket that was drawn for it."""
    ticket = session.get(Ticket, number)
    if ticket is None:
        raise HTTPException(404, f"number: no ticket {number!r}")
    if ticket.state != "closed" or not ticket.survey_selected:
        raise HTTPException(409, f"rule TK-6: ticket {number} did not get the survey")
    if session.get(SurveyAnswer, number) is not None:
        raise HTTPException(409, f"rule TK-6: the survey of ticket {number} is already answered")
    at = now_utc()
    session.add(SurveyAnswer(ticket_number=number, solved_satisfactorily=answer.solved_satisfactorily,
                             treatment=answer.treatment, comment=answer.comment, answered_at=utc(at)))
    session.commit()
    return SurveyAnswerView(ticket_number=number, answered_at=at, **answer.model_dump())


@router.get("/survey/questions", response_model=list[str])
def survey_questions() -> list[str]:
    """Rule TK-6: the two questions."""
    return list(SURVEY_QUESTIONS)


@router.get("/support-matters", response_model=list[MatterRow])
def support_matters() -> list[MatterRow]:
    """Rule TK-7: who owns each matter under each support level."""
    return [MatterRow(matter=r.matter, title=r.title, owners=r.owners, note=r.note) for r in RESPONSIBILITIES]


@router.get("/intefunktion-functions", response_model=list[str])
def intefunktion_functions() -> list[str]:
    """Rule TK-4: the 14 functions, in the document's order."""
    return [f.value for f in IntefunktionFunction]


# --- service requests (TK-9 … TK-12) -------------------------------------------------------------------
@router.post("/service-requests", status_code=status.HTTP_201_CREATED, response_model=RequestView,
             responses={200: {"description": "the request already exists (same number or Idempotency-Key)"},
                        403: {"description": "rule TK-9: not the manager or a designated person"}, 422: {}, 503: {}})
async def submit_request(request: NewServiceRequest, actor: ActorDep, path: ProcessDep, response: Response,
                         idempotency_key: IdempotencyKeyDep, principal: PrincipalDep) -> RequestView:
    """A non-employee account (TK-9), a functional address (TK-10), a program install (TK-11), a move (TK-12)."""
    await path.db(access.applicant, principal, request.unit_id, request.details.kind, request.applicant_ref)
    settings = path.settings
    applicant = request.applicant_ref or actor
    if not re.fullmatch(REF_PATTERN, applicant):
        raise HTTPException(422, "applicant_ref: the signed-in user's subject is no applicant reference")
    check = ServiceRequestOrder(number="CHECK", unit_id=request.unit_id, applicant_ref=applicant,
                                details=request.details)
    year = now_utc().astimezone(support_calendar(settings).tz).year

    def prepare(session: Session) -> tuple[str | None, bool, bool]:
        """(number, exists in the register, claimed by an earlier request with this key)"""
        if request.number is not None and session.get(ServiceRequest, request.number) is not None:
            return request.number, True, True
        if request.number is not None and in_server_series(request.number):  # kept out of the allocator's series
            raise HTTPException(422, f"number: {request.number!r} has the form of the server's numbers "
                                     "(SR<year>-NNNNN); leave it out to get one, or choose another form")
        try:
            resolve_request_terms(session, check)
        except InvalidTicket as error:
            raise HTTPException(422, str(error)) from error
        except NotAllowedToApply as error:
            raise HTTPException(403, str(error)) from error
        session.rollback()
        if idempotency_key is None:
            return request.number, False, False
        digest = request_hash(actor, request.model_dump(mode="json"))
        try:
            number, new = claim(session, "service-requests", idempotency_key, digest,
                                lambda s: request.number or next_number(s, "SR", year))
        except KeyReused as error:
            raise HTTPException(422, str(error)) from error
        return number, False, not new

    number, registered, exists = await path.db(prepare)
    if registered:
        response.status_code = status.HTTP_200_OK
        return await request_view(path, number, response)
    given = number is not None
    for _ in range(1 if given else ALLOCATION_ATTEMPTS):
        if not given:
            number = await path.db(next_number, "SR", year)
        start = RequestStart(order=check.model_copy(update={"number": number}), submitted_by=actor,
                             move_hourly_rate=settings.move_hourly_rate,
                             move_increment_minutes=settings.move_increment_minutes)
        not_found = f"number: no service request {number!r}"
        created, view = await path.start_ready(ServiceRequestWorkflow.run, start, request_workflow_id(number),
                                               ServiceRequestWorkflow.registered, not_found)
        if not created and not given:
            continue
        if created and not exists:
            return view
        response.status_code = status.HTTP_200_OK
        return view if created else await path.ready(ServiceRequestWorkflow.run, request_workflow_id(number),
                                                     ServiceRequestWorkflow.registered, not_found)
    raise HTTPException(409, "number: could not allocate a free service-request number")


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
    """Rule TK-12: what the unit was charged for a move ordered from IT, shown on the request."""
    charge = session.scalar(select(SupportCharge).where(SupportCharge.source == "physical_move",
                                                        SupportCharge.reference == number))
    return None if charge is None else RequestCharge.model_validate(charge, from_attributes=True)


def request_view_from_register(session: Session, row: ServiceRequest) -> RequestView:
    log = [record_of(r) for r in session.scalars(select(ServiceRequestTransition).where(
        ServiceRequestTransition.number == row.number).order_by(ServiceRequestTransition.seq))]
    kind = RequestKind(row.kind)
    hand_back = next((r.reason for r in reversed(log) if r.event == "hand_back"), None)
    return RequestView(
        number=row.number, workflow_id=row.workflow_id, kind=kind, rule=RULE_OF_KIND[kind], state=row.state,
        unit_id=row.unit_id, applicant_ref=row.applicant_ref, assignee=row.assignee,
        details=TypeAdapter(RequestDetails).validate_python(row.details), result=row.result,
        minutes_worked=row.minutes_worked, handed_back_reason=hand_back if row.state == "handed_back" else None,
        charge=request_charge(session, row.number), allowed_events=[], log=log)


@router.get("/service-requests/{number}/history", response_model=list[TransitionRecord], responses={404: {}})
def request_history(number: Number, session: SessionDep, principal: PrincipalDep, limit: Limit = 1000,
                    offset: Offset = 0) -> list[TransitionRecord]:
    access.service_request(session, principal, number)
    if session.get(ServiceRequest, number) is None:
        raise HTTPException(404, f"number: no service request {number!r}")
    return audit_log(session, ServiceRequestTransition, ServiceRequestTransition.number, number, limit, offset)


@router.post("/service-requests/{number}/events", response_model=RequestView, responses={404: {}, 409: {}, 503: {}})
async def post_request_event(number: Number, request: RequestEventRequest, actor: ActorDep, path: ProcessDep,
                             idempotency_key: IdempotencyKeyDep) -> RequestView:
    """start_work, deliver (a move needs minutes_worked: TK-12), reject, hand_back."""
    command = RequestCommand(actor=actor, reason=request.reason, action=request.action)
    return await path.apply(request_workflow_id(number), ServiceRequestWorkflow.apply, command,
                            f"number: no service request {number!r}",
                            ended=ended_detail(ServiceRequest, number, "service request"), update_id=idempotency_key)


@router.get("/units/{unit_id}/designated-applicants", response_model=list[DesignatedView])
def designated_applicants(unit_id: str, session: SessionDep, principal: PrincipalDep, limit: Limit = 200,
                          offset: Offset = 0) -> list[DesignatedView]:
    """Rule TK-9: who besides the manager may apply for non-employee accounts."""
    access.unit(principal, unit_id)
    rows = session.scalars(select(DesignatedApplicant).where(DesignatedApplicant.unit_id == unit_id)
                           .order_by(DesignatedApplicant.person_ref).limit(limit).offset(offset))
    return [DesignatedView(unit_id=r.unit_id, person_ref=r.person_ref, designated_by=r.designated_by,
                           designated_at=aware(r.designated_at)) for r in rows]


@router.put("/units/{unit_id}/designated-applicants/{person_ref}", response_model=DesignatedView,
            responses={403: {"description": "only the unit's manager designates"}, 404: {}})
def designate_applicant(unit_id: str, person_ref: str, actor: ActorDep, session: SessionDep,
                        principal: PrincipalDep) -> DesignatedView:
    """Rule TK-9: the unit's manager designates a person who may apply."""
    access.unit(principal, unit_id)
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise HTTPException(404, f"unit_id: unknown unit {unit_id!r}")
    if actor != unit.manager_ref:
        raise HTTPException(403, f"rule TK-9: only the manager of {unit_id} designates applicants")
    row = session.get(DesignatedApplicant, (unit_id, person_ref))
    if row is None:
        row = DesignatedApplicant(unit_id=unit_id, person_ref=person_ref, designated_by=actor,
                                  designated_at=utc(now_utc()))
        session.add(row)
        session.commit()
    return DesignatedView(unit_id=unit_id, person_ref=person_ref, designated_by=row.designated_by,
                          designated_at=aware(row.designated_at))


@router.delete("/units/{unit_id}/designated-applicants/{person_ref}", status_code=204, responses={403: {}})
def remove_designation(unit_id: str, person_ref: str, actor: ActorDep, session: SessionDep,
                       principal: PrincipalDep) -> Response:
    access.unit(principal, unit_id)
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise HTTPException(404, f"unit_id: unknown unit {unit_id!r}")
    if actor != unit.manager_ref:
        raise HTTPException(403, f"rule TK-9: only the manager of {unit_id} designates applicants")
    row = session.get(DesignatedApplicant, (unit_id, person_ref))
    if row is not None:
        session.delete(row)
        session.commit()
    return Response(status_code=204)


# --- incidents and operational messages (AV-1, AV-3, AV-4) ---------------------------------------------
def incident_view(row: Incident, tz) -> IncidentView:
    return IncidentView(id=row.id, kind=row.kind, title=row.title, description=row.description,
                        reported_by=row.reported_by, unit_id=row.unit_id, municipality=row.municipality,
                        started_at=local(row.started_at, tz), ended_at=local(row.ended_at, tz),
                        recorded_by=row.recorded_by)


@router.post("/incidents", status_code=status.HTTP_201_CREATED, response_model=IncidentView,
             responses={200: {"description": "already recorded (same Idempotency-Key)"}, 422: {}})
def record_incident(incident: NewIncident, actor: ActorDep, session: SessionDep, settings: SettingsDep,
                    response: Response, idempotency_key: IdempotencyKeyDep, principal: PrincipalDep) -> IncidentView:
    """Rules AV-3/AV-4: IT reports IT incidents on its own (published on the intranets); units report theirs."""
    access.incident(principal, incident.reported_by, incident.unit_id)
    tz = support_calendar(settings).tz
    digest = request_hash(actor, incident.model_dump(mode="json"))
    if idempotency_key is not None:
        earlier = session.get(IdempotencyKey, ("incidents", idempotency_key))
        if earlier is not None:
            return _earlier_incident(session, earlier, digest, tz, response)
    if incident.unit_id is not None and session.get(Unit, incident.unit_id) is None:
        raise HTTPException(422, f"unit_id: unknown unit {incident.unit_id!r}")
    if incident.municipality is not None and session.get(Municipality, incident.municipality) is None:
        raise HTTPException(422, f"municipality: unknown municipality {incident.municipality!r}")
    at = now_utc()
    row = Incident(kind=incident.kind, title=incident.title, description=incident.description,
                   reported_by=incident.reported_by, unit_id=incident.unit_id, municipality=incident.municipality,
                   started_at=utc(incident.started_at), ended_at=utc(incident.ended_at), recorded_by=actor,
                   recorded_at=utc(at))
    session.add(row)
    session.flush()
    if incident.reported_by == "it":  # rule AV-4
        publish(session, f"Driftinformation: {incident.title}",
                f"{incident.kind} from {incident.started_at.isoformat()}"
                + (f" to {incident.ended_at.isoformat()}" if incident.ended_at else " (ongoing)")
                + (f". {incident.description}" if incident.description else ""),
                incident.municipality, "operational_message", at)
    else:
        session.add(OutboxMessage(created_at=utc(at), topic="unit_incident", recipient=line_lead(Line.INFRASTRUKTUR),
                                  subject=f"Unit {incident.unit_id} reports: {incident.title}",
                                  body=incident.description or ""))
    if idempotency_key is not None:  # in the same transaction as the incident: recorded once
        session.add(IdempotencyKey(scope="incidents", key=idempotency_key, request_hash=digest,
                                   resource=str(row.id), created_at=at))
    try:
        session.commit()
    except IntegrityError:  # a concurrent request with the same key won
        session.rollback()
        earlier = session.get(IdempotencyKey, ("incidents", idempotency_key))
        if earlier is None:
            raise
        return _earlier_incident(session, earlier, digest, tz, response)
    return incident_view(row, tz)


def _earlier_incident(session: Session, earlier: IdempotencyKey, digest: str, tz, response: Response) -> IncidentView:
    if earlier.request_hash != digest:
        raise HTTPException(422, f"Idempotency-Key: {earlier.key!r} was used for another request")
    response.status_code = status.HTTP_200_OK
    return incident_view(session.get(Incident, int(earlier.resource)), tz)


@router.put("/incidents/{incident_id}/end", response_model=IncidentView, responses={404: {}, 409: {}, 422: {}})
def end_incident(incident_id: int, end: IncidentEnd, session: SessionDep, settings: SettingsDep) -> IncidentView:
    row = session.get(Incident, incident_id)
    if row is None:
        raise HTTPException(404, f"incident_id: no incident {incident_id}")
    if end.ended_at.tzinfo is None:
        raise HTTPException(422, "ended_at: give the offset (ISO 8601 with offset)")
    if row.ended_at is not None:
        raise HTTPException(409, f"incident {incident_id} already ended at {aware(row.ended_at).isoformat()}")
    if utc(end.ended_at) <= aware(row.started_at):
        raise HTTPException(422, "ended_at: must be after started_at")
    row.ended_at = utc(end.ended_at)
    if row.reported_by == "it":  # rule AV-4
        publish(session, f"Driftinformation: {row.title} is over", f"Ended {end.ended_at.isoformat()}.",
                row.municipality, "operational_message", now_utc())
    session.commit()
    return incident_view(row, support_calendar(settings).tz)


@router.get("/incidents", response_model=list[IncidentView])
def list_incidents(session: SessionDep, settings: SettingsDep, year: YearQuery | None = None,
                   kind: Literal["outage", "incident"] | None = None, limit: Limit = 200,
                   offset: Offset = 0) -> list[IncidentView]:
    query = select(Incident).order_by(Incident.started_at, Incident.id).limit(limit).offset(offset)
    if kind is not None:
        query = query.where(Incident.kind == kind)
    tz = support_calendar(settings).tz
    if year is not None:
        start, end = datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)
        query = query.where(Incident.started_at >= utc(start), Incident.started_at < utc(end))
    return [incident_view(row, tz) for row in session.scalars(query)]


@router.post("/operational-messages", status_code=status.HTTP_201_CREATED, response_model=list[str])
def publish_operational_message(message: OperationalMessage, session: SessionDep) -> list[str]:
    """Rule AV-4: published on each municipality's intranet (through the outbox); answers the recipients."""
    if message.municipality is not None and session.get(Municipality, message.municipality) is None:
        raise HTTPException(422, f"municipality: unknown municipality {message.municipality!r}")
    recipients = publish(session, message.subject, message.body, message.municipality, "operational_message",
                         now_utc())
    session.commit()
    return recipients


# --- the tertial follow-up (TK-3, TK-4, TK-6, TK-8, AV-1 … AV-3) -----------------------------------------
def build_report(session: Session, settings: Settings, year: int, tertial: int) -> TertialReport:
    start, end = tertial_bounds(year, tertial, support_calendar(settings).tz)
    # rules AV-1, AV-2, AV-3, GV-2: targets and service windows of the version in force at the tertial's end
    parameters = framework_parameters(session, (end - timedelta(days=1)).date())
    cal = support_calendar(settings, parameters)
    year_start = datetime(year, 1, 1, tzinfo=cal.tz)
    rows = list(session.scalars(select(Ticket).where(Ticket.reported_at >= utc(start), Ticket.reported_at < utc(end))))
    numbers = [r.number for r in rows]
    tickets = [TicketFact(number=r.number, reported_at=aware(r.reported_at), state=r.state,
                          resolved_line=r.resolved_line, intefunktion=r.function is not None, breached=r.breached,
                          on_call=r.on_call, survey_selected=r.survey_selected) for r in rows]
    charges = [ChargeFact(reference=c.reference, source=c.source, hours=c.hours, amount=c.amount)
               for c in session.scalars(select(SupportCharge).where(SupportCharge.source == "on_call",
                                                                    SupportCharge.reference.in_(numbers)))]
    incidents = [IncidentFact(kind=i.kind, started_at=aware(i.started_at), ended_at=aware(i.ended_at))
                 for i in session.scalars(select(Incident).where(
                     Incident.started_at < utc(end),
                     or_(Incident.ended_at.is_(None), Incident.ended_at > utc(year_start))))]
    surveys = [SurveyFact(ticket_number=a.ticket_number, solved_satisfactorily=a.solved_satisfactorily,
                          treatment=a.treatment)
               for a in session.scalars(select(SurveyAnswer).where(SurveyAnswer.ticket_number.in_(numbers)))]
    return tertial_report(year, tertial, tickets=tickets, charges=charges, incidents=incidents, surveys=surveys,
                          cal=cal, now=now_utc(),
                          availability_target_percent=float(parameters.availability_target_percent),
                          max_incidents_per_year=parameters.max_incidents_per_year)


@router.get("/reports/tertial", response_model=TertialReport)
def tertial(session: SessionDep, settings: SettingsDep, year: Annotated[int, Query(ge=2000, le=2100)],
            tertial: Annotated[int, Query(ge=1, le=3, description="T1 Jan–Apr, T2 May–Aug, T3 Sep–Dec")]):
    """The follow-up per tertial: TK-3 share within användarstöd, TK-4 intefunktion, TK-8 on call,
    AV-3 outages and incidents, AV-1 availability (all downtime; the part inside service windows shown apart), TK-6 survey."""
    return build_report(session, settings, year, tertial)


@router.get("/reports/tertial.csv", response_class=Response,
            responses={**JSON_ERRORS, 200: {"content": {"text/csv": {}}, "description": "metric,rule,value,goal,met rows"}})
def tertial_csv(session: SessionDep, settings: SettingsDep, year: Annotated[int, Query(ge=2000, le=2100)],
                tertial: Annotated[int, Query(ge=1, le=3)]) -> Response:
    report = build_report(session, settings, year, tertial)
    return Response(report_csv(report), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="ramflow-{year}-T{tertial}.csv"'})
