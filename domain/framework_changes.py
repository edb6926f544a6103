"""Framework change (rules GV-1, GV-2): the framework assignment's versioned parameters, and the
change process from it-forum utveckling through it-styrgrupp and both kommunstyrelser to
samverkansnämnd it."""
from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, field_validator, model_validator

from domain.catalogue import Category, Price
from domain.common import KEY_PATTERN, LOCAL_TZ, MUNICIPALITIES, SYSTEM_ACTOR, Municipality
from domain.costing import SERVICE_CODE_PATTERN, PriceItem
from domain.process import (action_of, GuardedProcess, LiveView, Move, ProcessCommand, ProcessDefinition,
                            TransitionRecord, same_person)
from domain.support_calendar import DEFAULT_HOURS, DEFAULT_WINDOW_RULES, ServiceWindowRule

ServiceCode = Annotated[str, Field(pattern=SERVICE_CODE_PATTERN)]


# --- the framework's parameters, versioned with it (GV-1, GV-2) ------------------------------
class OpeningHours(BaseModel):
    """Support hours of one weekday, Monday = 0 (rule TK-1)."""

    weekday: int = Field(ge=0, le=6)
    opens: time
    closes: time

    @field_validator("opens", "closes")
    @classmethod
    def _wall_clock(cls, value: time) -> time:
        # rule TK-1: local wall-clock times; a number or an offset (e.g. `0`, which parses as 00:00Z) is refused
        # here rather than failing the comparison below (issue 20)
        if value.tzinfo is not None:
            raise ValueError("a local time of day without an offset, e.g. 16:30")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> "OpeningHours":
        if not self.opens < self.closes:
            raise ValueError(f"support_hours: weekday {self.weekday} must open before it closes")
        return self


class RenewalPeriod(BaseModel):
    """Rule EQ-5: renewal period per category and municipality (None: no automatic renewal)."""

    category: Category
    municipality: Municipality
    renewal_months: int | None = Field(None, ge=1, le=120)


def _default_hours() -> list[OpeningHours]:
    return [OpeningHours(weekday=d, opens=o, closes=c) for d, (o, c) in sorted(DEFAULT_HOURS.items())]


def _default_windows() -> list[ServiceWindowRule]:
    return list(DEFAULT_WINDOW_RULES)


def _default_renewals() -> list[RenewalPeriod]:
    return [
        RenewalPeriod(category=Category.WORKSTATION, municipality="tranemo", renewal_months=48),
        RenewalPeriod(category=Category.WORKSTATION, municipality="ulricehamn", renewal_months=48),
        RenewalPeriod(category=Category.STUDENT_COMPUTER, municipality="ulricehamn", renewal_months=36),
    ]


class FrameworkParameters(BaseModel):
    """What the rest of Ramflow reads from the framework assignment in force; a decision changes
    them from a date, without a code change."""

    # validated at the proposal: an empty hours table would fail every new ticket's workflow (TK-1, TK-5)
    support_hours: list[OpeningHours] = Field(default_factory=_default_hours, min_length=1, max_length=7,
                                              description="rule TK-1: at least one open weekday")
    availability_target_percent: Decimal = Field(Decimal("99.1"), ge=90, le=100, decimal_places=3,
                                                 description="rule AV-1: between 90 and 100 %")
    max_incidents_per_year: int = Field(5, ge=0, le=365, description="rule AV-3: at most one a day")
    service_windows: list[ServiceWindowRule] = Field(default_factory=_default_windows, description="rule AV-2")
    renewal_periods: list[RenewalPeriod] = Field(default_factory=_default_renewals, description="rule EQ-5")
    price_list_year: int = Field(ge=2000, le=2100, description="the price list this version decides (AG-5)")

    @model_validator(mode="after")
    def _unique(self) -> "FrameworkParameters":
        days = [h.weekday for h in self.support_hours]
        if len(days) != len(set(days)):
            raise ValueError("support_hours: one entry per weekday")
        keys = [(r.category, r.municipality) for r in self.renewal_periods]
        if len(keys) != len(set(keys)):
            raise ValueError("renewal_periods: one entry per category and municipality")
        if sorted(w.kind for w in self.service_windows) not in (["primary"], ["primary", "secondary"]):
            raise ValueError("service_windows: one primary window and at most one secondary")
        return self

    def hours(self) -> dict[int, tuple[time, time]]:
        """Support hours as `SupportCalendar(hours=...)` takes them (rule TK-1)."""
        return {h.weekday: (h.opens, h.closes) for h in self.support_hours}

    def window_rules(self) -> tuple[ServiceWindowRule, ...]:
        """Service-window rules as `SupportCalendar(window_rules=...)` takes them (rule AV-2)."""
        return tuple(self.service_windows)

    def renewal_months(self, category: Category, municipality: str) -> int | None:
        for period in self.renewal_periods:
            if period.category == category and period.municipality == municipality:
                return period.renewal_months
        return None


class FrameworkVersion(BaseModel):
    """A decided version of the framework assignment and its parameters (rules GV-1, GV-2)."""

    id: str
    title: str
    kind: Literal["base", "yearly", "acute"]
    effective_from: date
    decided_on: date | None = None
    minutes_ref: str | None = None
    status: Literal["decided", "in_force", "superseded"] = "decided"
    parameters: FrameworkParameters
    services: list[str] = Field(default_factory=list, description="service codes of the service catalogue")
    activated_at: datetime | None = None


def parameters_in_force(versions: list[FrameworkVersion], on_date: date) -> FrameworkVersion:
    """The version whose parameters apply on `on_date`: the latest decided one that has taken
    effect by then (rule GV-2). By date, so a late worker cannot delay a decision."""
    candidates = [v for v in versions if v.effective_from <= on_date and v.status != "superseded"]  # rule GV-1
    if not candidates:
        raise LookupError(f"no framework version in force on {on_date.isoformat()}")
    return max(candidates, key=lambda v: (v.effective_from, v.decided_on or date.min, v.id))


# --- the change process (GV-1, GV-2) ----------------------------------------------------------
IN_PREPARATION, AT_STEERING_GROUP, AT_BOARDS, AT_COMMITTEE = "in_preparation", "at_steering_group", "at_boards", "at_committee"
DECIDED, IN_FORCE, WITHDRAWN, SUPERSEDED = "decided", "in_force", "withdrawn", "superseded"
OPEN_STATES = (IN_PREPARATION, AT_STEERING_GROUP, AT_BOARDS, AT_COMMITTEE)

FRAMEWORK_CHANGE = ProcessDefinition(
    name="framework_change",
    states=(IN_PREPARATION, AT_STEERING_GROUP, AT_BOARDS, AT_COMMITTEE, DECIDED, IN_FORCE, WITHDRAWN, SUPERSEDED),
    initial=IN_PREPARATION,
    final=frozenset({IN_FORCE, WITHDRAWN, SUPERSEDED}),
    moves=(
        Move("revise", (IN_PREPARATION,), IN_PREPARATION, "GV-2"),
        Move("forum_prepare", (IN_PREPARATION,), AT_STEERING_GROUP, "GV-2", conditions=("dated_in_chain_order",)),
        Move("steering_approve", (AT_STEERING_GROUP,), AT_BOARDS, "GV-2", conditions=("dated_in_chain_order",)),
        Move("steering_reject", (AT_STEERING_GROUP,), IN_PREPARATION, "GV-2", conditions=("dated_in_chain_order",)),
        Move("board_approve", (AT_BOARDS,), AT_COMMITTEE, "GV-2", conditions=("board_may_decide", "dated_in_chain_order", "completes_boards")),
        Move("board_approve", (AT_BOARDS,), AT_BOARDS, "GV-2", conditions=("board_may_decide", "dated_in_chain_order", "leaves_board_pending")),
        Move("board_reject", (AT_BOARDS,), IN_PREPARATION, "GV-2", conditions=("board_may_decide", "dated_in_chain_order")),
        Move("committee_decide", (AT_COMMITTEE,), DECIDED, "GV-2", conditions=("dated_in_chain_order",)),
        Move("committee_reject", (AT_COMMITTEE,), IN_PREPARATION, "GV-2", conditions=("dated_in_chain_order",)),
        Move("take_effect", (DECIDED,), IN_FORCE, "GV-1", by_system=True),
        # rule GV-1: a later yearly revision of the same year replaced it before its date
        Move("supersede", (DECIDED,), SUPERSEDED, "GV-1", by_system=True),
        Move("withdraw", OPEN_STATES, WITHDRAWN, "GV-1"),
    ),
)

BODIES = {
    "forum_prepare": "it-forum utveckling",
    "steering_approve": "it-styrgrupp", "steering_reject": "it-styrgrupp",
    "board_approve": "kommunstyrelsen", "board_reject": "kommunstyrelsen",
    "committee_decide": "samverkansnämnd it", "committee_reject": "samverkansnämnd it",
}


def decision_body(trigger: str, action: Any) -> str:
    """The body whose decision `trigger` records (a kommunstyrelse with its municipality)."""
    return BODIES[trigger] + (f" {action.municipality}" if hasattr(action, "municipality") else "")


def framework_workflow_id(proposal_id: str) -> str:
    return f"framework-{proposal_id}"


class FrameworkProposal(BaseModel):
    """A change proposal: the yearly revision or an acute one (rule GV-1)."""

    proposal_id: str = Field(pattern=KEY_PATTERN, description="yearly-2027, or e.g. acute-sfs-2026-123")
    kind: Literal["yearly", "acute"]
    title: str = Field(min_length=1, max_length=200)
    summary: str | None = Field(None, max_length=4000)
    law_reference: str | None = Field(None, max_length=120, description="acute: the change in law (GV-1)")
    effective_from: date
    parameters: FrameworkParameters
    services: list[ServiceCode] = Field(default_factory=list, description="service codes entering the catalogue (AG-7)")
    prices: list[PriceItem] = Field(default_factory=list, description="price list of parameters.price_list_year")
    equipment_prices: list[Price] = Field(default_factory=list,
                                          description="equipment prices of parameters.price_list_year (EQ-4, AG-5)")
    supersedes: str | None = Field(None, pattern=KEY_PATTERN,
                                   description="rule GV-1: the decided yearly revision of the same year it replaces")

    @model_validator(mode="after")
    def _gv1(self) -> "FrameworkProposal":
        if self.kind == "acute" and not self.law_reference:
            raise ValueError("law_reference: rule GV-1 allows a change outside the yearly revision only at "
                             "acute need (a change in law)")
        if self.kind == "yearly" and (self.effective_from.month, self.effective_from.day) != (1, 1):
            raise ValueError("effective_from: rule GV-1/AG-5: the yearly revision takes effect on 1 January")
        wrong = [p.item for p in self.prices if p.year != self.parameters.price_list_year]
        wrong += [p.model_code for p in self.equipment_prices if p.year != self.parameters.price_list_year]
        if wrong:
            raise ValueError(f"prices, equipment_prices: {wrong} are not for price_list_year "
                             f"{self.parameters.price_list_year}")
        return self


class DecisionRecord(BaseModel):
    """Each step records the decision, its date and the minutes reference (rule GV-2)."""

    body: str
    municipality: Municipality | None = None
    decision: Literal["prepared", "approved", "rejected", "decided"]
    decided_on: date
    minutes_ref: str
    reason: str | None = None
    actor: str
    at: datetime
    person: str | None = Field(None, description="the secretary's employee number, when known")


class _Decision(BaseModel):
    decided_on: date
    minutes_ref: str = Field(min_length=1, max_length=80, description="protokoll, e.g. 'KS 2026-10-12 § 123'")


class _Rejection(_Decision):
    reason: str = Field(min_length=3, max_length=500, description="sent back to it-forum utveckling with it")


class ReviseProposal(BaseModel):
    event: Literal["revise"] = "revise"
    title: str | None = Field(None, min_length=1, max_length=200)
    summary: str | None = Field(None, max_length=4000)
    law_reference: str | None = Field(None, max_length=120)
    effective_from: date | None = None
    parameters: FrameworkParameters | None = None
    services: list[ServiceCode] | None = None
    prices: list[PriceItem] | None = None

    def applied_to(self, proposal: FrameworkProposal) -> FrameworkProposal:
        changes = self.model_dump(exclude={"event"}, exclude_unset=True, exclude_none=True)
        return FrameworkProposal.model_validate(proposal.model_dump() | changes)


class ForumPrepare(_Decision):
    event: Literal["forum_prepare"] = "forum_prepare"


class SteeringApprove(_Decision):
    event: Literal["steering_approve"] = "steering_approve"


class SteeringReject(_Rejection):
    event: Literal["steering_reject"] = "steering_reject"


class BoardApprove(_Decision):
    event: Literal["board_approve"] = "board_approve"
    municipality: Municipality


class BoardReject(_Rejection):
    event: Literal["board_reject"] = "board_reject"
    municipality: Municipality


class CommitteeDecide(_Decision):
    event: Literal["committee_decide"] = "committee_decide"


class CommitteeReject(_Rejection):
    event: Literal["committee_reject"] = "committee_reject"


class WithdrawProposal(BaseModel):
    event: Literal["withdraw"] = "withdraw"
    reason: str = Field(min_length=3, max_length=500)


FrameworkAction = Annotated[
    Union[ReviseProposal, ForumPrepare, SteeringApprove, SteeringReject, BoardApprove, BoardReject, CommitteeDecide,
          CommitteeReject, WithdrawProposal],
    Field(discriminator="event"),
]


class FrameworkCommand(ProcessCommand):
    action: FrameworkAction


class FrameworkSnapshot(BaseModel):
    proposal: FrameworkProposal
    state: str = IN_PREPARATION
    round: int = 1
    board_approvals: dict[str, DecisionRecord] = Field(default_factory=dict)
    decisions: list[DecisionRecord] = Field(default_factory=list)
    last_rejection: str | None = None
    log: list[TransitionRecord] = Field(default_factory=list)

    def takes_effect_at(self) -> datetime | None:
        if self.state != DECIDED:
            return None
        return datetime.combine(self.proposal.effective_from, time(0, 0), tzinfo=LOCAL_TZ)


FRAMEWORK_MESSAGES = {
    "board_may_decide": "rule GV-2: that municipality's kommunstyrelse has already approved this round",
    "completes_boards": "rule GV-2: both kommunstyrelser approve",
    "leaves_board_pending": "rule GV-2: both kommunstyrelser approve",
}


class FrameworkProcess(GuardedProcess):
    definition = FRAMEWORK_CHANGE
    condition_messages = FRAMEWORK_MESSAGES
    today: date | None = None  # the local date, set by the workflow before each check (rule GV-2)
    rule_fidelity: bool = True  # False only while replaying histories from before GV-2's date checks
    separation_of_duties: bool = True  # False only while replaying histories from before it (workflow.patched)

    def refusal(self, trigger: str, command: Any = None) -> str | None:
        """Rule GV-2 also refuses one person recording decisions of two bodies on one proposal (e.g. both
        kommunstyrelser): checked by the workflow under its lock, so concurrent requests cannot both pass."""
        refused = super().refusal(trigger, command)
        if refused is not None or not self.separation_of_duties or command is None or trigger not in BODIES:
            return refused
        body = decision_body(trigger, action_of(command))
        if any(same_person(d.actor, d.person, command) and d.body != body for d in self.snapshot.decisions):
            return (f"event {trigger!r} refused: actor: rule GV-2: you recorded another body's decision on this "
                    f"proposal; one person does not decide for two bodies")
        return None

    def earliest_decision_date(self, command: Any = None) -> date | None:
        """Rule GV-2: a decision is dated no earlier than the steps before it in the chain (the two
        kommunstyrelser of one round decide in parallel, in any order)."""
        parallel = list(self.snapshot.board_approvals.values()) if isinstance(
            action_of(command), (BoardApprove, BoardReject)) else []
        earlier = [d.decided_on for d in self.snapshot.decisions if d not in parallel]
        return max(earlier) if earlier else None

    def dated_in_chain_order(self, command: Any = None) -> bool:
        action = action_of(command)
        if action is None or not self.rule_fidelity:
            return True
        if self.today is not None and action.decided_on > self.today:
            return False
        earliest = self.earliest_decision_date(command)
        return earliest is None or action.decided_on >= earliest

    def condition_message(self, condition: str, command: Any = None) -> str:
        if condition == "dated_in_chain_order":
            action = action_of(command)
            if self.today is not None and action.decided_on > self.today:
                return f"decided_on: rule GV-2: {action.decided_on.isoformat()} is in the future"
            return (f"decided_on: rule GV-2: {action.decided_on.isoformat()} is before the previous step's decision "
                    f"({self.earliest_decision_date(command).isoformat()}); decisions follow the chain's order")
        return super().condition_message(condition, command)

    def board_may_decide(self, command: Any = None) -> bool:
        action = action_of(command)
        return action is None or action.municipality not in self.snapshot.board_approvals

    def completes_boards(self, command: Any = None) -> bool:
        action = action_of(command)
        return action is not None and set(self.snapshot.board_approvals) | {action.municipality} == set(MUNICIPALITIES)

    def leaves_board_pending(self, command: Any = None) -> bool:
        return not self.completes_boards(command)

    def record_data(self, trigger: str, command: Any, now: datetime, context: dict[str, Any]) -> dict[str, str]:
        snap, action = self.snapshot, action_of(command)
        if "renewal_policies" in context:
            return {"renewal_policies": ", ".join(context["renewal_policies"])}
        if isinstance(action, ReviseProposal):
            snap.proposal = action.applied_to(snap.proposal)
            return {"changed": ", ".join(sorted(action.model_dump(exclude={"event"}, exclude_unset=True)))}
        if action is None or trigger == "withdraw":
            return {}
        rejected = trigger.endswith("_reject")
        record = DecisionRecord(
            body=decision_body(trigger, action),
            municipality=getattr(action, "municipality", None),
            decision="rejected" if rejected else {"forum_prepare": "prepared", "committee_decide": "decided"}.get(
                trigger, "approved"),
            decided_on=action.decided_on, minutes_ref=action.minutes_ref, reason=getattr(action, "reason", None),
            actor=command.actor, at=now, person=getattr(command, "person", None),
        )
        snap.decisions.append(record)
        if trigger == "board_approve":
            snap.board_approvals[action.municipality] = record
        if rejected:  # rule GV-2: back to it-forum utveckling with the reason; the chain runs again
            snap.board_approvals, snap.last_rejection, snap.round = {}, action.reason, snap.round + 1
        return {"body": record.body, "decision": record.decision, "decided_on": action.decided_on.isoformat(),
                "minutes_ref": action.minutes_ref}


class FrameworkStart(BaseModel):
    proposal: FrameworkProposal
    started_by: str = SYSTEM_ACTOR
    snapshot: FrameworkSnapshot | None = None


class FrameworkView(LiveView, FrameworkSnapshot):
    effective_at: datetime | None


class RecordDecision(BaseModel):
    workflow_id: str
    proposal_id: str
    seq: int
    record: DecisionRecord


class RecordFrameworkVersion(BaseModel):
    version: FrameworkVersion
    prices: list[PriceItem]
    equipment_prices: list[Price] = Field(default_factory=list)
    supersedes: str | None = None  # rule GV-1
    workflow_id: str
    at: datetime


class ActivateFrameworkVersion(BaseModel):
    version_id: str
    at: datetime


class YearlyDraftRequest(BaseModel):
    year: int
