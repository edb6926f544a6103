"""Cloud moves and SaaS (rule AG-8): consultation, the four assessments (KLASSA classification,
security analysis, legal review, cost analysis), the decision, and an agreement when internal
costs remain."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field

from domain.common import KEY_PATTERN, REF_PATTERN, SYSTEM_ACTOR
from domain.costing import CostBreakdown, CostLine
from domain.process import (action_of, GuardedProcess, LiveView, Move, ProcessCommand, ProcessDefinition,
                            TransitionRecord)


CONSULTING, ASSESSING, MOVE_APPROVED, MOVE_REJECTED = "consulting", "assessing", "move_approved", "move_rejected"
COMPLETED, AGREEMENT_DRAWN_UP, WITHDRAWN = "completed", "agreement_drawn_up", "withdrawn"

CLOUD_MOVE = ProcessDefinition(
    name="cloud_move",
    states=(CONSULTING, ASSESSING, MOVE_APPROVED, MOVE_REJECTED, COMPLETED, AGREEMENT_DRAWN_UP, WITHDRAWN),
    initial=CONSULTING,
    final=frozenset({MOVE_REJECTED, COMPLETED, AGREEMENT_DRAWN_UP, WITHDRAWN}),
    moves=(
        Move("record_consultation", (CONSULTING,), ASSESSING, "AG-8"),
        Move("record_classification", (ASSESSING,), ASSESSING, "AG-8"),
        Move("record_security_analysis", (ASSESSING,), ASSESSING, "AG-8"),
        Move("record_legal_review", (ASSESSING,), ASSESSING, "AG-8"),
        Move("record_cost_analysis", (ASSESSING,), ASSESSING, "AG-8"),
        Move("approve_move", (ASSESSING,), MOVE_APPROVED, "AG-8", conditions=("assessment_complete", "reviews_clear")),
        Move("reject_move", (ASSESSING,), MOVE_REJECTED, "AG-8", conditions=("assessment_complete",)),
        Move("complete", (MOVE_APPROVED,), COMPLETED, "AG-8", conditions=("no_internal_costs",), by_system=True),
        Move("draw_up_agreement", (MOVE_APPROVED,), AGREEMENT_DRAWN_UP, "AG-8", conditions=("has_internal_costs",),
             by_system=True),
        Move("withdraw", (CONSULTING, ASSESSING), WITHDRAWN, "AG-8"),
    ),
)


def cloud_move_workflow_id(case_id: str) -> str:
    return f"cloud-move-{case_id}"


class CloudMoveRequest(BaseModel):
    case_id: str = Field(pattern=KEY_PATTERN, description="e.g. CM-2026-3")
    application: str = Field(min_length=1, max_length=200)
    unit_id: str = Field(pattern=REF_PATTERN)
    system_owner_ref: str = Field(pattern=REF_PATTERN)
    supplier: str = Field(min_length=1, max_length=200)
    agreement_id: str | None = Field(None, pattern=KEY_PATTERN,
                                     description="the agreement drawn up if internal costs remain")


class Consultation(BaseModel):
    held_on: date
    it_participants: list[str] = Field(min_length=1)
    unit_participants: list[str] = Field(min_length=1)
    notes: str | None = Field(None, max_length=2000)


class Classification(BaseModel):
    """Information classification in KLASSA: confidentiality, integrity, availability levels."""

    confidentiality: int = Field(ge=1, le=4)
    integrity: int = Field(ge=1, le=4)
    availability: int = Field(ge=1, le=4)
    klassa_ref: str = Field(min_length=1, max_length=80)


class Review(BaseModel):
    reference: str = Field(min_length=1, max_length=80)
    summary: str = Field(min_length=1, max_length=2000)
    acceptable: bool = Field(description="security: risks acceptable; legal: no legal obstacle")


class CostAnalysis(BaseModel):
    external_annual_cost: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    internal_cost_lines: list[CostLine] = Field(default_factory=list)
    internal: CostBreakdown | None = None


class RecordConsultation(Consultation):
    event: Literal["record_consultation"] = "record_consultation"


class RecordClassification(Classification):
    event: Literal["record_classification"] = "record_classification"


class RecordSecurityAnalysis(Review):
    event: Literal["record_security_analysis"] = "record_security_analysis"


class RecordLegalReview(Review):
    event: Literal["record_legal_review"] = "record_legal_review"


class RecordCostAnalysis(BaseModel):
    event: Literal["record_cost_analysis"] = "record_cost_analysis"
    external_annual_cost: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    internal_cost_lines: list[CostLine] = Field(default_factory=list,
                                               description="what still costs internally (AG-8)")


class ApproveMove(BaseModel):
    event: Literal["approve_move"] = "approve_move"
    decided_on: date


class RejectMove(BaseModel):
    event: Literal["reject_move"] = "reject_move"
    decided_on: date
    reason: str = Field(min_length=3, max_length=500)


class Withdraw(BaseModel):
    event: Literal["withdraw"] = "withdraw"
    reason: str = Field(min_length=3, max_length=500)


CloudMoveAction = Annotated[
    Union[RecordConsultation, RecordClassification, RecordSecurityAnalysis, RecordLegalReview, RecordCostAnalysis,
          ApproveMove, RejectMove, Withdraw],
    Field(discriminator="event"),
]


class CloudMoveCommand(ProcessCommand):
    action: CloudMoveAction


class CloudMoveSnapshot(BaseModel):
    request: CloudMoveRequest
    state: str = CONSULTING
    consultation: Consultation | None = None
    classification: Classification | None = None
    security_analysis: Review | None = None
    legal_review: Review | None = None
    cost_analysis: CostAnalysis | None = None
    decided_on: date | None = None
    agreement_workflow_id: str | None = None
    log: list[TransitionRecord] = Field(default_factory=list)

    def missing_assessments(self) -> list[str]:
        return [name for name in ("classification", "security_analysis", "legal_review", "cost_analysis")
                if getattr(self, name) is None]

    def internal_costs_remain(self) -> bool:
        analysis = self.cost_analysis
        return analysis is not None and analysis.internal is not None and analysis.internal.total > 0


CLOUD_MOVE_MESSAGES = {
    "assessment_complete": "rule AG-8: KLASSA classification, security analysis, legal review and economic cost "
                           "analysis must all be recorded before the decision",
    "reviews_clear": "rule AG-8: the security analysis or the legal review found an obstacle",
    "no_internal_costs": "rule AG-8: internal costs remain, an agreement is drawn up",
    "has_internal_costs": "rule AG-8: no internal costs remain",
}


class CloudMoveProcess(GuardedProcess):
    definition = CLOUD_MOVE
    condition_messages = CLOUD_MOVE_MESSAGES

    def assessment_complete(self, command: Any = None) -> bool:
        return not self.snapshot.missing_assessments()

    def reviews_clear(self, command: Any = None) -> bool:
        s = self.snapshot
        return bool(s.security_analysis and s.security_analysis.acceptable and s.legal_review
                    and s.legal_review.acceptable)

    def has_internal_costs(self, command: Any = None) -> bool:
        return self.snapshot.internal_costs_remain()

    def no_internal_costs(self, command: Any = None) -> bool:
        return not self.snapshot.internal_costs_remain()

    def refusal(self, trigger: str, command: Any = None) -> str | None:
        refused = super().refusal(trigger, command)
        if refused is not None and refused.endswith(CLOUD_MOVE_MESSAGES["assessment_complete"]):
            return f"{refused} (missing: {', '.join(self.snapshot.missing_assessments())})"
        return refused

    def record_data(self, trigger: str, command: Any, now: datetime, context: dict[str, Any]) -> dict[str, str]:
        snap, action = self.snapshot, action_of(command)
        match action:
            case RecordConsultation():
                snap.consultation = Consultation.model_validate(action.model_dump(exclude={"event"}))
                return {"held_on": action.held_on.isoformat()}
            case RecordClassification():
                snap.classification = Classification.model_validate(action.model_dump(exclude={"event"}))
                return {"klassa": f"K{action.confidentiality} R{action.integrity} T{action.availability}",
                        "klassa_ref": action.klassa_ref}
            case RecordSecurityAnalysis():
                snap.security_analysis = Review.model_validate(action.model_dump(exclude={"event"}))
                return {"reference": action.reference, "acceptable": str(action.acceptable)}
            case RecordLegalReview():
                snap.legal_review = Review.model_validate(action.model_dump(exclude={"event"}))
                return {"reference": action.reference, "acceptable": str(action.acceptable)}
            case RecordCostAnalysis():
                internal = context.get("internal")
                snap.cost_analysis = CostAnalysis(external_annual_cost=action.external_annual_cost,
                                                  internal_cost_lines=action.internal_cost_lines, internal=internal)
                return {"external_annual_cost": str(action.external_annual_cost),
                        "internal_annual_cost": str(internal.total if internal else Decimal("0.00"))}
            case ApproveMove() | RejectMove():
                snap.decided_on = action.decided_on
                return {"decided_on": action.decided_on.isoformat()}
        if "agreement_workflow_id" in context:
            snap.agreement_workflow_id = context["agreement_workflow_id"]
            return {"agreement_workflow_id": snap.agreement_workflow_id}
        return {}


class CloudMoveStart(BaseModel):
    request: CloudMoveRequest
    started_by: str = SYSTEM_ACTOR
    snapshot: CloudMoveSnapshot | None = None


class CloudMoveView(LiveView, CloudMoveSnapshot):
    missing: list[str]
