"""Moves to a cloud service or SaaS: IT and the unit consult first (rule AG-8)."""
from __future__ import annotations

from fastapi import APIRouter, Response, status

from api import access
from api.deps import ActorDep, PrincipalDep, ProcessDep
from api.processes import EventRequest, known_unit, mirrored_view
from api.repeats import Repeat
from domain.cloud_moves import cloud_move_workflow_id, CloudMoveAction, CloudMoveCommand, CloudMoveRequest, CloudMoveStart, CloudMoveView
from workflows.agreements import CloudMoveWorkflow

router = APIRouter(tags=["agreements"])


class CloudMoveEvent(EventRequest):
    action: CloudMoveAction


@router.post("/cloud-moves", status_code=status.HTTP_201_CREATED, response_model=CloudMoveView,
             responses={422: {}})
async def start_cloud_move(request: CloudMoveRequest, actor: ActorDep, path: ProcessDep,
                           response: Response, principal: PrincipalDep) -> CloudMoveView:
    """Rule AG-8: IT and the unit consult before a move to a cloud service / SaaS."""
    await path.db(known_unit, request.unit_id)
    return await path.start(CloudMoveWorkflow.run, CloudMoveStart(request=request, started_by=actor),
                            cloud_move_workflow_id(request.case_id), CloudMoveWorkflow.ready, response,
                            repeat=Repeat.of(request, "case_id", "cloud move", original=lambda v: v.request,
                                             visible=lambda _: access.may_read(principal, "/cloud-moves/{case_id}")))


@router.get("/cloud-moves/{case_id}", response_model=CloudMoveView)
async def get_cloud_move(case_id: str, path: ProcessDep, response: Response) -> CloudMoveView:
    return await mirrored_view(path, cloud_move_workflow_id(case_id), CloudMoveWorkflow.view, CloudMoveView,
                               f"case_id: no cloud move {case_id!r}", response)


@router.post("/cloud-moves/{case_id}/events", response_model=CloudMoveView, responses={404: {}, 409: {}, 422: {}})
async def cloud_move_event(case_id: str, request: CloudMoveEvent, actor: ActorDep, path: ProcessDep) -> CloudMoveView:
    """record_consultation, record_classification (KLASSA), record_security_analysis,
    record_legal_review, record_cost_analysis, then approve_move or reject_move; withdraw."""
    return await path.event(cloud_move_workflow_id(case_id), CloudMoveWorkflow.apply,
                            CloudMoveCommand, request, actor, f"case_id: no cloud move {case_id!r}")
