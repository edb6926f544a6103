"""New and changed services: described for the framework assignment, priced by tjänstefieringsgruppen,
then their agreement drawn up (rule AG-7)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import access
from api.deps import ActorDep, Limit, Offset, PrincipalDep, ProcessDep, SessionDep
from api.processes import EventRequest, known_unit, mirrored_view
from api.repeats import Repeat
from db.agreement_models import AgreementRow, ServiceDefinitionRow
from domain.service_introduction import service_workflow_id, ServiceAction, ServiceCommand, ServiceDefinition, ServiceDelivery, ServiceStart, ServiceView
from workflows.agreements import ServiceIntroductionWorkflow

router = APIRouter(tags=["agreements"])


class ServiceEvent(EventRequest):
    action: ServiceAction


@router.post("/services", status_code=status.HTTP_201_CREATED, response_model=ServiceView, responses={422: {}})
async def deliver_service(delivery: ServiceDelivery, actor: ActorDep, path: ProcessDep,
                          response: Response, principal: PrincipalDep) -> ServiceView:
    """Rule AG-7: a new or changed service is delivered; an undefined one is described and priced
    first, then the agreement is drawn up."""
    def check(session: Session) -> None:
        known_unit(session, delivery.agreement.unit_id, "agreement.unit_id")
        if session.get(AgreementRow, delivery.agreement.agreement_id) is not None:
            raise HTTPException(409, f"agreement.agreement_id: agreement {delivery.agreement.agreement_id!r} exists")

    await path.db(check)
    return await path.start(ServiceIntroductionWorkflow.run, ServiceStart(delivery=delivery, started_by=actor),
                            service_workflow_id(delivery.service_code), ServiceIntroductionWorkflow.ready, response,
                            repeat=Repeat.of(delivery, "service_code", "service", original=lambda v: v.delivery,
                                             visible=lambda _: access.may_read(principal, "/services/{service_code}")))


@router.get("/services", response_model=list[ServiceDefinition])
def list_services(session: SessionDep, status_: Annotated[str | None, Query(alias="status")] = None,
                  limit: Limit = 200, offset: Offset = 0):
    query = select(ServiceDefinitionRow).order_by(ServiceDefinitionRow.code).limit(limit).offset(offset)
    if status_ is not None:
        query = query.where(ServiceDefinitionRow.status == status_)
    return [ServiceDefinition.model_validate(row, from_attributes=True) for row in session.scalars(query)]


@router.get("/services/{service_code}", response_model=ServiceView)
async def get_service(service_code: str, path: ProcessDep, response: Response) -> ServiceView:
    return await mirrored_view(path, service_workflow_id(service_code), ServiceIntroductionWorkflow.view, ServiceView,
                               f"service_code: no service {service_code!r}", response)


@router.post("/services/{service_code}/events", response_model=ServiceView, responses={404: {}, 409: {}, 422: {}})
async def service_event(service_code: str, request: ServiceEvent, actor: ActorDep, path: ProcessDep) -> ServiceView:
    """describe (for the framework assignment), set_price (tjänstefieringsgruppen), cancel."""
    return await path.event(service_workflow_id(service_code), ServiceIntroductionWorkflow.apply,
                            ServiceCommand, request, actor, f"service_code: no service {service_code!r}")
