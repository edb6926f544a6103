"""Development cases (rules GV-3, GV-4): changes outside agreements and the framework assignment,
routed by kind and size to the IT strategist, it-forum utveckling or it-styrgrupp."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, model_validator

from domain.common import KEY_PATTERN, REF_PATTERN, SYSTEM_ACTOR
from domain.process import (action_of, GuardedProcess, LiveView, Move, ProcessCommand, ProcessDefinition,
                            TransitionRecord)


class CaseKind(str, Enum):
    CHANGE = "change"  # a change to the IT environments outside agreements and the framework
    NEW_SYSTEM_SETUP = "new_system_setup"
    ADDITION_TO_EXISTING = "addition_to_existing"
    PILOT = "pilot"  # evaluating new technology (GV-4)


class DevelopmentCaseRequest(BaseModel):
    case_id: str = Field(pattern=KEY_PATTERN, description="e.g. DEV-2026-14")
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=4000)
    kind: CaseKind
    unit_id: str = Field(pattern=REF_PATTERN, description="the requesting unit, or IT itself")
    estimated_cost: Decimal = Field(ge=0, max_digits=12, decimal_places=2, description="SEK")
    callable_off_within_procured_agreements: bool = Field(
        False, description="pilot only: the product can be evaluated by call-off (GV-4)")
    covered_by_agreement_id: str | None = Field(None, pattern=KEY_PATTERN)
    within_framework_assignment: bool = False

    @model_validator(mode="after")
    def _is_a_development_case(self) -> "DevelopmentCaseRequest":
        if self.kind is CaseKind.PILOT and self.callable_off_within_procured_agreements:
            raise ValueError("kind: rule GV-4: evaluating a product that can be called off within procured "
                             "agreements is part of the ordinary assignment, not a development case")
        if self.covered_by_agreement_id:
            raise ValueError(f"covered_by_agreement_id: rule GV-3: the change fits application agreement "
                             f"{self.covered_by_agreement_id} and is handled in its yearly revision (AG-4)")
        if self.within_framework_assignment:
            raise ValueError("within_framework_assignment: rule GV-3: the change fits the framework assignment")
        return self


def is_large(request: DevelopmentCaseRequest, threshold: Decimal) -> bool:
    """Rule GV-3: at or above the threshold (configurable) a case is large."""
    return request.estimated_cost >= threshold


def initial_route(request: DevelopmentCaseRequest, threshold: Decimal) -> str:
    """Rules GV-3, GV-4: pilots pass it-forum utveckling; additions to existing solutions can be
    decided by the IT strategist; otherwise small cases go to the strategist, large ones to
    it-styrgrupp. New system setups are development cases, routed by size."""
    if request.kind is CaseKind.PILOT:
        return "to_forum"
    if request.kind is CaseKind.ADDITION_TO_EXISTING:
        return "to_strategist"
    return "to_steering_group" if is_large(request, threshold) else "to_strategist"


REGISTERED, AT_FORUM, WITH_STRATEGIST, D_AT_STEERING_GROUP = "registered", "at_forum", "with_strategist", "at_steering_group"
D_APPROVED, REJECTED, IN_PROGRESS, COMPLETED, D_WITHDRAWN = "approved", "rejected", "in_progress", "completed", "withdrawn"

DEVELOPMENT_CASE = ProcessDefinition(
    name="development_case",
    states=(REGISTERED, AT_FORUM, WITH_STRATEGIST, D_AT_STEERING_GROUP, D_APPROVED, REJECTED, IN_PROGRESS, COMPLETED,
            D_WITHDRAWN),
    initial=REGISTERED,
    final=frozenset({REJECTED, COMPLETED, D_WITHDRAWN}),
    moves=(
        Move("to_forum", (REGISTERED,), AT_FORUM, "GV-4", by_system=True),
        Move("to_strategist", (REGISTERED,), WITH_STRATEGIST, "GV-3", by_system=True),
        Move("to_steering_group", (REGISTERED,), D_AT_STEERING_GROUP, "GV-3", by_system=True),
        Move("forum_pass", (AT_FORUM,), WITH_STRATEGIST, "GV-4", conditions=("is_small",)),
        Move("forum_pass", (AT_FORUM,), D_AT_STEERING_GROUP, "GV-4", conditions=("is_large",)),
        Move("forum_reject", (AT_FORUM,), REJECTED, "GV-4"),
        Move("strategist_approve", (WITH_STRATEGIST,), D_APPROVED, "GV-3"),
        Move("strategist_reject", (WITH_STRATEGIST,), REJECTED, "GV-3"),
        Move("escalate", (WITH_STRATEGIST,), D_AT_STEERING_GROUP, "GV-3"),
        Move("prioritise", (D_AT_STEERING_GROUP,), D_APPROVED, "GV-3"),
        Move("steering_reject", (D_AT_STEERING_GROUP,), REJECTED, "GV-3"),
        Move("start_work", (D_APPROVED,), IN_PROGRESS, "GV-3"),
        Move("complete", (IN_PROGRESS,), COMPLETED, "GV-3"),
        Move("withdraw", (AT_FORUM, WITH_STRATEGIST, D_AT_STEERING_GROUP, D_APPROVED), D_WITHDRAWN, "GV-3"),
    ),
)


def development_case_workflow_id(case_id: str) -> str:
    return f"devcase-{case_id}"


class _CaseDecision(BaseModel):
    decided_on: date
    minutes_ref: str | None = Field(None, max_length=80)


class ForumPass(_CaseDecision):
    event: Literal["forum_pass"] = "forum_pass"
    minutes_ref: str = Field(min_length=1, max_length=80)


class ForumReject(_CaseDecision):
    event: Literal["forum_reject"] = "forum_reject"
    reason: str = Field(min_length=3, max_length=500)


class StrategistApprove(_CaseDecision):
    event: Literal["strategist_approve"] = "strategist_approve"


class StrategistReject(_CaseDecision):
    event: Literal["strategist_reject"] = "strategist_reject"
    reason: str = Field(min_length=3, max_length=500)


class Escalate(BaseModel):
    event: Literal["escalate"] = "escalate"
    reason: str = Field(min_length=3, max_length=500, description="why it exceeds the strategist's mandate")


class Prioritise(_CaseDecision):
    event: Literal["prioritise"] = "prioritise"
    minutes_ref: str = Field(min_length=1, max_length=80)
    priority: int = Field(ge=1, le=999, description="it-styrgrupp's priority, 1 = first")


class CaseSteeringReject(_CaseDecision):
    event: Literal["steering_reject"] = "steering_reject"
    minutes_ref: str = Field(min_length=1, max_length=80)
    reason: str = Field(min_length=3, max_length=500)


class StartWork(BaseModel):
    event: Literal["start_work"] = "start_work"


class CompleteCase(BaseModel):
    event: Literal["complete"] = "complete"


class WithdrawCase(BaseModel):
    event: Literal["withdraw"] = "withdraw"
    reason: str = Field(min_length=3, max_length=500)


CaseAction = Annotated[
    Union[ForumPass, ForumReject, StrategistApprove, StrategistReject, Escalate, Prioritise, CaseSteeringReject,
          StartWork, CompleteCase, WithdrawCase],
    Field(discriminator="event"),
]


class DevelopmentCaseCommand(ProcessCommand):
    action: CaseAction


class DevelopmentCaseSnapshot(BaseModel):
    request: DevelopmentCaseRequest
    threshold: Decimal
    large: bool
    state: str = REGISTERED
    priority: int | None = None
    decided_by: str | None = None
    decided_on: date | None = None
    log: list[TransitionRecord] = Field(default_factory=list)


class DevelopmentCaseProcess(GuardedProcess):
    definition = DEVELOPMENT_CASE
    condition_messages = {"is_small": "rule GV-3: below the threshold", "is_large": "rule GV-3: at or above the threshold"}

    def is_small(self, command: Any = None) -> bool:
        return not self.snapshot.large

    def is_large(self, command: Any = None) -> bool:
        return self.snapshot.large

    def record_data(self, trigger: str, command: Any, now: datetime, context: dict[str, Any]) -> dict[str, str]:
        snap, action = self.snapshot, action_of(command)
        details: dict[str, str] = {}
        if trigger.startswith("to_"):
            details = {"estimated_cost": str(snap.request.estimated_cost), "threshold": str(snap.threshold),
                       "size": "large" if snap.large else "small"}
        if isinstance(action, _CaseDecision):
            snap.decided_on = action.decided_on
            snap.decided_by = {"forum": "it-forum utveckling", "strategist": "it-strateg",
                               "prioritise": "it-styrgrupp", "steering": "it-styrgrupp"}[trigger.split("_")[0]]
            details.update(decided_on=action.decided_on.isoformat(), decided_by=snap.decided_by)
            if action.minutes_ref:
                details["minutes_ref"] = action.minutes_ref
        if isinstance(action, Prioritise):
            snap.priority = action.priority
            details["priority"] = str(action.priority)
        return details


class DevelopmentCaseStart(BaseModel):
    request: DevelopmentCaseRequest
    threshold: Decimal = Field(ge=0, description="GV-3 size threshold in SEK, fixed when the case is registered")
    started_by: str = SYSTEM_ACTOR
    snapshot: DevelopmentCaseSnapshot | None = None


class DevelopmentCaseView(LiveView, DevelopmentCaseSnapshot):
    """What the live Query answers."""
