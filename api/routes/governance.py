"""The framework's versions and parameters, its change proposals and development cases
(rules GV-1 … GV-4), and the audit log of every AG/GV process."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from temporalio.exceptions import ApplicationError

from activities.governance import (
    checked_equipment_price,
    yearly_revision_conflict,
    framework_in_force,
    framework_versions,
)
from api.deps import ActorDep, ClientDep, SessionDep, SettingsDep
from api.routes.agreements import (
    EventRequest,
    ProcessRow,
    RoundRequest,
    _apply,
    _query,
    _start,
    _unit,
    this_year,
)
from db.agreement_models import (
    FrameworkDecisionRow,
    GovernanceProcessRow,
    GovernanceTransitionRow,
)
from domain.agreements import PriceItem
from domain.catalogue import Price
from domain.governance import (
    CaseAction,
    DecisionRecord,
    DevelopmentCaseCommand,
    DevelopmentCaseRequest,
    DevelopmentCaseStart,
    DevelopmentCaseView,
    FrameworkAction,
    FrameworkCommand,
    FrameworkParameters,
    FrameworkProposal,
    FrameworkStart,
    FrameworkVersion,
    FrameworkView,
    RoundStart,
    development_case_workflow_id,
    framework_workflow_id,
)
from domain.process import TransitionRecord
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
    effective_from: date
    parameters: FrameworkParameters | None = None
    services: list[str] = Field(default_factory=list)
    prices: list[PriceItem] = Field(default_factory=list)
    equipment_prices: list[Price] = Field(default_factory=list, description="the equipment price list it decides")
    supersedes: str | None = Field(None, description="rule GV-1: the decided yearly revision of that year it replaces")


class FrameworkEvent(EventRequest):
    action: FrameworkAction


class CaseEvent(EventRequest):
    action: CaseAction


# --- framework versions and parameters (GV-1, GV-2) -------------------------------------------
@router.get("/framework/versions", response_model=list[FrameworkVersion])
def list_framework_versions(session: SessionDep) -> list[FrameworkVersion]:
    return framework_versions(session)


@router.get("/framework/parameters", response_model=FrameworkVersion)
def parameters(session: SessionDep, on: date | None = None) -> FrameworkVersion:
    """The framework version (with its parameters) in force on a date, by default today."""
    try:
        return framework_in_force(session, on or datetime.now(timezone.utc).date())
    except LookupError as error:
        raise HTTPException(404, str(error)) from error


@router.post("/framework/proposals", status_code=status.HTTP_201_CREATED, response_model=FrameworkView,
             responses={200: {"description": "already started"}, 422: {}})
async def propose(request: ProposalRequest, actor: ActorDep, client: ClientDep, session: SessionDep,
                  settings: SettingsDep, response: Response) -> FrameworkView:
    """Rule GV-1: the yearly revision, or an acute one for a change in law; it-forum utveckling
    prepares it (GV-2)."""
    parameters = request.parameters
    if parameters is None:
        try:
            current = framework_in_force(session, request.effective_from - timedelta(days=1))
        except LookupError as error:
            raise HTTPException(422, f"parameters: {error}") from error
        parameters = current.parameters.model_copy(update={"price_list_year": request.effective_from.year})
    proposal_id = request.proposal_id or (f"yearly-{request.effective_from.year}" if request.kind == "yearly" else None)
    if proposal_id is None:
        raise HTTPException(422, "proposal_id: an acute proposal needs its id, e.g. acute-sfs-2026-123")
    try:
        proposal = FrameworkProposal(proposal_id=proposal_id, kind=request.kind, title=request.title,
                                     summary=request.summary, law_reference=request.law_reference,
                                     effective_from=request.effective_from, parameters=parameters,
                                     services=request.services, prices=request.prices,
                                     equipment_prices=request.equipment_prices, supersedes=request.supersedes)
        for price in proposal.equipment_prices:  # refused now, not at the committee's decision
            checked_equipment_price(session, price)
    except ValueError as error:
        raise HTTPException(422, str(error)) from error
    except ApplicationError as error:
        raise HTTPException(422, error.message) from error
    conflict = yearly_revision_conflict(session, proposal.proposal_id, proposal.effective_from, proposal.supersedes,
                                        proposal.kind)
    if conflict is not None:  # rule GV-1: refused now rather than at samverkansnämnden's decision
        raise HTTPException(409, f"supersedes: rule GV-1: one yearly revision per year; {conflict.id!r} is already "
                                 f"decided for {proposal.effective_from.year}: supersede it explicitly or withdraw")
    return await _start(client, FrameworkChangeWorkflow.run, FrameworkStart(proposal=proposal, started_by=actor),
                        framework_workflow_id(proposal_id), settings.temporal_task_queue,
                        FrameworkChangeWorkflow.ready, response)


@router.get("/framework/proposals", response_model=list[ProcessRow])
def list_proposals(session: SessionDep, state: str | None = None):
    return _processes(session, "framework_change", state)


@router.get("/framework/proposals/{proposal_id}", response_model=FrameworkView)
async def get_proposal(proposal_id: str, client: ClientDep) -> FrameworkView:
    return await _query(client, framework_workflow_id(proposal_id), FrameworkChangeWorkflow.view,
                        f"proposal_id: no proposal {proposal_id!r}")


@router.post("/framework/proposals/{proposal_id}/events", response_model=FrameworkView,
             responses={404: {}, 409: {}, 422: {}})
async def proposal_event(proposal_id: str, request: FrameworkEvent, actor: ActorDep, client: ClientDep) -> FrameworkView:
    """revise, forum_prepare, steering_approve/_reject, board_approve/_reject (per municipality, in
    parallel), committee_decide/_reject, withdraw: each with its date and minutes reference (GV-2)."""
    command = FrameworkCommand(actor=actor, reason=request.reason, action=request.action)
    return await _apply(client, framework_workflow_id(proposal_id), FrameworkChangeWorkflow.apply, command,
                        f"proposal_id: no proposal {proposal_id!r}")


@router.get("/framework/proposals/{proposal_id}/decisions", response_model=list[DecisionRecord])
def decisions(proposal_id: str, session: SessionDep) -> list[DecisionRecord]:
    """Rule GV-2: every step's decision, date and minutes reference."""
    rows = session.scalars(select(FrameworkDecisionRow).where(FrameworkDecisionRow.proposal_id == proposal_id)
                           .order_by(FrameworkDecisionRow.seq))
    return [DecisionRecord.model_validate(row, from_attributes=True) for row in rows]


@router.post("/framework/yearly-rounds", status_code=status.HTTP_201_CREATED)
async def yearly_round(request: RoundRequest, actor: ActorDep, client: ClientDep,
                       settings: SettingsDep) -> dict[str, str]:
    """Open next year's framework proposal now (the Schedule does it every year, GV-1)."""
    year = request.year or this_year()
    workflow_id = await client.execute_workflow(
        FrameworkYearlyRoundWorkflow.run, RoundStart(year=year),
        id=f"framework-yearly-round-{year}-{actor}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}",
        task_queue=settings.temporal_task_queue)
    return {"workflow_id": workflow_id}


# --- development cases (GV-3, GV-4) -----------------------------------------------------------
@router.post("/development-cases", status_code=status.HTTP_201_CREATED, response_model=DevelopmentCaseView,
             responses={200: {"description": "already registered"},
                        422: {"description": "not a development case (GV-3, GV-4) or invalid"}})
async def register_case(request: DevelopmentCaseRequest, actor: ActorDep, client: ClientDep, session: SessionDep,
                        settings: SettingsDep, response: Response) -> DevelopmentCaseView:
    """Routed by kind and size: pilots to it-forum utveckling (GV-4), small cases and additions to
    the IT strategist, large ones to it-styrgrupp (GV-3; threshold configurable)."""
    _unit(session, request.unit_id)
    start = DevelopmentCaseStart(request=request, threshold=settings.development_case_threshold, started_by=actor)
    return await _start(client, DevelopmentCaseWorkflow.run, start, development_case_workflow_id(request.case_id),
                        settings.temporal_task_queue, DevelopmentCaseWorkflow.ready, response)


@router.get("/development-cases", response_model=list[ProcessRow])
def list_cases(session: SessionDep, state: str | None = None):
    return _processes(session, "development_case", state)


@router.get("/development-cases/{case_id}", response_model=DevelopmentCaseView)
async def get_case(case_id: str, client: ClientDep) -> DevelopmentCaseView:
    return await _query(client, development_case_workflow_id(case_id), DevelopmentCaseWorkflow.view,
                        f"case_id: no development case {case_id!r}")


@router.post("/development-cases/{case_id}/events", response_model=DevelopmentCaseView,
             responses={404: {}, 409: {}, 422: {}})
async def case_event(case_id: str, request: CaseEvent, actor: ActorDep, client: ClientDep) -> DevelopmentCaseView:
    command = DevelopmentCaseCommand(actor=actor, reason=request.reason, action=request.action)
    return await _apply(client, development_case_workflow_id(case_id), DevelopmentCaseWorkflow.apply, command,
                        f"case_id: no development case {case_id!r}")


# --- every AG/GV process ----------------------------------------------------------------------
def _processes(session: SessionDep, process: str | None, state: str | None) -> list[GovernanceProcessRow]:
    query = select(GovernanceProcessRow).order_by(GovernanceProcessRow.workflow_id)
    if process is not None:
        query = query.where(GovernanceProcessRow.process == process)
    if state is not None:
        query = query.where(GovernanceProcessRow.state == state)
    return list(session.scalars(query))


@router.get("/governance-processes", response_model=list[ProcessRow])
def list_processes(session: SessionDep, process: str | None = None, state: str | None = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 200):
    """Agreement processes, services, cloud moves, framework proposals and development cases."""
    return _processes(session, process, state)[:limit]


@router.get("/governance-processes/{workflow_id}/history", response_model=list[TransitionRecord])
def history(workflow_id: str, session: SessionDep) -> list[TransitionRecord]:
    """The audit log: who did what, when, why, under which rule."""
    if session.get(GovernanceProcessRow, workflow_id) is None:
        raise HTTPException(404, f"workflow_id: no process {workflow_id!r}")
    rows = session.scalars(select(GovernanceTransitionRow).where(GovernanceTransitionRow.workflow_id == workflow_id)
                           .order_by(GovernanceTransitionRow.seq))
    return [TransitionRecord.model_validate(row, from_attributes=True) for row in rows]
