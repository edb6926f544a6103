"""One workflow per support ticket, with its own deadline clock in support hours (rules TK-1 … TK-8),
and one per service request (rules TK-9 … TK-12). Both are `ProcessWorkflow`s (workflows/base.py):
the ticket adds its deadline clock, whose timers are audit events rather than moves."""
from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from temporalio import workflow

from workflows.base import ProcessWorkflow, Step, command_update, illegal, ready_update, run_activity

with workflow.unsafe.imports_passed_through():
    from domain.common import SYSTEM_ACTOR
    from domain.intefunktion import CLOCK_TIMER_REASONS, DeadlineClock
    from domain.process import TransitionRecord
    from domain.service_requests import (
        HOURLY_KINDS,
        SERVICE_REQUEST,
        RegisterRequestInput,
        RequestCommand,
        RequestMirror,
        RequestProcess,
        RequestSnapshot,
        RequestStart,
        RequestTerms,
        RequestView,
    )
    from domain.support_calendar import calendar_with, default_calendar
    from domain.support_lines import LINE_TITLES, line_lead
    from domain.tickets import (
        OPEN_STATES,
        SURVEY_QUESTIONS,
        TICKET,
        WORKING_STATES,
        ChargeRequest,
        Classification,
        RegisterTicketInput,
        TicketCommand,
        TicketMirror,
        TicketProcess,
        TicketSnapshot,
        TicketStart,
        TicketTerms,
        TicketView,
        chargeable_minutes,
        is_on_call,
        selected_for_survey,
    )

# The activities this process calls (implemented in activities/; `local`: Ramflow's own database only).
REGISTER_TICKET = Step("tickets.register", local=True)
MIRROR_TICKET = Step("tickets.mirror_transition", local=True)
CHARGE_SUPPORT = Step("tickets.charge", local=True)
REGISTER_REQUEST = Step("service_requests.register", local=True)
MIRROR_REQUEST = Step("service_requests.mirror_transition", local=True)


# The holidays and the time zone load here, when the worker or a Replayer first imports this module;
# inside the sandbox (which re-runs this line) the cached calendar comes back without loading anything.
default_calendar()

IT_MANAGEMENT = "lead:it"  # escalation of a breached deadline (rule TK-5)
ON_CALL_DUTY = "it:beredskap"  # rule TK-8


class RegisteredProcess(ProcessWorkflow):
    """A ticket or a service request: the register row is written first (`_register`, its first step);
    until then commands are refused."""

    registering: ClassVar[str]

    def _opened(self) -> bool:
        return self.snap.terms is not None

    async def _open(self) -> None:
        await self._register()

    async def _register(self) -> None:
        raise NotImplementedError

    def _ready(self) -> bool:
        return self.is_registered

    def _check_registered(self) -> None:
        """For Updates other than `apply` (whose events wait for the registration: workflows/base.py)."""
        if not self.is_registered:
            raise illegal(self.registering)


@workflow.defn(name="SupportTicket")
class TicketWorkflow(RegisteredProcess):
    definition = TICKET
    timer_reasons = CLOCK_TIMER_REASONS
    registering = "the ticket is still being registered"

    @workflow.init
    def __init__(self, start: TicketStart) -> None:
        report = start.report
        self._setup(start, lambda: TicketSnapshot(
            report=report, reported_at=report.reported_at or workflow.now(), matter=report.matter,
            function=report.function, unit_started_troubleshooting=report.unit_started_troubleshooting,
        ), TicketProcess)
        # rule TK-1: the support hours of the framework version in force on the report date (GV-2)
        self.cal = calendar_with(start.extra_closed_days, start.support_hours)

    # --- main loop: the deadline clock's durable timers ---------------------------------------------
    @workflow.run
    async def run(self, start: TicketStart) -> TicketView:
        return await self._run()

    def _next_timer(self) -> tuple[str, datetime] | None:
        """Recomputed from the clock on every loop: a pause or a resume re-arms it (rule TK-5)."""
        clock = self.snap.clock
        if clock is None or self.snap.state not in WORKING_STATES:
            return None
        return clock.next_due(self.cal, self.start.warning_share)

    async def _timer_fired(self, kind: str) -> None:
        await self._clock_event(kind)  # the clock's timers are audit events, not moves

    async def _catch_up(self) -> None:
        """Before a command, record a warning or breach whose time has come but whose timer has not run."""
        while (due := self._next_timer()) is not None and due[1] <= workflow.now():
            await self._clock_event(due[0])

    async def _clock_event(self, kind: str) -> None:
        snap, clock, now = self.snap, self.snap.clock, workflow.now()
        assert clock is not None and clock.deadline is not None
        deadline = clock.deadline.astimezone(self.cal.tz)
        recipients = [line_lead(snap.line)] + ([f"staff:{snap.assignee}"] if snap.assignee else [])
        if kind == "deadline_warning":
            clock.warned_at = now
            if now >= clock.deadline:  # reported after the fact: the breach follows at once
                return
            await self._record(kind, snap.state, SYSTEM_ACTOR, self.timer_reasons[kind], "TK-5",
                               {"deadline": deadline.isoformat(), "share": str(self.start.warning_share)})
            function = snap.function.value if snap.function else "-"
            for recipient in recipients:
                await self._notify("deadline_warning", recipient,
                                   f"Ticket {snap.report.number}: deadline {deadline:%a %d %b %H:%M}",
                                   f"{int(self.start.warning_share * 100)} % of the intefunktion fix time is used "
                                   f"({function}); fix it by {deadline.isoformat()}.")
            return
        clock.breached_at = now
        await self._record(kind, snap.state, SYSTEM_ACTOR, self.timer_reasons[kind], "TK-5",
                           {"deadline": deadline.isoformat(), "line": snap.line.value})
        for recipient in [*recipients, IT_MANAGEMENT]:  # escalated to the line's lead and IT management
            await self._notify("deadline_breached", recipient, f"Ticket {snap.report.number} breached its deadline",
                               f"The intefunktion fix deadline {deadline.isoformat()} has passed; the ticket is in "
                               f"the {LINE_TITLES[snap.line]} ({snap.state}), assignee {snap.assignee or 'none'}.")

    # --- API: updates and queries ---------------------------------------------------------------------
    apply = command_update(TicketCommand, TicketView)
    registered = ready_update(TicketView, "registered")  # answers once the ticket is registered

    @workflow.update
    async def classify(self, change: Classification) -> TicketView:
        """Rules TK-4/TK-7: the 1st line's triage; a matter the unit owns is handed back at once."""
        async with self.lock:
            await self._catch_up()
            self._check_classify()
            snap, now = self.snap, workflow.now()
            details = {}
            for name in ("matter", "function", "unit_started_troubleshooting"):
                before, after = getattr(snap, name), getattr(change, name)
                if before != after:
                    details[name] = f"{getattr(before, 'value', before)} -> {getattr(after, 'value', after)}"
                    setattr(snap, name, after)
            if snap.function is None:
                snap.clock = None  # not intefunktion after all: no fix deadline
            elif snap.clock is None:
                snap.clock = DeadlineClock.start(snap.reported_at, self.cal)  # rule TK-5: from the report
                if snap.state not in WORKING_STATES:
                    snap.clock.pause(now, self.cal)
            await self._record("classify", snap.state, change.actor, change.reason,
                               "TK-4" if "function" in details else "TK-7", details)
            reason = self.process.hand_back_reason()
            if reason is not None and self.process.refusal("hand_back") is None:
                await self._fire("hand_back", SYSTEM_ACTOR, reason)
            self.rearm = True
        return self.view()

    @classify.validator
    def _validate_classify(self, change: Classification) -> None:
        self._check_registered()
        self._check_classify()

    def _check_classify(self) -> None:
        if self.snap.state not in OPEN_STATES:
            raise illegal(f"a ticket in state {self.snap.state!r} cannot be classified (rules TK-4, TK-7)")

    @workflow.query
    def view(self) -> TicketView:
        snap, clock = self.snap, self.snap.clock
        report = snap.report
        warning_at, shown = None, snap.shown_deadline()
        if clock is not None:
            warning_at = clock.warned_at or clock.warn_at(self.cal, self.start.warning_share)
        return TicketView(
            number=report.number, workflow_id=workflow.info().workflow_id, state=snap.state, line=snap.line,
            assignee=snap.assignee, unit_id=report.unit_id, reporter_ref=report.reporter_ref, title=report.title,
            description=report.description, device_order_number=report.device_order_number,
            affects_operations=report.affects_operations, cannot_wait=report.cannot_wait,
            unit_started_troubleshooting=snap.unit_started_troubleshooting, support_level=snap.support_level,
            matter=snap.matter,
            owner=self.process.owner(), function=snap.function, intefunktion=snap.function is not None,
            on_call=snap.on_call, reported_at=snap.reported_at.astimezone(self.cal.tz),
            deadline=shown.astimezone(self.cal.tz) if shown else None, deadline_met=snap.deadline_met(),
            clock_paused=clock is not None and clock.deadline is None,
            remaining_support_seconds=clock.remaining(workflow.now(), self.cal) if clock else None,
            warning_at=warning_at.astimezone(self.cal.tz) if warning_at else None,
            breached=snap.breached, breached_at=self._local(clock.breached_at if clock else None),
            resolved_at=self._local(snap.resolved_at), resolved_line=snap.resolved_line,
            handed_back_reason=snap.handed_back_reason, survey_selected=snap.survey_selected,
            allowed_events=self.process.allowed_events() if self.is_registered else [], log=snap.log,
        )

    def _local(self, at: datetime | None) -> datetime | None:
        return None if at is None else at.astimezone(self.cal.tz)

    # --- transitions and their side effects -----------------------------------------------------------
    async def _register(self) -> None:
        snap = self.snap
        report = snap.report
        snap.terms = await run_activity(REGISTER_TICKET, RegisterTicketInput(
            workflow_id=workflow.info().workflow_id, report=report, reported_at=snap.reported_at), TicketTerms)
        snap.on_call = is_on_call(snap.reported_at, report.affects_operations, report.cannot_wait, self.cal)
        if snap.function is not None:
            snap.clock = DeadlineClock.start(snap.reported_at, self.cal)  # rule TK-5
        details = {"unit_id": report.unit_id}
        if snap.support_level is not None:
            details["support_level"] = snap.support_level.value
        if snap.function is not None:
            details["function"] = snap.function.value
        if snap.on_call:
            details["on_call"] = "true"
        await self._record("report", snap.state, self.start.reported_by, None, "TK-2", details)
        if snap.on_call:  # rule TK-8
            reported = snap.reported_at.astimezone(self.cal.tz).isoformat()
            await self._notify("on_call", ON_CALL_DUTY, f"On call: ticket {report.number}",
                               f"Reported {reported} outside support hours, "
                               f"affects operations and cannot wait: {report.title}. Time worked is charged to "
                               f"unit {report.unit_id}.")
        reason = self.process.hand_back_reason()
        if reason is not None:  # rule TK-7: handed back instead of escalated
            await self._fire("hand_back", SYSTEM_ACTOR, reason)
        self.is_registered = True

    async def _before(self, trigger: str, command: Any) -> dict[str, Any]:
        if trigger == "close":  # rule TK-6: a random share, reproducible from the workflow's history
            self.snap.survey_selected = selected_for_survey(workflow.random(), self.start.survey_share)
        return {"cal": self.cal}

    async def _mirror(self, record: TransitionRecord) -> None:
        snap, clock = self.snap, self.snap.clock
        await run_activity(MIRROR_TICKET, TicketMirror(
            number=snap.report.number, record=record, state=snap.state, line=snap.line, assignee=snap.assignee,
            matter=snap.matter, function=snap.function, on_call=snap.on_call,
            deadline=snap.shown_deadline(), warned_at=clock.warned_at if clock else None,
            breached_at=clock.breached_at if clock else None, resolved_at=snap.resolved_at,
            resolved_line=snap.resolved_line, closed_at=snap.closed_at, handed_back_reason=snap.handed_back_reason,
            survey_selected=snap.survey_selected, unit_started_troubleshooting=snap.unit_started_troubleshooting,
        ))

    async def _after(self, previous: str, trigger: str, current: str) -> None:
        """The side-effect dispatcher: who is told what, and what is charged."""
        snap = self.snap
        report = snap.report
        number, reporter = report.number, f"employee:{report.reporter_ref}"
        if trigger == "assign":  # rule TK-2: the customer can reach the technician directly
            await self._notify("assigned", f"staff:{snap.assignee}", f"Ticket {number} is assigned to you",
                               f"{report.title} ({LINE_TITLES[snap.line]}).")
            await self._notify("assigned", reporter, f"Your ticket {number}: your technician is {snap.assignee}",
                               f"While the ticket is open you can contact {snap.assignee} directly.",
                               {"number": number, "title": report.title, "assignee": snap.assignee or ""})
        elif trigger in ("escalate", "transfer"):  # rule TK-2
            await self._notify("escalated", line_lead(snap.line), f"Ticket {number} escalated to {snap.line.value}",
                               f"{report.title}: the previous line could not solve it.")
        elif trigger == "wait_for_customer":  # rule TK-5: the clock pauses
            question = snap.log[-1].details.get("question") or "IT needs more information from you."
            await self._notify("waiting_for_customer", reporter, f"Your ticket {number}: IT needs your answer",
                               question, {"number": number, "title": report.title, "question": question})
        elif trigger == "resolve":
            if snap.on_call and snap.on_call_minutes is not None:  # rule TK-8
                await run_activity(CHARGE_SUPPORT, ChargeRequest(
                    key=f"{workflow.info().workflow_id}:on_call", source="on_call", reference=number,
                    unit_id=report.unit_id, minutes_worked=snap.on_call_minutes,
                    minutes_charged=chargeable_minutes(snap.on_call_minutes, self.start.on_call_minimum_minutes,
                                                       self.start.on_call_increment_minutes),
                    hourly_rate=self.start.on_call_hourly_rate, at=workflow.now()))
            await self._notify("resolved", reporter, f"Your ticket {number} is resolved",
                               snap.resolution or "Tell us if it is not solved; the ticket is reopened.",
                               {"number": number, "title": report.title, "resolution": snap.resolution or ""})
        elif trigger == "reopen" and snap.assignee:
            await self._notify("reopened", f"staff:{snap.assignee}", f"Ticket {number} was reopened",
                               report.title)
        elif trigger == "close" and snap.survey_selected:  # rule TK-6
            await self._notify("survey", reporter, f"Ticket {number}: two questions about IT's help",
                               "\n".join(f"{i}. {q}" for i, q in enumerate(SURVEY_QUESTIONS, 1))
                               + f"\nAnswer: POST /api/v1/tickets/{number}/survey", {"number": number, "title": report.title})
        elif trigger == "hand_back":  # rule TK-7
            for recipient in (f"unit:{report.unit_id}", reporter):
                await self._notify("handed_back", recipient, f"Ticket {number} is handed back to the unit",
                                   snap.handed_back_reason or "")


@workflow.defn(name="ServiceRequest")
class ServiceRequestWorkflow(RegisteredProcess):
    """Rules TK-9 … TK-12: submitted, worked on, delivered (a move is charged), rejected or handed back."""

    definition = SERVICE_REQUEST
    registering = "the request is still being registered"

    @workflow.init
    def __init__(self, start: RequestStart) -> None:
        self._setup(start, lambda: RequestSnapshot(order=start.order), RequestProcess)

    @workflow.run
    async def run(self, start: RequestStart) -> RequestView:
        return await self._run()

    apply = command_update(RequestCommand, RequestView)
    registered = ready_update(RequestView, "registered")

    @workflow.query
    def view(self) -> RequestView:
        snap = self.snap
        order = snap.order
        return RequestView(
            number=order.number, workflow_id=workflow.info().workflow_id, kind=snap.kind,
            rule=self.process.rule_for("deliver"), state=snap.state, unit_id=order.unit_id,
            applicant_ref=order.applicant_ref, assignee=snap.assignee, details=order.details, result=snap.result,
            minutes_worked=snap.minutes_worked,
            handed_back_reason=self.process.hand_back_reason() if snap.state == "handed_back" else None,
            allowed_events=self.process.allowed_events() if self.is_registered else [], log=snap.log,
        )

    async def _register(self) -> None:
        snap = self.snap
        snap.terms = await run_activity(REGISTER_REQUEST, RegisterRequestInput(
            workflow_id=workflow.info().workflow_id, order=snap.order, submitted_at=workflow.now()), RequestTerms)
        await self._record("submit", snap.state, self.start.submitted_by, None, self.process.rule_for("submit"),
                           {"kind": snap.kind.value, "applicant_ref": snap.order.applicant_ref})
        reason = self.process.hand_back_reason()
        if reason is not None:  # rules TK-7, TK-11: the unit installs programs on this device
            await self._fire("hand_back", SYSTEM_ACTOR, reason)
        self.is_registered = True

    async def _mirror(self, record: TransitionRecord) -> None:
        snap = self.snap
        await run_activity(MIRROR_REQUEST, RequestMirror(
            number=snap.order.number, record=record, state=snap.state, assignee=snap.assignee, result=snap.result,
            minutes_worked=snap.minutes_worked))

    async def _after(self, previous: str, trigger: str, current: str) -> None:
        snap = self.snap
        order = snap.order
        if trigger == "deliver" and snap.kind in HOURLY_KINDS and snap.minutes_worked:  # rules TK-12, EQ-13
            await run_activity(CHARGE_SUPPORT, ChargeRequest(
                key=f"{workflow.info().workflow_id}:{snap.kind.value}", source=snap.kind.value, reference=order.number,
                unit_id=order.unit_id, minutes_worked=snap.minutes_worked,
                minutes_charged=chargeable_minutes(snap.minutes_worked, 0, self.start.move_increment_minutes),
                hourly_rate=self.start.move_hourly_rate, at=workflow.now()))
        if trigger in ("deliver", "reject", "hand_back"):
            outcome = {"deliver": "delivered", "reject": "rejected", "hand_back": "handed back to the unit"}[trigger]
            body = snap.result or snap.log[-1].reason or self.process.hand_back_reason() or ""
            await self._notify(f"request_{trigger}", f"employee:{order.applicant_ref}",
                               f"Service request {order.number} ({snap.kind.value}) {outcome}", body)
