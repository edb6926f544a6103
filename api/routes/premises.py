"""Premises projects: IT's demands on property owners at new or rebuilt unit addresses (rules FC-1 … FC-4)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import access
from api.deliveries import HistoryEntry
from api.deps import ActorDep, IdempotencyKeyDep, Limit, Offset, PrincipalDep, ProcessDep, SessionDep
from api.processes import history_of
from api.repeats import Repeat
from db.models import Unit
from db.premises_models import PremisesProject, PremisesTransition
from domain.common import KEY_PATTERN
from domain.premises import (
    PremisesAction,
    PremisesCommand,
    PremisesProjectRequest,
    PremisesStart,
    PremisesView,
    premises_workflow_id,
)
from workflows.premises import PremisesProjectWorkflow

router = APIRouter(prefix="/premises-projects", tags=["premises"])


class PremisesEvent(BaseModel):
    reason: str | None = Field(None, max_length=500)
    action: PremisesAction


class PremisesRow(BaseModel):
    project_id: str
    municipality: str
    site_name: str
    address: str
    unit_id: str | None
    property_owner: str
    site_class: str
    power_requirement: str
    power_requirement_met: bool
    connection_delivered: bool
    state: str
    updated_at: datetime
    model_config = {"from_attributes": True}


def _not_found(project_id: str) -> str:
    return f"project_id: no premises project {project_id!r}"


ProjectId = Annotated[str, Path(pattern=KEY_PATTERN, description="business key, e.g. FC-2026-TR-ANGA")]


def _ended(project_id: str):
    """For an event on a project whose process has ended: its final state, from the register (409)."""
    def work(session: Session) -> str | None:
        row = session.get(PremisesProject, project_id)
        return None if row is None else f"premises project {project_id} is {row.state}: its process has ended"
    return work


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PremisesView,
             responses={200: {"description": "already started"}, 422: {}, 503: {}})
async def start_project(request: PremisesProjectRequest, actor: ActorDep, path: ProcessDep,
                        response: Response, principal: PrincipalDep) -> PremisesView:
    """Rule FC-1: the property owner invites IT to a new or rebuilt unit address's project meetings.
    The project id is the business key: a repeated call answers 200 with the project's state."""
    if request.unit_id is not None and await path.db(lambda session: session.get(Unit, request.unit_id)) is None:
        raise HTTPException(422, f"unit_id: unknown unit {request.unit_id!r}")
    return await path.start(PremisesProjectWorkflow.run, PremisesStart(project=request, started_by=actor),
                            premises_workflow_id(request.project_id), PremisesProjectWorkflow.ready, response,
                            _not_found(request.project_id),
                            repeat=Repeat.of(request, "project_id", "premises project", original=lambda v: v.project,
                                             visible=lambda _: access.may_read(principal,
                                                                               "/premises-projects/{project_id}")))


@router.get("", response_model=list[PremisesRow])
def list_projects(session: SessionDep, municipality: Annotated[str | None, Query(max_length=20)] = None,
                  state: Annotated[str | None, Query(max_length=40)] = None, limit: Limit = 200,
                  offset: Offset = 0) -> Any:
    query = select(PremisesProject).order_by(PremisesProject.project_id)
    if municipality:
        query = query.where(PremisesProject.municipality == municipality)
    if state:
        query = query.where(PremisesProject.state == state)
    return list(session.scalars(query.limit(limit).offset(offset)))


@router.get("/{project_id}", response_model=PremisesView, responses={404: {}, 503: {}})
async def get_project(project_id: ProjectId, path: ProcessDep, response: Response) -> PremisesView:
    """The live state: requirements, design approval, racks, connection, reserve power, allowed events."""
    return await path.view(premises_workflow_id(project_id), PremisesProjectWorkflow.view, _not_found(project_id),
                           response)


@router.post("/{project_id}/events", response_model=PremisesView, responses={404: {}, 409: {}, 422: {}, 503: {}})
async def project_event(project_id: ProjectId, request: PremisesEvent, actor: ActorDep, path: ProcessDep,
                        idempotency_key: IdempotencyKeyDep) -> PremisesView:
    """attend_meeting, record_requirements (FC-1 … FC-3), submit_design / approve_design / reject_design
    (FC-4), install_racks, mount_equipment (FC-2), deliver_connection (FC-1), record_reserve_power (FC-3),
    declare_ready, cancel. Each with its document reference; an event the state or a gate does not allow is 409."""
    return await path.event(premises_workflow_id(project_id), PremisesProjectWorkflow.apply,
                            PremisesCommand, request, actor,
                            _not_found(project_id), ended=_ended(project_id), update_id=idempotency_key)


@router.get("/{project_id}/history", response_model=list[HistoryEntry], responses={404: {}})
def project_history(project_id: ProjectId, session: SessionDep, limit: Limit = 1000,
                    offset: Offset = 0) -> list[HistoryEntry]:
    """The audit log: every step with who, when, the rule and the document reference."""
    return history_of(session, PremisesProject, PremisesTransition, project_id, _not_found(project_id), limit, offset)
