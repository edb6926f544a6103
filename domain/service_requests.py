"""Service requests ordered through support, each with its own small flow (rules TK-9 … TK-12)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field

from domain.process import GuardedProcess, Move, ProcessCommand, ProcessDefinition, TransitionRecord, action_of
from domain.support_matters import Matter, SupportLevel, hand_back_reason
from domain.common import REF_PATTERN
from domain.tickets import TICKET_NUMBER_PATTERN


def request_workflow_id(number: str) -> str:
    return f"request-{number}"


class RequestKind(str, Enum):
    NON_EMPLOYEE_ACCOUNT = "non_employee_account"  # TK-9
    FUNCTIONAL_MAILBOX = "functional_mailbox"  # TK-10
    PROGRAM_INSTALLATION = "program_installation"  # TK-11
    PHYSICAL_MOVE = "physical_move"  # TK-12
    EXTRA_SUPPORT = "extra_support"  # EQ-13


RULE_OF_KIND = {
    RequestKind.NON_EMPLOYEE_ACCOUNT: "TK-9",
    RequestKind.FUNCTIONAL_MAILBOX: "TK-10",
    RequestKind.PROGRAM_INSTALLATION: "TK-11",
    RequestKind.PHYSICAL_MOVE: "TK-12",
    RequestKind.EXTRA_SUPPORT: "EQ-13",
}
# Rules TK-12, EQ-13 (BL-1): work delivered on these requests is charged to the unit per hour.
HOURLY_KINDS = (RequestKind.PHYSICAL_MOVE, RequestKind.EXTRA_SUPPORT)


class NonEmployeeAccount(BaseModel):
    """Rule TK-9: a user account for a person who is not employed by the municipality."""

    kind: Literal["non_employee_account"] = "non_employee_account"
    holder: str = Field(min_length=1, max_length=120, description="who gets the account")
    organisation: str = Field(min_length=1, max_length=120, description="e.g. the consultant's company")
    role: Literal["consultant", "elected_official", "pupil", "trainee", "other"] = "consultant"
    valid_until: date = Field(description="the account is closed after this day")


class FunctionalMailbox(BaseModel):
    """Rule TK-10: an address for a function that citizens need to reach directly."""

    kind: Literal["functional_mailbox"] = "functional_mailbox"
    address: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$", description="local part, e.g. bygglov")
    function_description: str = Field(min_length=1, max_length=500)
    owner_ref: str = Field(pattern=REF_PATTERN, description="employee responsible for the mailbox")


class ProgramInstallation(BaseModel):
    """Rule TK-11: a work-related program that is missing from Software Center."""

    kind: Literal["program_installation"] = "program_installation"
    program: str = Field(min_length=1, max_length=120)
    version: str | None = Field(None, max_length=40)
    device_order_number: str | None = Field(None, pattern=TICKET_NUMBER_PATTERN)
    support_level: SupportLevel | None = None
    work_related_reason: str = Field(min_length=1, max_length=500)
    in_software_center: bool = Field(False, description="if it is there, the user installs it from Software Center")


class PhysicalMove(BaseModel):
    """Rule TK-12: a physical move of equipment ordered from IT, charged per hour."""

    kind: Literal["physical_move"] = "physical_move"
    from_location: str = Field(min_length=1, max_length=120)
    to_location: str = Field(min_length=1, max_length=120)
    device_order_numbers: list[str] = Field(default_factory=list, max_length=200)
    description: str | None = Field(None, max_length=1000)


class ExtraSupport(BaseModel):
    """Rule EQ-13: support from IT beyond what a phone's or tablet's service fee covers (apps, handling),
    charged per hour."""

    kind: Literal["extra_support"] = "extra_support"
    description: str = Field(min_length=1, max_length=1000)
    device_order_number: str | None = Field(None, pattern=TICKET_NUMBER_PATTERN)


RequestDetails = Annotated[
    Union[NonEmployeeAccount, FunctionalMailbox, ProgramInstallation, PhysicalMove, ExtraSupport],
    Field(discriminator="kind")
]


class ServiceRequestOrder(BaseModel):
    number: str = Field(pattern=TICKET_NUMBER_PATTERN)
    unit_id: str = Field(pattern=REF_PATTERN)
    applicant_ref: str = Field(pattern=REF_PATTERN, description="who applies (TK-9: a manager or designated person)")
    details: RequestDetails


# --- states and moves ---------------------------------------------------------------------------
SUBMITTED, IN_PROGRESS, DELIVERED, REJECTED, REQ_HANDED_BACK = (
    "submitted", "in_progress", "delivered", "rejected", "handed_back")
REQUEST_FINAL = frozenset({DELIVERED, REJECTED, REQ_HANDED_BACK})

SERVICE_REQUEST = ProcessDefinition(
    name="service_request",
    states=(SUBMITTED, IN_PROGRESS, DELIVERED, REJECTED, REQ_HANDED_BACK),
    initial=SUBMITTED,
    final=REQUEST_FINAL,
    moves=(
        Move("start_work", (SUBMITTED, IN_PROGRESS), IN_PROGRESS, "TK-9…TK-12"),
        Move("deliver", (IN_PROGRESS,), DELIVERED, "TK-9…TK-12", conditions=("time_given_for_move",)),
        Move("reject", (SUBMITTED, IN_PROGRESS), REJECTED, "TK-9…TK-12"),
        Move("hand_back", (SUBMITTED, IN_PROGRESS), REQ_HANDED_BACK, "TK-7", conditions=("unit_installs",)),
    ),
)


class StartWork(BaseModel):
    event: Literal["start_work"] = "start_work"
    assignee: str = Field(pattern=REF_PATTERN)


class DeliverRequest(BaseModel):
    event: Literal["deliver"] = "deliver"
    result: str | None = Field(None, max_length=1000, description="e.g. the account name or the address created")
    minutes_worked: int | None = Field(None, ge=1, le=7 * 24 * 60, description="physical moves: charged (TK-12)")


class Reject(BaseModel):
    event: Literal["reject"] = "reject"


class HandBackRequest(BaseModel):
    event: Literal["hand_back"] = "hand_back"


RequestAction = Annotated[Union[StartWork, DeliverRequest, Reject, HandBackRequest], Field(discriminator="event")]


class RequestCommand(ProcessCommand):
    action: RequestAction


class RequestTerms(BaseModel):
    municipality: str
    support_level: SupportLevel | None = None


class RequestSnapshot(BaseModel):
    order: ServiceRequestOrder
    terms: RequestTerms | None = None
    state: str = SUBMITTED
    assignee: str | None = None
    result: str | None = None
    minutes_worked: int | None = None
    log: list[TransitionRecord] = Field(default_factory=list)

    @property
    def kind(self) -> RequestKind:
        return RequestKind(self.order.details.kind)


class RequestProcess(GuardedProcess):
    """Conditions receive the RequestCommand (None when listing allowed events: could some command do it)."""

    definition = SERVICE_REQUEST
    condition_messages = {
        "time_given_for_move": "rules TK-12, EQ-13: a physical move or extra support is charged per hour; "
                               "give minutes_worked",
        "unit_installs": "rule TK-7: IT owns this request under the device's support level",
    }
    snapshot: RequestSnapshot

    def time_given_for_move(self, command: Any = None) -> bool:
        action = action_of(command)
        return (self.snapshot.kind not in HOURLY_KINDS or action is None
                or bool(getattr(action, "minutes_worked", None)))

    def hand_back_reason(self) -> str | None:
        """Rules TK-7/TK-11: on a teacher or student computer the unit installs programs."""
        if self.snapshot.kind is not RequestKind.PROGRAM_INSTALLATION or self.snapshot.terms is None:
            return None
        return hand_back_reason(Matter.PROGRAM_INSTALLATION, self.snapshot.terms.support_level)

    def unit_installs(self, command: Any = None) -> bool:
        return self.hand_back_reason() is not None

    def rule_for(self, trigger: str, source: str | None = None) -> str:
        """Each request kind has its own rule (TK-9 … TK-12); a hand-back is TK-7's."""
        return "TK-7" if trigger == "hand_back" else RULE_OF_KIND[self.snapshot.kind]

    def record_data(self, trigger: str, command: Any, now: datetime, context: dict[str, Any]) -> dict[str, str]:
        snap, action = self.snapshot, action_of(command)
        details: dict[str, str] = {}
        match action:
            case StartWork():
                details["assignee"] = f"{snap.assignee} -> {action.assignee}"
                snap.assignee = action.assignee
            case DeliverRequest():
                if action.result:
                    snap.result = details["result"] = action.result
                if action.minutes_worked is not None:
                    snap.minutes_worked = action.minutes_worked
                    details["minutes_worked"] = str(action.minutes_worked)
        return details


class RequestStart(BaseModel):
    order: ServiceRequestOrder
    snapshot: RequestSnapshot | None = None
    submitted_by: str = "support"
    move_hourly_rate: Decimal = Decimal("650.00")  # the defaults are config.Settings' defaults
    move_increment_minutes: int = 30


class RequestCharge(BaseModel):
    """Rule TK-12: a move ordered from IT is charged per hour (started increments)."""

    minutes_worked: int
    minutes_charged: int
    hours: Decimal
    hourly_rate: Decimal
    amount: Decimal
    charged_on: date


class RequestView(BaseModel):
    number: str
    workflow_id: str
    kind: RequestKind
    rule: str
    state: str
    unit_id: str
    applicant_ref: str
    assignee: str | None
    details: RequestDetails
    result: str | None
    minutes_worked: int | None
    handed_back_reason: str | None
    charge: RequestCharge | None = Field(None, description="rule TK-12: what the unit was charged for the move")
    allowed_events: list[str]
    log: list[TransitionRecord]


class RegisterRequestInput(BaseModel):
    workflow_id: str
    order: ServiceRequestOrder
    submitted_at: datetime


class RequestMirror(BaseModel):
    number: str
    record: TransitionRecord
    state: str
    assignee: str | None
    result: str | None
    minutes_worked: int | None
