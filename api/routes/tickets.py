"""Support tickets: reported in the 1st line, escalated, resolved and closed under a deadline clock, and the
survey after them (rules TK-1 … TK-8). Service requests: api/routes/service_requests.py; incidents and
operational messages: api/routes/incidents.py; the tertial follow-up: api/routes/reports.py."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import access, search
from api.bounds import Instant, Number
from api.deliveries import HistoryEntry
from api.deps import ActorDep, IdempotencyKeyDep, Limit, Offset, PrincipalDep, ProcessDep, SessionDep
from api.names import named
from api.processes import (VIEW_SOURCE, ProcessPath, audit_log, claimed_number, ended_in_register, history_of,
                           registered_number)
from api.routes.calendar import framework_parameters, local, support_calendar
from api.repeats import Repeat
from api.search import known_parameters_only
from config import Settings
from db.numbers import next_number
from db.people_models import Person
from db.ticket_models import SurveyAnswer, Ticket, TicketTransition, aware, utc
from db.ticket_queries import InvalidTicket, resolve_ticket_terms, ticket_start
from domain.support_matters import RESPONSIBILITIES, Matter, Owner, SupportLevel, owner_of
from domain.support_lines import Line
from domain.intefunktion import IntefunktionFunction
from domain.tickets import (
    SURVEY_QUESTIONS,
    TICKET,
    TICKET_NUMBER_PATTERN,
    Classification,
    TicketAction,
    TicketCommand,
    TicketReport,
    TicketStart,
    TicketView,
    WaitForCustomer,
    in_server_series,
    ticket_workflow_id,
)
from api.routes.ticket_messages import write_question
from workflows.tickets import TicketWorkflow

router = APIRouter(tags=["support tickets"])
FUTURE_TOLERANCE = timedelta(minutes=2)
# what a repeated report is not compared on: the key, the time (compared once normalised), and the triage the
# 1st line may have changed since (TK-7, TK-4)
REPEAT_IGNORES = ("number", "reported_at", "matter", "function", "support_level", "unit_started_troubleshooting")


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
    reporter_name: str | None = None  # issue 22: from the people register
    title: str
    description: str | None = None
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



def ticket_row(row: Ticket, tz) -> TicketRow:
    data = {name: getattr(row, name, None) for name in TicketRow.model_fields}
    for name in ("reported_at", "deadline", "breached_at", "resolved_at", "closed_at"):
        data[name] = local(data[name], tz)
    return TicketRow(**data)


def view_from_register(session: Session, row: Ticket, settings: Settings) -> TicketView:
    """A ticket whose workflow has ended (closed, handed back) is answered from the register."""
    cal = support_calendar(settings)
    log = audit_log(session, TicketTransition, TicketTransition.number, row.number, None)
    level = SupportLevel(row.support_level) if row.support_level else None
    matter = Matter(row.matter) if row.matter else None
    deadline = aware(row.deadline)
    return TicketView(
        number=row.number, workflow_id=row.workflow_id, state=row.state, line=Line(row.line), assignee=row.assignee,
        unit_id=row.unit_id, reporter_ref=row.reporter_ref, title=row.title, description=row.description,
        affects_operations=row.affects_operations, cannot_wait=row.cannot_wait,
        unit_started_troubleshooting=row.unit_started_troubleshooting,
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


async def ticket_view(path: ProcessPath, number: str, response: Response | None = None) -> TicketView:
    """A live ticket from its workflow; a closed or handed-back one (or one whose process cannot answer in
    time) from the register."""
    settings = path.settings

    def register(session: Session, finished_only: bool) -> TicketView | None:
        row = session.get(Ticket, number)
        if row is None or (finished_only and row.state not in TICKET.final_states):
            return None
        return view_from_register(session, row, settings)

    finished = await path.db(register, True)
    if finished is not None:
        if response is not None:
            response.headers[VIEW_SOURCE] = "mirror"
        return finished
    return await path.view(ticket_workflow_id(number), TicketWorkflow.view, f"number: no ticket {number!r}",
                           response, mirror=lambda s: register(s, False))



@router.post("/tickets", status_code=status.HTTP_201_CREATED, response_model=TicketView,
             responses={200: {"description": "the ticket already exists (repeated call, same number or "
                                             "Idempotency-Key)"}, 422: {}, 503: {}})
async def report_ticket(ticket: NewTicket, actor: ActorDep, path: ProcessDep, response: Response,
                        idempotency_key: IdempotencyKeyDep, principal: PrincipalDep) -> TicketView:
    """Rule TK-2: every request enters in the 1st line; its workflow keeps the deadline clock (TK-5).
    A matter the unit owns is handed back at once (TK-7): 201 with the handed-back ticket."""
    await path.db(access.new_ticket, principal, ticket.unit_id, ticket.reporter_ref)
    settings = path.settings
    cal = support_calendar(settings)
    reported_at = ticket.reported_at
    if reported_at is not None:
        reported_at = (reported_at.replace(tzinfo=cal.tz) if reported_at.tzinfo is None else reported_at)
        if reported_at > datetime.now(timezone.utc) + FUTURE_TOLERANCE:
            raise HTTPException(422, "reported_at: must not be in the future")
    report_data = ticket.model_dump(exclude={"number", "reported_at"})
    year = datetime.now(timezone.utc).astimezone(cal.tz).year

    def prepare(session: Session) -> tuple[str | None, bool, dict | None]:
        """(number, exists already, support hours); the number is claimed for an Idempotency-Key."""
        if registered_number(session, Ticket, ticket.number, "T<year>-NNNNN", in_server_series):
            return ticket.number, True, None
        try:
            resolve_ticket_terms(session, TicketReport(number="CHECK", **report_data))  # 422, nothing written
        except InvalidTicket as error:
            raise HTTPException(422, str(error)) from error
        session.rollback()
        # rules TK-1, GV-2: the support hours of the framework version in force on the report date
        on = (reported_at or datetime.now(timezone.utc)).astimezone(cal.tz).date()
        hours = framework_parameters(session, on).hours()
        if idempotency_key is None:
            return ticket.number, False, hours
        number, earlier = claimed_number(session, "tickets", idempotency_key, actor, ticket.model_dump(mode="json"),
                                         ticket.number, lambda: next_number(path.sessions, "T", year))
        return number, earlier, hours

    # issue 20: an existing ticket answers only its reporter, its unit's manager and IT, and only the same report
    repeat = Repeat.of(ticket, "number", "ticket", exclude=REPEAT_IGNORES,
                       visible=lambda view: access.may_see(principal, (view.unit_id,), view.reporter_ref))
    if reported_at is not None:
        repeat.sent["reported_at"] = reported_at.isoformat()
    number, exists, hours = await path.db(prepare)
    if exists and hours is None:
        view = repeat.check(await ticket_view(path, number, response))
        response.status_code = status.HTTP_200_OK
        return view

    def start_of(number: str) -> TicketStart:
        report = TicketReport(number=number, reported_at=reported_at, **report_data)
        return ticket_start(report, actor, settings, hours)

    return await path.start_numbered(number, exists, lambda: next_number(path.sessions, "T", year), start_of,
                                     TicketWorkflow.run, TicketWorkflow.registered, ticket_workflow_id, "ticket",
                                     response, repeat)


@router.get("/tickets", response_model=list[TicketRow], dependencies=[Depends(known_parameters_only)],
            responses={422: {"description": "a bad value, or a query parameter the list does not know"}})
async def list_tickets(
    request: Request,
    principal: PrincipalDep,
    number: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=200, description="words of the title or description (PostgreSQL: "
                                   "full-text search, Swedish)")] = None,
    reporter: Annotated[str | None, Query(max_length=200, description="employee number, or words of the name")] = None,
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
    """The ticket register, filtered in SQL and paged (issue 23: number, text, reporter, unit, state, line)."""
    tz = support_calendar(request.app.state.settings).tz

    def read(session: Session) -> list[TicketRow]:
        # one query: the reporter's name (issue 22) joined in, not fetched after it
        query = (select(Ticket, Person.name).outerjoin(Person, Person.employee_ref == Ticket.reporter_ref)
                 .order_by(Ticket.reported_at, Ticket.number))
        if (seen := access.visible(principal, Ticket.unit_id, Ticket.reporter_ref)) is not None:
            query = query.where(seen)
        if q and q.strip():
            query = query.where(search.ticket_text(session, Ticket.title, Ticket.description, q))
        if reporter and reporter.strip():
            query = query.where(search.person_filter(session, Ticket.reporter_ref, reporter))
        filters = {"number": number.strip().upper() if number else None, "line": line.value if line else None,
                   "state": state, "unit_id": unit_id, "municipality": municipality, "assignee": assignee,
                   "breached": breached, "on_call": on_call,
                   "function": function.value if function else None}
        for name, value in filters.items():
            if value is not None:
                query = query.where(getattr(Ticket, name) == value)
        if intefunktion is not None:
            query = query.where(Ticket.function.is_not(None) if intefunktion else Ticket.function.is_(None))
        if is_open is not None:
            finished = Ticket.state.in_(TICKET.final_states)
            query = query.where(~finished if is_open else finished)
        if reported_from is not None:
            query = query.where(Ticket.reported_at >= utc(reported_from))
        if reported_to is not None:
            query = query.where(Ticket.reported_at < utc(reported_to))
        return [ticket_row(row, tz).model_copy(update={"reporter_name": name})
                for row, name in session.execute(query.limit(limit).offset(offset))]

    return await search.in_session(request, read)


class NamedTicketView(TicketView):
    reporter_name: str | None = None  # issue 22: from the people register


@router.get("/tickets/{number}", response_model=NamedTicketView, responses={404: {}, 503: {}})
async def get_ticket(number: Number, path: ProcessDep, response: Response,
                     principal: PrincipalDep) -> NamedTicketView:
    """The ticket with its assignee (TK-2), its current deadline (TK-5) and its transition log."""
    if not access.sees_everything(principal):
        await path.db(access.ticket, principal, number)
    view = await ticket_view(path, number, response)
    return (await path.db(named, [view], NamedTicketView, "reporter_ref", "reporter_name"))[0]


@router.get("/tickets/{number}/history", response_model=list[HistoryEntry], responses={404: {}})
def ticket_history(number: Number, session: SessionDep, principal: PrincipalDep, limit: Limit = 1000,
                   offset: Offset = 0) -> list[HistoryEntry]:
    access.ticket(session, principal, number)
    return history_of(session, Ticket, TicketTransition, number, f"number: no ticket {number!r}", limit, offset)


@router.post("/tickets/{number}/events", response_model=TicketView,
             responses={404: {}, 409: {"description": "the current state does not allow the event"}, 422: {},
                        503: {}})
async def post_ticket_event(number: Number, request: EventRequest, actor: ActorDep, path: ProcessDep,
                            idempotency_key: IdempotencyKeyDep) -> TicketView:
    """assign, escalate, transfer, wait_for_customer, resume, resolve, reopen, close, hand_back."""
    view = await path.event(ticket_workflow_id(number), TicketWorkflow.apply,
                            TicketCommand, request, actor, f"number: no ticket {number!r}",
                            ended=ended_in_register(Ticket, number, "ticket"), update_id=idempotency_key)
    if isinstance(request.action, WaitForCustomer) and request.action.question:
        # rule TK-5: the question goes to the reporter in the conversation; their answer resumes the deadline
        key = f"ticket-question:{number}:{idempotency_key or secrets.token_hex(8)}"
        await write_question(path, number, request.action.question, actor, key)
    return view


@router.put("/tickets/{number}/classification", response_model=TicketView, responses={404: {}, 409: {}, 503: {}})
async def classify_ticket(number: Number, request: ClassificationRequest, actor: ActorDep,
                          path: ProcessDep) -> TicketView:
    """Triage: the matter (TK-7; a matter the unit owns is handed back) and the failing function (TK-4)."""
    change = Classification(actor=actor, reason=request.reason, matter=request.matter, function=request.function,
                            unit_started_troubleshooting=request.unit_started_troubleshooting)
    return await path.apply(ticket_workflow_id(number), TicketWorkflow.classify, change,
                            f"number: no ticket {number!r}", ended=ended_in_register(Ticket, number, "ticket"))


@router.post("/tickets/{number}/survey", status_code=status.HTTP_201_CREATED, response_model=SurveyAnswerView,
             responses={404: {}, 409: {"description": "the ticket did not get the survey, or it is answered"}})
def answer_survey(number: str, answer: SurveyAnswerRequest, session: SessionDep,
                  principal: PrincipalDep) -> SurveyAnswerView:
    access.survey(session, principal, number)  # rule TK-6: the reporter answers
    """Rule TK-6: the answer to the survey of a closed ticket that was drawn for it."""
    return record_survey_answer(session, number, answer)


def record_survey_answer(session: Session, number: str, answer: SurveyAnswerRequest) -> SurveyAnswerView:
    """Rule TK-6: one answer per ticket drawn for the survey (also the mailed link's, issue 21)."""
    ticket = session.get(Ticket, number)
    if ticket is None:
        raise HTTPException(404, f"number: no ticket {number!r}")
    if ticket.state != "closed" or not ticket.survey_selected:
        raise HTTPException(409, f"rule TK-6: ticket {number} did not get the survey")
    if session.get(SurveyAnswer, number) is not None:
        raise HTTPException(409, f"rule TK-6: the survey of ticket {number} is already answered")
    at = datetime.now(timezone.utc)
    session.add(SurveyAnswer(ticket_number=number, solved_satisfactorily=answer.solved_satisfactorily,
                             treatment=answer.treatment, comment=answer.comment, answered_at=utc(at)))
    try:
        session.commit()
    except IntegrityError:  # the same answer sent twice at once: the first one counts
        session.rollback()
        raise HTTPException(409, f"rule TK-6: the survey of ticket {number} is already answered") from None
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


