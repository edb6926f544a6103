"""Application agreements, their versions and comparison, yearly revisions, the application price list
and what a unit pays (rules AG-1 … AG-6). New services (AG-7): api/routes/services.py; cloud moves
(AG-8): api/routes/cloud_moves.py."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Path, Query, Response, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import access
from api.errors import JSON_ERRORS
from api.deps import ActorDep, Limit, Offset, PrincipalDep, ProcessDep, SessionDep, SettingsDep
from api.processes import (
    EventRequest,
    ProcessRow,
    RoundRequest,
    RoundRunning,
    known_unit,
    mirrored_view,
    process_rows,
    round_running,
    this_year,
)
from api.security import record_reference_change, row_dict
from api.repeats import Repeat
from db.agreement_models import (
    AgreementRow,
    ApplicationPriceRow,
    GovernanceProcessRow,
)
from db.agreement_queries import price_list_for, unit_application_charges, versions_of
from db.models import Unit
from domain.agreements import (
    AGREEMENT,
    agreement_workflow_id,
    AgreementAction,
    AgreementCommand,
    AgreementContent,
    AgreementProcessView,
    AgreementStart,
    AgreementVersion,
    Cancel,
    compare_versions,
    UnitApplicationCharges,
    VersionDiff,
)
from domain.common import LOCAL_TZ, RoundStart
from domain.costing import CostComponent, MissingPrice, PriceItem, PriceList, compute_cost
from workflows.agreements import AgreementRevisionRoundWorkflow, AgreementWorkflow

router = APIRouter(tags=["agreements"])
Year = Annotated[int, Path(ge=2000, le=2100)]


class AgreementSummary(BaseModel):
    id: str
    application: str
    application_kind: str
    variant: str
    unit_id: str
    system_owner_ref: str
    status: str
    current_version: int | None
    terminated_on: date | None
    termination_reason: str | None
    model_config = {"from_attributes": True}


class AgreementDetail(AgreementSummary):
    version_in_force: AgreementVersion | None = Field(description="the version in force today")
    versions: list[int]


class TerminateRequest(BaseModel):
    terminated_on: date
    reason: str = Field(min_length=3, max_length=500)

DRAWING_UP, REVISION = "/agreements/{agreement_id}/drawing-up", "/agreements/{agreement_id}/revisions/{for_year}"


class RevisionRequest(BaseModel):
    for_year: int | None = Field(None, ge=2000, le=2100, description="default: the coming year")


class AgreementEvent(EventRequest):
    action: AgreementAction


class PriceListEntry(BaseModel):
    item: str = Field(description="a cost component, or a service code svc-…")
    component: CostComponent
    unit: str = Field(min_length=1, max_length=40)
    unit_price: Decimal = Field(ge=0, max_digits=12, decimal_places=2, description="annual SEK per unit")
    description: str | None = Field(None, max_length=200)


# --- agreements and versions ------------------------------------------------------------------
@router.post("/agreements", status_code=status.HTTP_201_CREATED, response_model=AgreementProcessView,
             responses={200: {"description": "already being drawn up"}, 409: {}, 422: {}})
async def draw_up_agreement(content: AgreementContent, actor: ActorDep, path: ProcessDep,
                            response: Response, principal: PrincipalDep) -> AgreementProcessView:
    """Rules AG-1, AG-2: IT draws up an agreement (or a cost description) with the system owner;
    costs for the coming year (AG-3); charged from the coming year once approved (AG-6)."""
    workflow_id = agreement_workflow_id(content.agreement_id)

    def check(session: Session) -> None:
        existing = session.get(AgreementRow, content.agreement_id)
        if existing is not None and existing.workflow_id != workflow_id:
            raise HTTPException(409, f"agreement_id: agreement {content.agreement_id!r} already exists")
        known_unit(session, content.unit_id)
        try:
            compute_cost(content.cost_lines, price_list_for(session, this_year() + 1))
        except MissingPrice as error:
            raise HTTPException(422, str(error)) from error

    await path.db(check)
    start = AgreementStart(agreement_id=content.agreement_id, content=content, started_by=actor)
    return await path.start(AgreementWorkflow.run, start, workflow_id, AgreementWorkflow.ready, response,
                            repeat=Repeat.of(content, "agreement_id", "agreement", original=lambda v: v.content or {},
                                             visible=lambda _: access.may_read(principal, DRAWING_UP)))


@router.get("/agreements", response_model=list[AgreementSummary])
def list_agreements(session: SessionDep, unit_id: str | None = None, status_: Annotated[
        str | None, Query(alias="status")] = None, limit: Limit = 200, offset: Offset = 0) -> list[AgreementRow]:
    query = select(AgreementRow).order_by(AgreementRow.id).limit(limit).offset(offset)
    if unit_id is not None:
        query = query.where(AgreementRow.unit_id == unit_id)
    if status_ is not None:
        query = query.where(AgreementRow.status == status_)
    return list(session.scalars(query))


def _agreement(session: Session, agreement_id: str) -> AgreementRow:
    row = session.get(AgreementRow, agreement_id)
    if row is None:
        raise HTTPException(404, f"agreement_id: no agreement {agreement_id!r}")
    return row


@router.get("/agreements/{agreement_id}", response_model=AgreementDetail)
def get_agreement(agreement_id: str, session: SessionDep) -> AgreementDetail:
    row = _agreement(session, agreement_id)
    versions = versions_of(session, agreement_id)
    today = datetime.now(LOCAL_TZ).date()
    in_force = [v for v in versions if v.effective_from <= today]
    return AgreementDetail.model_validate({
        **AgreementSummary.model_validate(row).model_dump(),
        "version_in_force": max(in_force, key=lambda v: (v.effective_from, v.version)) if in_force else None,
        "versions": [v.version for v in versions]})


@router.get("/agreements/{agreement_id}/versions", response_model=list[AgreementVersion])
def list_versions(agreement_id: str, session: SessionDep) -> list[AgreementVersion]:
    """Every version is kept (rule AG-4)."""
    _agreement(session, agreement_id)
    return versions_of(session, agreement_id)


@router.get("/agreements/{agreement_id}/versions/compare", response_model=VersionDiff)
def compare(agreement_id: str, session: SessionDep, base: Annotated[int, Query(ge=1)],
            other: Annotated[int, Query(ge=1)]) -> VersionDiff:
    """What changed between two versions: content, quantities, unit prices and cost."""
    by_number = {v.version: v for v in versions_of(session, agreement_id)}
    missing = [n for n in (base, other) if n not in by_number]
    if missing:
        raise HTTPException(404, f"version: agreement {agreement_id!r} has no version {missing[0]}")
    return compare_versions(by_number[base], by_number[other])


@router.get("/agreements/{agreement_id}/versions/{version}", response_model=AgreementVersion)
def get_version(agreement_id: str, version: int, session: SessionDep) -> AgreementVersion:
    for v in versions_of(session, agreement_id):
        if v.version == version:
            return v
    raise HTTPException(404, f"version: agreement {agreement_id!r} has no version {version}")


@router.get("/agreements/{agreement_id}/versions/{version}/sketch", response_class=PlainTextResponse,
            responses=JSON_ERRORS)
def sketch(agreement_id: str, version: int, session: SessionDep) -> str:
    """Rule AG-2: the system sketch as a Mermaid diagram."""
    content = get_version(agreement_id, version, session).content
    if content.sketch is None:
        raise HTTPException(404, "sketch: a cost description has no system sketch (rule AG-1)")
    return content.sketch.mermaid()


@router.post("/agreements/{agreement_id}/terminate", response_model=AgreementSummary)
async def terminate(agreement_id: str, request: TerminateRequest, actor: ActorDep,
                    path: ProcessDep) -> AgreementSummary:
    """Rule AG-6: a terminated application is not charged from the coming year; a revision for a
    year it is no longer charged in is cancelled."""
    def end(session: Session) -> tuple[AgreementSummary, list[str]]:
        row = _agreement(session, agreement_id)
        if row.status != "active":
            raise HTTPException(409, f"status: agreement {agreement_id!r} is {row.status}, not active")
        row.status, row.terminated_on, row.termination_reason = "terminated", request.terminated_on, request.reason
        session.commit()
        revisions = [process.workflow_id for process in session.scalars(select(GovernanceProcessRow).where(
            GovernanceProcessRow.process == "agreement", GovernanceProcessRow.subject == agreement_id,
            GovernanceProcessRow.state.not_in(AGREEMENT.final_states)))
            if process.data.get("purpose") == "revision" and process.data.get("for_year")
            and process.data["for_year"] > request.terminated_on.year]
        return AgreementSummary.model_validate(row), revisions

    summary, revisions = await path.db(end)
    cancel = AgreementCommand(actor=actor, reason=request.reason,
                              action=Cancel(reason=f"application terminated on {request.terminated_on} (rule AG-6)"))
    for workflow_id in revisions:
        try:
            await path.apply(workflow_id, AgreementWorkflow.apply, cancel, f"workflow {workflow_id!r}")
        except HTTPException:
            continue  # moved on meanwhile
    return summary


@router.get("/agreements/{agreement_id}/drawing-up", response_model=AgreementProcessView)
async def drawing_up(agreement_id: str, path: ProcessDep, response: Response) -> AgreementProcessView:
    return await mirrored_view(path, agreement_workflow_id(agreement_id), AgreementWorkflow.view, AgreementProcessView,
                               f"agreement_id: no agreement being drawn up {agreement_id!r}", response)


@router.post("/agreements/{agreement_id}/drawing-up/events", response_model=AgreementProcessView,
             responses={404: {}, 409: {}, 422: {}})
async def drawing_up_event(agreement_id: str, request: AgreementEvent, actor: ActorDep,
                           path: ProcessDep, principal: PrincipalDep) -> AgreementProcessView:
    """approve (party it/system_owner: both approve, AG-4), reject (with reason), revise, cancel."""
    not_found = f"agreement_id: no agreement being drawn up {agreement_id!r}"
    await access.agreement_event(path, principal, agreement_workflow_id(agreement_id), request.action, not_found)
    return await path.event(agreement_workflow_id(agreement_id), AgreementWorkflow.apply,
                            AgreementCommand, request, actor, not_found, person=principal.employee_ref)


# --- yearly revisions (AG-4) ------------------------------------------------------------------
@router.post("/agreements/{agreement_id}/revisions", status_code=status.HTTP_201_CREATED,
             response_model=AgreementProcessView)
async def start_revision(agreement_id: str, request: RevisionRequest, actor: ActorDep, path: ProcessDep,
                         settings: SettingsDep, response: Response, principal: PrincipalDep) -> AgreementProcessView:
    """Start one agreement's revision by hand (the yearly round starts them all, AG-4)."""
    row = await path.db(_agreement, agreement_id)
    if row.current_version is None:
        raise HTTPException(409, f"agreement_id: {agreement_id!r} has no approved version to revise")
    for_year = request.for_year or this_year() + 1
    if for_year <= this_year():
        raise HTTPException(422, f"for_year: a revision sets the costs of a coming year, not {for_year} (rule AG-4)")
    if row.terminated_on is not None and row.terminated_on.year < for_year:
        raise HTTPException(409, f"for_year: {agreement_id!r} is terminated and not charged in {for_year} (rule AG-6)")
    start = AgreementStart(agreement_id=agreement_id, purpose="revision", for_year=for_year,
                           reminder_weeks=settings.agreement_reminder_weeks, started_by=actor)
    return await path.start(AgreementWorkflow.run, start, agreement_workflow_id(agreement_id, "revision", for_year),
                            AgreementWorkflow.ready, response,
                            repeat=Repeat({"for_year": for_year}, "for_year", "revision",
                                          visible=lambda _: access.may_read(principal, REVISION)))


@router.get("/agreements/{agreement_id}/revisions/{for_year}", response_model=AgreementProcessView)
async def get_revision(agreement_id: str, for_year: Year, path: ProcessDep, response: Response) -> AgreementProcessView:
    return await mirrored_view(path, agreement_workflow_id(agreement_id, "revision", for_year), AgreementWorkflow.view,
                               AgreementProcessView, f"for_year: no revision of {agreement_id!r} for {for_year}",
                               response)


@router.post("/agreements/{agreement_id}/revisions/{for_year}/events", response_model=AgreementProcessView,
             responses={404: {}, 409: {}, 422: {}})
async def revision_event(agreement_id: str, for_year: Year, request: AgreementEvent, actor: ActorDep,
                         path: ProcessDep, principal: PrincipalDep) -> AgreementProcessView:
    """record_meeting (with agreed changes), approve, reject (with reason), revise, cancel (rule AG-4)."""
    workflow_id = agreement_workflow_id(agreement_id, "revision", for_year)
    not_found = f"for_year: no revision of {agreement_id!r} for {for_year}"
    await access.agreement_event(path, principal, workflow_id, request.action, not_found)
    return await path.event(workflow_id, AgreementWorkflow.apply,
                            AgreementCommand, request, actor, not_found, person=principal.employee_ref)


@router.get("/agreement-revisions", response_model=list[ProcessRow])
def list_revisions(session: SessionDep, for_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                   state: str | None = None, limit: Limit = 200, offset: Offset = 0):
    in_year = () if for_year is None else (GovernanceProcessRow.data["for_year"].as_integer() == for_year,)
    return process_rows(session, "agreement", state, limit, offset, *in_year)


@router.post("/agreement-revisions/rounds", status_code=status.HTTP_201_CREATED, response_model=list[str],
             responses={202: {"model": RoundRunning, "description": "still running"}, 503: {}})
async def start_round(request: RoundRequest, actor: ActorDep, path: ProcessDep, settings: SettingsDep):
    """Run the yearly round now (the Schedule runs it every year): one revision per active agreement.
    201 with the revisions started; 202 while the round still runs (repeat the call for its result)."""
    year = request.year or this_year()
    workflow_id = f"agreement-revision-round-{year}"  # one round per year at a time; no personal data in IDs
    done, started = await path.run_once(
        AgreementRevisionRoundWorkflow.run, RoundStart(year=year, reminder_weeks=settings.agreement_reminder_weeks),
        workflow_id, f"year: no revision round for {year}")
    if not done:
        return round_running(workflow_id)
    return started


# --- price list and charges (AG-3, AG-5, AG-6) ------------------------------------------------
@router.get("/application-prices/{year}", response_model=PriceList)
def application_prices(year: Year, session: SessionDep) -> PriceList:
    """Rule AG-5: the prices in force in `year` (per item, that year's or the latest earlier one)."""
    return price_list_for(session, year)


@router.put("/application-prices/{year}", response_model=PriceList, responses={409: {}, 422: {}})
def set_application_prices(year: Year, entries: Annotated[list[PriceListEntry], Body(max_length=1000)], actor: ActorDep,
                           session: SessionDep) -> PriceList:
    """Rule AG-5: the price list is revised at the turn of the year, so only a coming year's list
    can be set; a decided framework version also sets it (GV-2)."""
    if year <= this_year():
        raise HTTPException(409, f"year: the price list of {year} is closed (rule AG-5)")
    items = []
    for entry in entries:
        try:
            items.append(PriceItem(year=year, **entry.model_dump()))
        except ValueError as error:
            raise HTTPException(422, f"{entry.item}: {error}") from error
    for item in items:
        record_reference_change(session, actor, "application_price", f"{year}/{item.item}",
                                row_dict(session.get(ApplicationPriceRow, (year, item.item))),
                                item.model_dump(mode="json"))
        session.merge(ApplicationPriceRow(year=year, item=item.item, component=item.component.value, unit=item.unit,
                                          unit_price=item.unit_price, description=item.description, set_by=actor))
    session.commit()
    return price_list_for(session, year)


@router.get("/units/{unit_id}/application-charges/{year}", response_model=UnitApplicationCharges)
def application_charges(unit_id: str, year: Year, session: SessionDep,
                        principal: PrincipalDep) -> UnitApplicationCharges:
    """What unit U pays for applications in year Y: each agreement charged that year (AG-6) at
    its quantities in force on 1 January × that year's prices (AG-3)."""
    access.unit(principal, unit_id)
    if session.get(Unit, unit_id) is None:
        raise HTTPException(404, f"unit_id: no unit {unit_id!r}")
    return unit_application_charges(session, unit_id, year)
