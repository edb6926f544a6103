"""New or changed services (rule AG-7): a service IT delivered without a definition is described,
priced by tjänstefieringsgruppen, and then gets its application agreement drawn up."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field

from domain.agreements import AgreementContent
from domain.common import SYSTEM_ACTOR
from domain.costing import SERVICE_CODE_PATTERN, CostComponent
from domain.process import (action_of, GuardedProcess, LiveView, Move, ProcessCommand, ProcessDefinition,
                            TransitionRecord)


S_STARTED, AWAITING_DESCRIPTION, AWAITING_PRICE, PRICED = "started", "awaiting_description", "awaiting_price", "priced"
AGREEMENT_STARTED, S_CANCELLED = "agreement_started", "cancelled"

SERVICE = ProcessDefinition(
    name="service_introduction",
    states=(S_STARTED, AWAITING_DESCRIPTION, AWAITING_PRICE, PRICED, AGREEMENT_STARTED, S_CANCELLED),
    initial=S_STARTED,
    final=frozenset({AGREEMENT_STARTED, S_CANCELLED}),
    moves=(
        Move("needs_definition", (S_STARTED,), AWAITING_DESCRIPTION, "AG-7", by_system=True),
        Move("describe", (AWAITING_DESCRIPTION, AWAITING_PRICE), AWAITING_PRICE, "AG-7"),
        Move("set_price", (AWAITING_PRICE,), PRICED, "AG-7"),
        Move("draw_up_agreement", (S_STARTED, PRICED), AGREEMENT_STARTED, "AG-7", by_system=True),
        Move("cancel", (S_STARTED, AWAITING_DESCRIPTION, AWAITING_PRICE, PRICED), S_CANCELLED, "AG-7"),
    ),
)


def service_workflow_id(service_code: str) -> str:
    return f"service-{service_code}"


class ServiceDelivery(BaseModel):
    """A new or changed service IT has delivered to a unit (rule AG-7)."""

    service_code: str = Field(pattern=SERVICE_CODE_PATTERN, description="e.g. svc-teams-rooms")
    name: str = Field(min_length=1, max_length=200)
    agreement: AgreementContent = Field(description="the agreement drawn up for the delivery")


class Describe(BaseModel):
    event: Literal["describe"] = "describe"
    description: str = Field(min_length=10, max_length=4000, description="text for the framework assignment")
    component: CostComponent
    unit: str = Field(min_length=1, max_length=40, description="what is counted, e.g. 'room'")


class SetPrice(BaseModel):
    event: Literal["set_price"] = "set_price"
    unit_price: Decimal = Field(ge=0, max_digits=12, decimal_places=2, description="annual SEK per unit")
    decided_on: date
    minutes_ref: str | None = Field(None, max_length=80, description="tjänstefieringsgruppen's minutes")


class CancelService(BaseModel):
    event: Literal["cancel"] = "cancel"
    reason: str = Field(min_length=3, max_length=500)


ServiceAction = Annotated[Union[Describe, SetPrice, CancelService], Field(discriminator="event")]


class ServiceCommand(ProcessCommand):
    action: ServiceAction


class ServiceDefinition(BaseModel):
    code: str
    name: str
    description: str | None = None
    component: CostComponent | None = None
    unit: str | None = None
    status: Literal["awaiting_description", "awaiting_price", "priced", "in_force"] = "awaiting_description"
    for_year: int | None = None
    unit_price: Decimal | None = None


class ServiceSnapshot(BaseModel):
    delivery: ServiceDelivery
    state: str = S_STARTED
    definition: ServiceDefinition | None = None
    agreement_workflow_id: str | None = None
    log: list[TransitionRecord] = Field(default_factory=list)


class ServiceProcess(GuardedProcess):
    definition = SERVICE

    def record_data(self, trigger: str, command: Any, now: datetime, context: dict[str, Any]) -> dict[str, str]:
        snap, action = self.snapshot, action_of(command)
        if "definition" in context:
            snap.definition = context["definition"]
        if "agreement_workflow_id" in context:
            snap.agreement_workflow_id = context["agreement_workflow_id"]
            return {"agreement_workflow_id": snap.agreement_workflow_id}
        match action:
            case Describe():
                return {"component": action.component.value, "unit": action.unit}
            case SetPrice():
                assert snap.definition is not None
                return {"unit_price": str(action.unit_price), "for_year": str(snap.definition.for_year),
                        "minutes_ref": action.minutes_ref or "",
                        "decided_on": action.decided_on.isoformat()}  # issue 20: it was accepted and dropped
        return {}


class ServiceStart(BaseModel):
    delivery: ServiceDelivery
    started_by: str = SYSTEM_ACTOR
    snapshot: ServiceSnapshot | None = None


class ServiceView(LiveView, ServiceSnapshot):
    """What the live Query answers."""


class ServiceDefinitionUpsert(BaseModel):
    definition: ServiceDefinition
    workflow_id: str
    actor: str
    at: datetime
