"""The framework's versions and parameters, its change proposals and development cases
(rules GV-1 … GV-4), and the audit log of every AG/GV process."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import access
from api.deliveries import HistoryEntry
from api.deps import ActorDep, Limit, Offset, PrincipalDep, ProcessDep, SessionDep, SettingsDep
from api.bounds import LAST_YEAR, Day
from api.processes import (
    EventRequest,
    ProcessRow,
    RoundRequest,
    RoundRunning,
    history_of,
    known_unit,
    mirrored_view,
    process_rows,
    round_running,
    this_year,
)
from api.repeats import Repeat
from db.agreement_models import (
    FrameworkDecisionRow,
    GovernanceProcessRow,
    GovernanceTransitionRow,
)
from db.governance_queries import (
    checked_equipment_price,
    framework_in_force,
    framework_versions,
    yearly_revision_conflict,
)
from domain.catalogue import Price
from domain.common import RoundStart
from domain.costing import PriceItem
from domain.development_cases import (
    CaseAction,
    DevelopmentCaseCommand,
    DevelopmentCaseRequest,
    DevelopmentCaseStart,
    DevelopmentCaseView,
    development_case_workflow_id,
)
from domain.framework_changes import (
    DecisionRecord,
    FrameworkAction,
    FrameworkCommand,
    FrameworkParameters,
    FrameworkProposal,
    FrameworkStart,
    FrameworkVersion,
    FrameworkView,
    framework_workflow_id,
)
from workflows.governance import (
    DevelopmentCaseWorkflow,
    FrameworkChangeWorkflow,
    FrameworkYearlyRoundWorkflow,
)

router = APIRouter(tags=["governance"])


class ProposalRequest(BaseModel):
    """A change proposal. Without `parameters`, those in force the day before `effective_from` are
    the starting point (with that year's price list)."""

    proposal_id: str | None = Field(None, description="default: yearly-<year> for a yearly proposal")
    kind: str = Field(pattern="^(yearly|acute)$")
    title: str = Field(min_length=1, max_length=200)
    summary: str | None = Field(None, max_length=4000)
    law_reference: str | None = Field(None, max_length=120)
    effective_from: Day
    parameters: FrameworkParameters | None = None
    services: list[str] = Field(default_factory=list, max_length=200)
    prices: list[PriceItem] = Field(default_factory=list, max_length=1000)
    equipment_prices: list[Price] = Field(default_factory=list, max_length=1000,
                                          description="the equipment price list it decides")
    supersedes: str | None = Field(None, max_length=120,
                                   description="rule GV-1: the decided yearly revision of that year it replaces")


class FrameworkEvent(EventRequest):
    action: FrameworkAction


class CaseEvent(EventRequest):
    action: CaseAction


# --- framework versions and parameters (GV-1, GV-2) -------------------------------------------
@router.get("/framework/versions", response_model=list[FrameworkVersion])
def list_framework_versions(session: SessionDep, limit: Limit = 200, offset: Offset = 0) -> list[FrameworkVersion]:
    return framework_versions(session)[offset:offset + limit]


@router.get("/framework/parameters", response_model=FrameworkVersion)
def parameters(session: SessionDep, on: Annotated[Day | None, Query()] = None) -> FrameworkVersion:
    """The framework version (with its parameters) in force on a date, by default today."""
    try:
        return framework_in_force(session, on or datetime.now(timezone.utc).date())
    except LookupError as error:
        raise HTTPException(404, str(error)) from error


@router.post("/framework/proposals", status_code=status.HTTP_201_CREATED, response_model=FrameworkView,
             responses={200: {"description": "already started"}, 409: {"description": "rule GV-1"}, 422: {}})
async def propose(request: ProposalRequest, actor: ActorDep, path: ProcessDep, response: Response,
                  principal: PrincipalDep) -> FrameworkView:
    """Rule GV-1: the yearly revision, or an acute one for a change in law; it-forum utveckling
    prepares it (GV-2). The proposal id is the business key: a repeated call answers 200."""
    proposal_id = request.proposal_id or (f"yearly-{request.effective_from.year}" if request.kind == "yearly" else None)
    if proposal_id is None:
        raise HTTPException(422, "proposal_id: an acute proposal needs its id, e.g. acute-sfs-2026-123")

    def check(session: Session) -> FrameworkProposal:
        parameters = request.parameters
        if parameters is None:
            try:
                current = framework_in_force(session, request.effective_from - timedelta(days=1))
            except LookupError as error:
                raise HTTPException(422, f"parameters: {error}") from error
            parameters = current.parameters.model_copy(update={"price_list_year": request.effective_from.year})
        try:
            proposal = FrameworkProposal(proposal_id=proposal_id, kind=request.kind, title=request.title,
                                         summary=request.summary, law_reference=request.law_reference,
                                         effective_from=request.effective_from, parameters=parameters,
                                         services=request.services, prices=request.prices,
                                         equipment_prices=request.equipment_prices, supersedes=request.supersedes)
            for price in proposal.equipment_prices:  # refused now, not at the committee's decision
                checked_equipment_price(session, price)
        except ValueError as error:  # the proposal's fields, or an equipment price (rule EQ-4)
            raise HTTPException(422, str(error)[:500]) from error
        conflict = yearly_revision_conflict(session, proposal.proposal_id, proposal.effective_from,
                                            proposal.supersedes, proposal.kind)
        if conflict is not None:  # rule GV-1: refused now rather than at samverkansnämnden's decision
            raise HTTPException(409, f"supersedes: rule GV-1: one yearly revision per year; {conflict.id!r} is "
                                     f"already decided for {proposal.effective_from.year}: supersede it explicitly "
                                     "or withdraw")
        return proposal

    proposal = await path.db(check)
    return await path.start(FrameworkChangeWorkflow.run, FrameworkStart(proposal=proposal, started_by=actor),
                            framework_workflow_id(proposal_id), FrameworkChangeWorkflow.ready, response,
                            repeat=Repeat.of(request, "proposal_id", "proposal", original=lambda v: v.proposal,
                                             visible=lambda _: access.may_read(principal,
                                                                               "/framework/proposals/{proposal_id}")))


@router.get("/framework/proposals", response_model=list[ProcessRow])
def list_proposals(session: SessionDep, state: str | None = None, limit: Limit = 200, offset: Offset = 0):
    return process_rows(session, "framework_change", state, limit, offset)


@router.get("/framework/proposals/{proposal_id}", response_model=FrameworkView)
async def get_proposal(proposal_id: str, path: ProcessDep, response: Response) -> FrameworkView:
    return await mirrored_view(path, framework_workflow_id(proposal_id), FrameworkChangeWorkflow.view, FrameworkView,
                               f"proposal_id: no proposal {proposal_id!r}", response)


@router.post("/framework/proposals/{proposal_id}/events", response_model=FrameworkView,
             responses={404: {}, 409: {}, 422: {}})
async def proposal_event(proposal_id: str, request: FrameworkEvent, actor: ActorDep, path: ProcessDep,
                         principal: PrincipalDep) -> FrameworkView:
    """revise, forum_prepare, steering_approve/_reject, board_approve/_reject (per municipality, in
    parallel), committee_decide/_reject, withdraw: each with its date and minutes reference (GV-2)."""
    not_found = f"proposal_id: no proposal {proposal_id!r}"
    await access.framework_event(path, principal, framework_workflow_id(proposal_id), request.action, not_found)
    return await path.event(framework_workflow_id(proposal_id), FrameworkChangeWorkflow.apply,
                            FrameworkCommand, request, actor, not_found, person=principal.employee_ref)


@router.get("/framework/proposals/{proposal_id}/decisions", response_model=list[DecisionRecord])
def decisions(proposal_id: str, session: SessionDep, limit: Limit = 200, offset: Offset = 0) -> list[DecisionRecord]:
    """Rule GV-2: every step's decision, date and minutes reference."""
    rows = session.scalars(select(FrameworkDecisionRow).where(FrameworkDecisionRow.proposal_id == proposal_id)
                           .order_by(FrameworkDecisionRow.seq).limit(limit).offset(offset))
    return [DecisionRecord.model_validate(row, from_attributes=True) for row in rows]


@router.post("/framework/yearly-rounds", status_code=status.HTTP_201_CREATED,
             responses={202: {"model": RoundRunning, "description": "still running"}, 422: {}, 503: {}})
async def yearly_round(request: RoundRequest, path: ProcessDep) -> dict[str, str]:
    """Open next year's framework proposal now (the Schedule does it every year, GV-1). Refused up front
    (422) when no framework version is in force to revise: no process is started for it."""
    year = request.year or this_year()
    if year + 1 > LAST_YEAR:  # the round of `year` opens next year's revision (issue 20: it wedged the round)
        raise HTTPException(422, f"year: the round of {year} opens the revision for {year + 1}, after {LAST_YEAR}, "
                                 "the last year Ramflow covers")

    def check(session: Session) -> None:
        try:
            framework_in_force(session, date(year, 12, 31))  # what governance.draft_yearly_proposal revises
        except LookupError as error:
            raise HTTPException(422, f"year: no framework version in force at the end of {year} to revise "
                                     f"(rule GV-1): {error}") from error

    await path.db(check)
    workflow_id = f"framework-yearly-round-{year}"  # one round per year at a time; no personal data in IDs
    done, proposal_workflow = await path.run_once(FrameworkYearlyRoundWorkflow.run, RoundStart(year=year),
                                                  workflow_id, f"year: no yearly round for {year}")
    if not done:
        return round_running(workflow_id)
    return {"workflow_id": proposal_workflow}


# --- development cases (GV-3, GV-4) -----------------------------------------------------------
@router.post("/development-cases", status_code=status.HTTP_201_CREATED, response_model=DevelopmentCaseView,
             responses={200: {"description": "already registered"},
                        422: {"description": "not a development case (GV-3, GV-4) or invalid"}})
async def register_case(request: DevelopmentCaseRequest, actor: ActorDep, path: ProcessDep,
                        settings: SettingsDep, response: Response, principal: PrincipalDep) -> DevelopmentCaseView:
    """Routed by kind and size: pilots to it-forum utveckling (GV-4), small cases and additions to
    the IT strategist, large ones to it-styrgrupp (GV-3; threshold configurable)."""
    access.own_unit(principal, request.unit_id)
    await path.db(known_unit, request.unit_id)
    start = DevelopmentCaseStart(request=request, threshold=settings.development_case_threshold, started_by=actor)
    # issue 20: a unit manager registers cases but may not read them: an existing case answers 409, nothing of it
    return await path.start(DevelopmentCaseWorkflow.run, start, development_case_workflow_id(request.case_id),
                            DevelopmentCaseWorkflow.ready, response,
                            repeat=Repeat.of(request, "case_id", "development case", original=lambda v: v.request,
                                             visible=lambda _: access.may_read(principal,
                                                                               "/development-cases/{case_id}")))


@router.get("/development-cases", response_model=list[ProcessRow])
def list_cases(session: SessionDep, state: str | None = None, limit: Limit = 200, offset: Offset = 0):
    return process_rows(session, "development_case", state, limit, offset)


@router.get("/development-cases/{case_id}", response_model=DevelopmentCaseView)
async def get_case(case_id: str, path: ProcessDep, response: Response) -> DevelopmentCaseView:
    return await mirrored_view(path, development_case_workflow_id(case_id), DevelopmentCaseWorkflow.view,
                               DevelopmentCaseView, f"case_id: no development case {case_id!r}", response)


@router.post("/development-cases/{case_id}/events", response_model=DevelopmentCaseView,
             responses={404: {}, 409: {}, 422: {}})
async def case_event(case_id: str, request: CaseEvent, actor: ActorDep, path: ProcessDep,
                     principal: PrincipalDep) -> DevelopmentCaseView:
    access.case_event(principal, request.action)
    return await path.event(development_case_workflow_id(case_id), DevelopmentCaseWorkflow.apply,
                            DevelopmentCaseCommand, request, actor, f"case_id: no development case {case_id!r}")


# --- every AG/GV process ----------------------------------------------------------------------
@router.get("/governance-processes", response_model=list[ProcessRow])
def list_processes(session: SessionDep, process: str | None = None, state: str | None = None,
                   limit: Limit = 200, offset: Offset = 0):
    """Agreement processes, services, cloud moves, framework proposals and development cases."""
    return process_rows(session, process, state, limit, offset)


@router.get("/governance-processes/{workflow_id}/history", response_model=list[HistoryEntry],
            responses={404: {}})
def history(workflow_id: str, session: SessionDep, limit: Limit = 1000, offset: Offset = 0) -> list[HistoryEntry]:
    """The audit log: who did what, when (UTC), why, under which rule."""
    return history_of(session, GovernanceProcessRow, GovernanceTransitionRow, workflow_id,
                      f"workflow_id: no process {workflow_id!r}", limit, offset)
