"""Premises projects: IT's demands on property owners at new or rebuilt unit addresses (rules FC-1 … FC-4)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.deps import ActorDep, ClientDep, SessionDep, SettingsDep
from api.errors import http_error
from db.models import Unit
from db.premises_models import PremisesProject, PremisesTransition
from domain.premises import (
    PremisesAction,
    PremisesCommand,
    PremisesProjectRequest,
    PremisesStart,
    PremisesView,
    premises_workflow_id,
)
from domain.process import TransitionRecord
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


async def _apply(client: Client, project_id: str, command: PremisesCommand) -> PremisesView:
    try:
        return await client.get_workflow_handle(premises_workflow_id(project_id)).execute_update(
            PremisesProjectWorkflow.apply, command)
    except (WorkflowUpdateFailedError, RPCError) as error:
        raise http_error(error, _not_found(project_id)) from error


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PremisesView,
             responses={200: {"description": "already started"}, 422: {}})
async def start_project(request: PremisesProjectRequest, actor: ActorDep, client: ClientDep, session: SessionDep,
                        settings: SettingsDep, response: Response) -> PremisesView:
    """Rule FC-1: the property owner invites IT to a new or rebuilt unit address's project meetings.
    The project id is the business key: a repeated call answers 200 with the project's state."""
    if request.unit_id is not None and session.get(Unit, request.unit_id) is None:
        raise HTTPException(422, f"unit_id: unknown unit {request.unit_id!r}")
    session.close()  # no database connection held across the Temporal calls
    workflow_id = premises_workflow_id(request.project_id)
    try:
        handle = await client.start_workflow(
            PremisesProjectWorkflow.run, PremisesStart(project=request, started_by=actor), id=workflow_id,
            task_queue=settings.temporal_task_queue, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
    except WorkflowAlreadyStartedError:
        response.status_code = status.HTTP_200_OK
        handle = client.get_workflow_handle(workflow_id)
    try:
        return await handle.execute_update(PremisesProjectWorkflow.ready)
    except (WorkflowUpdateFailedError, RPCError) as error:
        raise http_error(error, _not_found(request.project_id)) from error


@router.get("", response_model=list[PremisesRow])
def list_projects(session: SessionDep, municipality: str | None = None, state: str | None = None) -> Any:
    query = select(PremisesProject).order_by(PremisesProject.project_id)
    if municipality:
        query = query.where(PremisesProject.municipality == municipality)
    if state:
        query = query.where(PremisesProject.state == state)
    return list(session.scalars(query))


@router.get("/{project_id}", response_model=PremisesView, responses={404: {}})
async def get_project(project_id: str, client: ClientDep) -> PremisesView:
    """The live state: requirements, design approval, racks, connection, reserve power, allowed events."""
    try:
        return await client.get_workflow_handle(premises_workflow_id(project_id)).query(PremisesProjectWorkflow.view)
    except RPCError as error:
        raise http_error(error, _not_found(project_id)) from error


@router.post("/{project_id}/events", response_model=PremisesView, responses={404: {}, 409: {}, 422: {}})
async def project_event(project_id: str, request: PremisesEvent, actor: ActorDep, client: ClientDep) -> PremisesView:
    """attend_meeting, record_requirements (FC-1 … FC-3), submit_design / approve_design / reject_design
    (FC-4), install_racks, mount_equipment (FC-2), deliver_connection (FC-1), record_reserve_power (FC-3),
    declare_ready, cancel. Each with its document reference; an event the state or a gate does not allow is 409."""
    command = PremisesCommand(actor=actor, reason=request.reason, action=request.action)
    return await _apply(client, project_id, command)


@router.get("/{project_id}/history", response_model=list[TransitionRecord], responses={404: {}})
def project_history(project_id: str, session: SessionDep) -> list[TransitionRecord]:
    """The audit log: every step with who, when, the rule and the document reference."""
    if session.get(PremisesProject, project_id) is None:
        raise HTTPException(404, _not_found(project_id))
    rows = session.scalars(select(PremisesTransition).where(PremisesTransition.project_id == project_id)
                           .order_by(PremisesTransition.seq))
    return [TransitionRecord.model_validate(row, from_attributes=True) for row in rows]
