"""Support tickets (rules TK-1 … TK-8): states, moves, commands, on-call charging, the survey draw and
the ticket snapshot. The lines are in `domain.support_lines`, intefunktion and its clock in
`domain.intefunktion`."""
from __future__ import annotations

import math
import random
import re
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal, Union

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from domain.common import REF_PATTERN
from domain.intefunktion import DeadlineClock, IntefunktionFunction
from domain.process import GuardedProcess, Move, ProcessCommand, ProcessDefinition, TransitionRecord, action_of
from domain.support_calendar import SupportCalendar
from domain.support_lines import ESCALATION, LINE_TITLES, THIRD_LINE, Line
from domain.support_matters import Matter, Owner, SupportLevel, hand_back_reason, owner_of

TICKET_NUMBER_PATTERN = r"^[A-Z0-9][A-Z0-9-]{2,39}$"


# The server allocates T<year>-00001 and SR<year>-00001 (one counter per prefix and year); a number a
# client chooses must stay out of that series, or allocation would collide with it.
SERVER_SERIES_PATTERN = re.compile(r"^(T|SR)\d{4}-\d{5}$")


def in_server_series(number: str) -> bool:
    return SERVER_SERIES_PATTERN.fullmatch(number) is not None


def ticket_workflow_id(number: str) -> str:
    """Workflow ID from the ticket number: one workflow per ticket."""
    return f"ticket-{number}"


# --- states -------------------------------------------------------------------------------------
FIRST_LINE, SECOND_LINE = Line.FIRST.value, Line.SECOND.value
VERKSAMHETSSTOD, INFRASTRUKTUR = Line.VERKSAMHETSSTOD.value, Line.INFRASTRUKTUR.value
ASSIGNED, WAITING, RESOLVED = "assigned", "waiting_for_customer", "resolved"
CLOSED, REOPENED, HANDED_BACK = "closed", "reopened", "handed_back"

LINE_STATES = (FIRST_LINE, SECOND_LINE, VERKSAMHETSSTOD, INFRASTRUKTUR)  # in a line's queue, unassigned
WORKING_STATES = (*LINE_STATES, ASSIGNED, REOPENED)  # the deadline clock runs (rule TK-5)
OPEN_STATES = (*WORKING_STATES, WAITING)
FINAL_STATES = frozenset({CLOSED, HANDED_BACK})
SOLVED_STATES = (RESOLVED, CLOSED)  # rule TK-3: IT solved it (the deadline clock has stopped)

TICKET = ProcessDefinition(
    name="ticket",
    states=(*LINE_STATES, ASSIGNED, WAITING, RESOLVED, CLOSED, REOPENED, HANDED_BACK),
    initial=FIRST_LINE,
    final=FINAL_STATES,
    moves=(
        Move("assign", (*LINE_STATES, ASSIGNED, REOPENED), ASSIGNED, "TK-2"),
        Move("escalate", (FIRST_LINE, ASSIGNED, REOPENED), SECOND_LINE, "TK-2",
             conditions=("it_owns_matter", "targets_second_line")),
        Move("escalate", (SECOND_LINE, ASSIGNED, REOPENED), VERKSAMHETSSTOD, "TK-2",
             conditions=("it_owns_matter", "targets_verksamhetsstod")),
        Move("escalate", (SECOND_LINE, ASSIGNED, REOPENED), INFRASTRUKTUR, "TK-2",
             conditions=("it_owns_matter", "targets_infrastruktur")),
        Move("transfer", (VERKSAMHETSSTOD, ASSIGNED, REOPENED), INFRASTRUKTUR, "TK-2",
             conditions=("transfers_to_infrastruktur",)),
        Move("transfer", (INFRASTRUKTUR, ASSIGNED, REOPENED), VERKSAMHETSSTOD, "TK-2",
             conditions=("transfers_to_verksamhetsstod",)),
        Move("wait_for_customer", (ASSIGNED,), WAITING, "TK-5"),
        Move("resume", (WAITING,), ASSIGNED, "TK-5"),
        Move("resolve", WORKING_STATES, RESOLVED, "TK-3", conditions=("on_call_time_given",)),
        Move("reopen", (RESOLVED,), REOPENED, "TK-2"),
        Move("close", (RESOLVED,), CLOSED, "TK-6"),
        Move("hand_back", WORKING_STATES, HANDED_BACK, "TK-7", conditions=("unit_owns_matter",)),
    ),
)


# --- on call (rule TK-8) and survey (rule TK-6), pure ------------------------------------------


def is_on_call(reported_at: datetime, affects_operations: bool, cannot_wait: bool, cal: SupportCalendar) -> bool:
    """Rule TK-8: outside support hours, affecting operations and unable to wait until support opens."""
    return affects_operations and cannot_wait and not cal.is_open(reported_at)


def chargeable_minutes(minutes_worked: int, minimum: int, increment: int) -> int:
    """Rule TK-8: at least `minimum` minutes, in started `increment`s (both configurable)."""
    if minutes_worked < 0:
        raise ValueError("minutes worked must not be negative")
    started = math.ceil(minutes_worked / increment) * increment if increment > 0 else minutes_worked
    return max(minimum, started)


def hours_of(minutes: int) -> Decimal:
    return (Decimal(minutes) / Decimal(60)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def selected_for_survey(rng: random.Random, share: float) -> bool:
    """Rule TK-6: one draw from the workflow's deterministic random (`workflow.random()`)."""
    return rng.random() < share


SURVEY_QUESTIONS = (
    "Did IT solve your ticket/problem satisfactorily? (Anser du att it löste ditt ärende/problem tillfredsställande?)",
    "How did you find the IT staff's treatment of you in this ticket? "
    "(Hur upplevde du it-personalens bemötande i samband med ditt ärende?)",
)


# --- the report and the commands ---------------------------------------------------------------


class TicketReport(BaseModel):
    """A ticket as reported to the 1st line (rule TK-2)."""

    number: str = Field(pattern=TICKET_NUMBER_PATTERN, description="business key, e.g. T2026-00042")
    unit_id: str = Field(pattern=REF_PATTERN, description="the reporting unit (cost bearer of on-call work)")
    reporter_ref: str = Field(pattern=REF_PATTERN, description="employee number of the reporter")
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=4000)
    device_order_number: str | None = Field(None, pattern=TICKET_NUMBER_PATTERN,
                                            description="the device in the inventory register (rule TK-7)")
    support_level: SupportLevel | None = Field(None, description="stated when there is no device (rule TK-7)")
    matter: Matter | None = Field(None, description="what the ticket is about (rule TK-7)")
    function: IntefunktionFunction | None = Field(None, description="the failing function: intefunktion (TK-4)")
    affects_operations: bool = Field(False, description="rule TK-8")
    cannot_wait: bool = Field(False, description="rule TK-8: cannot wait until support opens")
    unit_started_troubleshooting: bool = Field(False, description="rule TK-7: the unit has started troubleshooting")
    reported_at: AwareDatetime | None = Field(None, description="default: now; a phone call recorded after the fact")


class _Event(BaseModel):
    pass


class Assign(_Event):
    event: Literal["assign"] = "assign"
    assignee: str = Field(pattern=REF_PATTERN, description="the technician the customer can contact (TK-2)")


class Escalate(_Event):
    event: Literal["escalate"] = "escalate"
    to: Line = Field(description="2nd line from the 1st; verksamhetsstod or infrastruktur from the 2nd (TK-2)")


class Transfer(_Event):
    event: Literal["transfer"] = "transfer"
    to: Literal["verksamhetsstod", "infrastruktur"]


class WaitForCustomer(_Event):
    event: Literal["wait_for_customer"] = "wait_for_customer"
    question: str | None = Field(None, max_length=1000)


class Resume(_Event):
    event: Literal["resume"] = "resume"


class Resolve(_Event):
    event: Literal["resolve"] = "resolve"
    resolution: str | None = Field(None, max_length=2000)
    minutes_worked: int | None = Field(None, ge=0, le=24 * 60, description="on-call tickets: time worked (TK-8)")


class Reopen(_Event):
    event: Literal["reopen"] = "reopen"


class Close(_Event):
    event: Literal["close"] = "close"


class HandBack(_Event):
    event: Literal["hand_back"] = "hand_back"


TicketAction = Annotated[
    Union[Assign, Escalate, Transfer, WaitForCustomer, Resume, Resolve, Reopen, Close, HandBack],
    Field(discriminator="event"),
]


class TicketCommand(ProcessCommand):
    action: TicketAction


class Classification(ProcessCommand):
    """The 1st line's triage: what the matter is and whether a function fails (TK-4, TK-7)."""

    matter: Matter | None = None
    function: IntefunktionFunction | None = None
    unit_started_troubleshooting: bool = False


# --- the snapshot and the process ----------------------------------------------------------------


class TicketTerms(BaseModel):
    """What the registers say about a ticket, fixed at registration."""

    municipality: str
    device_category: str | None = None
    support_level: SupportLevel | None = None


class TicketSnapshot(BaseModel):
    """Everything the ticket workflow knows; carried across continue-as-new."""

    report: TicketReport
    terms: TicketTerms | None = None
    state: str = FIRST_LINE
    line: Line = Line.FIRST
    assignee: str | None = None
    reported_at: datetime
    matter: Matter | None = None
    function: IntefunktionFunction | None = None
    unit_started_troubleshooting: bool = False
    on_call: bool = False
    clock: DeadlineClock | None = None
    resolved_at: datetime | None = None
    resolved_line: Line | None = None
    resolution: str | None = None
    on_call_minutes: int | None = None
    closed_at: datetime | None = None
    handed_back_reason: str | None = None
    survey_selected: bool | None = None
    log: list[TransitionRecord] = Field(default_factory=list)

    @property
    def support_level(self) -> SupportLevel | None:
        return self.terms.support_level if self.terms else self.report.support_level

    @property
    def breached(self) -> bool:
        return self.clock is not None and self.clock.breached

    def shown_deadline(self) -> datetime | None:
        """Rule TK-5: the current deadline; paused (waiting for the customer): none; resolved or closed:
        the deadline the fix was held to."""
        if self.clock is None:
            return None
        if self.clock.deadline is not None:
            return self.clock.deadline
        return self.clock.last_deadline if self.state in SOLVED_STATES else None

    def deadline_met(self) -> bool | None:
        """For a resolved or closed intefunktion ticket: fixed within its deadline (rule TK-4)."""
        if self.clock is None or self.state not in SOLVED_STATES:
            return None
        return not self.clock.breached


TICKET_MESSAGES = {
    "transfers_to_infrastruktur": "rule TK-2: only the 3rd line transfers, to the other 3rd-line team",
    "transfers_to_verksamhetsstod": "rule TK-2: only the 3rd line transfers, to the other 3rd-line team",
    "on_call_time_given": "rule TK-8: an on-call ticket needs minutes_worked for the unit's charge",
    "unit_owns_matter": "rule TK-7: IT owns this matter under the device's support level",
}


class TicketProcess(GuardedProcess):
    """The model the `transitions` machine drives: the ticket's state plus the moves' conditions.
    Conditions receive the TicketCommand (None when listing allowed events: could some command do it)."""

    definition = TICKET
    condition_messages = TICKET_MESSAGES
    snapshot: TicketSnapshot

    def _target(self, command: Any, line: Line, target: Line | str) -> bool:
        action = action_of(command)
        return self.snapshot.line is line and (action is None or getattr(action, "to", None) == target)

    def it_owns_matter(self, command: Any = None) -> bool:
        return self.hand_back_reason() is None

    def unit_owns_matter(self, command: Any = None) -> bool:
        return not self.it_owns_matter()

    def targets_second_line(self, command: Any = None) -> bool:
        return self._target(command, Line.FIRST, Line.SECOND)

    def targets_verksamhetsstod(self, command: Any = None) -> bool:
        return self._target(command, Line.SECOND, Line.VERKSAMHETSSTOD)

    def targets_infrastruktur(self, command: Any = None) -> bool:
        return self._target(command, Line.SECOND, Line.INFRASTRUKTUR)

    def transfers_to_infrastruktur(self, command: Any = None) -> bool:
        return self._target(command, Line.VERKSAMHETSSTOD, INFRASTRUKTUR)

    def transfers_to_verksamhetsstod(self, command: Any = None) -> bool:
        return self._target(command, Line.INFRASTRUKTUR, VERKSAMHETSSTOD)

    def on_call_time_given(self, command: Any = None) -> bool:
        snap, action = self.snapshot, action_of(command)
        given = action is None or getattr(action, "minutes_worked", None) is not None
        return not snap.on_call or snap.on_call_minutes is not None or given

    def hand_back_reason(self) -> str | None:
        snap = self.snapshot
        return hand_back_reason(snap.matter, snap.support_level, snap.unit_started_troubleshooting)

    def owner(self) -> Owner:
        return owner_of(self.snapshot.matter, self.snapshot.support_level)

    def refusal(self, trigger: str, command: Any = None) -> str | None:
        if trigger == "escalate" and self.state in THIRD_LINE:
            return (f"event 'escalate' refused in state {self.state!r}: rule TK-2: the 3rd line is the last line; "
                    "transfer the ticket to the other 3rd-line team instead")
        return super().refusal(trigger, command)

    def condition_message(self, condition: str, command: Any = None) -> str:
        line = self.snapshot.line
        if condition == "it_owns_matter":
            return f"{self.hand_back_reason()}; hand the ticket back to the unit instead of escalating"
        if condition.startswith("targets_"):
            targets = ESCALATION.get(line, ())
            if not targets:
                return f"rule TK-2: the ticket is already in the 3rd line ({line.value}); transfer it"
            return (f"rule TK-2: from the {LINE_TITLES[line]} a ticket escalates to "
                    f"{' or '.join(t.value for t in targets)}")
        return super().condition_message(condition, command)

    def record_data(self, trigger: str, command: Any, now: datetime, context: dict[str, Any]) -> dict[str, str]:
        """Record the event's data on the snapshot; `context["cal"]` is the ticket's support calendar."""
        snap, action, cal = self.snapshot, action_of(command), context["cal"]
        details: dict[str, str] = {}
        if snap.state in LINE_STATES:  # rule TK-2: a new line's queue, nobody assigned yet
            details["line"] = f"{snap.line.value} -> {snap.state}"
            snap.line, snap.assignee = Line(snap.state), None
        match action:
            case Assign():
                details["assignee"] = f"{snap.assignee} -> {action.assignee}"
                snap.assignee = action.assignee
            case Resolve():
                snap.resolved_at, snap.resolved_line = now, snap.line
                details["resolved_line"] = snap.line.value
                if action.resolution:
                    snap.resolution = details["resolution"] = action.resolution
                if action.minutes_worked is not None:  # recorded whenever given (issue 20); charged on call only
                    details["minutes_worked"] = str(action.minutes_worked)
                    if snap.on_call and snap.on_call_minutes is None:
                        snap.on_call_minutes = action.minutes_worked
            case WaitForCustomer() if action.question:
                details["question"] = action.question
        if trigger == "reopen":
            snap.resolved_at = snap.resolved_line = None
        elif trigger == "close":
            snap.closed_at = now
            details["survey_selected"] = str(snap.survey_selected).lower()  # drawn by the workflow (TK-6)
        elif trigger == "hand_back":
            snap.handed_back_reason = self.hand_back_reason()
            details["handed_back_reason"] = snap.handed_back_reason or ""
        # rule TK-5: the clock runs while IT works, pauses while waiting for the customer or resolved
        if snap.clock is not None:
            if snap.state in WORKING_STATES:
                snap.clock.resume(now, cal)
            else:
                snap.clock.pause(now, cal)
        return details


# --- workflow input, view and activity contracts ----------------------------------------------


class TicketStart(BaseModel):
    """Workflow input: a new report, or the snapshot carried across continue-as-new."""

    report: TicketReport
    snapshot: TicketSnapshot | None = None
    reported_by: str = "support"
    warning_share: float = Field(0.75, gt=0, lt=1)
    survey_share: float = Field(0.25, ge=0, le=1)
    on_call_minimum_minutes: int = 30
    on_call_increment_minutes: int = 30
    on_call_hourly_rate: Decimal = Decimal("950.00")  # the defaults are config.Settings' defaults
    extra_closed_days: list[date] = Field(default_factory=list, description="rule TK-1 (configurable)")
    support_hours: dict[int, tuple[time, time]] | None = Field(
        None, description="rule TK-1: weekday (Mon=0) -> opening, closing of the framework version in force on "
                          "the report date (GV-2); None: the document's hours")

    @field_validator("support_hours")
    @classmethod
    def _opening_hours(cls, hours: dict[int, tuple[time, time]] | None) -> dict[int, tuple[time, time]] | None:
        for weekday, (opens, closes) in (hours or {}).items():
            if weekday not in range(7) or not opens < closes:
                raise ValueError(f"support_hours: weekday {weekday} must be 0..6 and open before it closes")
        return hours


class TicketView(BaseModel):
    """What a Query answers: state, line, assignee, the current deadline and the transition log."""

    number: str
    workflow_id: str
    state: str
    line: Line
    assignee: str | None
    unit_id: str
    reporter_ref: str
    title: str
    description: str | None = None  # the reporter's own words (issue 20)
    device_order_number: str | None
    affects_operations: bool | None = Field(None, description="as reported (TK-8); null: not kept (older tickets)")
    cannot_wait: bool | None = Field(None, description="as reported (TK-8); null: not kept (older tickets)")
    unit_started_troubleshooting: bool | None = Field(None, description="rule TK-7, as reported or triaged")
    support_level: SupportLevel | None
    matter: Matter | None
    owner: Owner
    function: IntefunktionFunction | None
    intefunktion: bool
    on_call: bool
    reported_at: datetime
    deadline: datetime | None = Field(description="the current deadline (TK-5); null while waiting for the customer; "
                                      "resolved or closed: the deadline the fix was held to")
    deadline_met: bool | None = Field(description="resolved or closed intefunktion ticket: fixed in time (TK-4)")
    clock_paused: bool = Field(description="the clock is not running: waiting for the customer, resolved or done")
    remaining_support_seconds: float | None
    warning_at: datetime | None
    breached: bool
    breached_at: datetime | None
    resolved_at: datetime | None
    resolved_line: Line | None
    handed_back_reason: str | None
    survey_selected: bool | None
    allowed_events: list[str]
    log: list[TransitionRecord]


class RegisterTicketInput(BaseModel):
    workflow_id: str
    report: TicketReport
    reported_at: datetime


class TicketMirror(BaseModel):
    """The ticket register row after a transition, plus the transition itself."""

    unit_started_troubleshooting: bool | None = None  # None: sent by a worker from before issue 20

    number: str
    record: TransitionRecord
    state: str
    line: Line
    assignee: str | None
    matter: Matter | None
    function: IntefunktionFunction | None
    on_call: bool
    deadline: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None
    resolved_at: datetime | None
    resolved_line: Line | None
    closed_at: datetime | None
    handed_back_reason: str | None
    survey_selected: bool | None


class ChargeRequest(BaseModel):
    """A billing line for the unit (rules TK-8, TK-12)."""

    key: str
    source: Literal["on_call", "physical_move", "extra_support"]
    reference: str
    unit_id: str
    minutes_worked: int
    minutes_charged: int
    hourly_rate: Decimal
    at: datetime
