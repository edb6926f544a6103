"""Side effects of support tickets and service requests (rules TK-1 … TK-12). Every activity is
idempotent (key: workflow id + step, or the transition's seq); business errors are non-retryable."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from activities.audit_trail import mirror_into_register
from activities.effects import WithSessions, refusals
from activities.outbox import write_message
from db.billing_queries import service_rate
from db.ticket_queries import InvalidTicket, NotAllowedToApply, resolve_request_terms, resolve_ticket_terms
from db.ticket_models import (
    ServiceRequest,
    ServiceRequestTransition,
    SupportCharge,
    Ticket,
    TicketTransition,
    utc,
)
from domain.service_requests import RegisterRequestInput, RequestMirror, RequestTerms
from domain.support_calendar import default_calendar
from domain.tickets import ChargeRequest, RegisterTicketInput, TicketMirror, TicketTerms, hours_of
from workflows.tickets import CHARGE_SUPPORT, MIRROR_REQUEST, MIRROR_TICKET, REGISTER_REQUEST, REGISTER_TICKET


def _update_ticket(ticket: Ticket, mirror: TicketMirror) -> None:
    ticket.state, ticket.line, ticket.assignee = mirror.state, mirror.line.value, mirror.assignee
    ticket.matter = mirror.matter.value if mirror.matter else None
    ticket.function = mirror.function.value if mirror.function else None
    ticket.on_call, ticket.deadline = mirror.on_call, utc(mirror.deadline)
    ticket.warned_at = utc(mirror.warned_at)
    ticket.breached, ticket.breached_at = mirror.breached_at is not None, utc(mirror.breached_at)
    ticket.resolved_at = utc(mirror.resolved_at)
    ticket.resolved_line = mirror.resolved_line.value if mirror.resolved_line else None
    ticket.closed_at, ticket.handed_back_reason = utc(mirror.closed_at), mirror.handed_back_reason
    ticket.survey_selected = mirror.survey_selected
    if mirror.unit_started_troubleshooting is not None:
        ticket.unit_started_troubleshooting = mirror.unit_started_troubleshooting
    ticket.updated_at = utc(mirror.record.at)


def _update_request(row: ServiceRequest, mirror: RequestMirror) -> None:
    row.state, row.assignee, row.result = mirror.state, mirror.assignee, mirror.result
    row.minutes_worked, row.updated_at = mirror.minutes_worked, utc(mirror.record.at)


class TicketActivities(WithSessions):
    """Holds the session factory. Notifications go through `outbox.notify` (activities/outbox.py), except the
    reporter's receipt, written with the register's first line (no command of its own: issue 21)."""

    def __init__(self, sessions, starter=None) -> None:  # noqa: ANN001
        super().__init__(sessions)
        self.starter = starter  # activities/mail.DeliveryStarter

    # --- tickets ---------------------------------------------------------------------------------
    @REGISTER_TICKET.defn
    def register(self, request: RegisterTicketInput) -> TicketTerms:
        """Rule TK-2: every request enters the register in the 1st line."""
        report = request.report
        with self.sessions.begin() as s:
            with refusals({InvalidTicket: "InvalidCommand"}):
                terms = resolve_ticket_terms(s, report)
            if s.get(Ticket, report.number) is None:
                s.add(Ticket(
                    number=report.number, workflow_id=request.workflow_id, unit_id=report.unit_id,
                    municipality=terms.municipality, reporter_ref=report.reporter_ref, title=report.title,
                    description=report.description, affects_operations=report.affects_operations,
                    cannot_wait=report.cannot_wait, unit_started_troubleshooting=report.unit_started_troubleshooting,
                    device_order_number=report.device_order_number,
                    support_level=terms.support_level.value if terms.support_level else None,
                    matter=report.matter.value if report.matter else None,
                    function=report.function.value if report.function else None, on_call=False,
                    line="first_line", state="first_line", reported_at=utc(request.reported_at), breached=False,
                    updated_at=utc(request.reported_at),
                ))
            return terms

    @MIRROR_TICKET.defn
    def mirror_transition(self, mirror: TicketMirror) -> None:
        """Keep the ticket register and its transition log in step with the workflow."""
        mirror_into_register(self.sessions, Ticket, mirror.number, TicketTransition, "number", mirror.record,
                             lambda ticket: _update_ticket(ticket, mirror))
        if mirror.record.event == "report":
            self._receipt(mirror)

    def _receipt(self, mirror: TicketMirror) -> None:
        """Issue 21, rules TK-2/TK-5: the reporter hears that the ticket is received, who handles it and, for
        intefunktion, its fix deadline; once per ticket (the key)."""
        with self.sessions.begin() as s:
            ticket = s.get(Ticket, mirror.number)
            recipient = f"employee:{ticket.reporter_ref}"
            data = {"number": ticket.number, "title": ticket.title, "line": mirror.line.value,
                    "function": mirror.function.value if mirror.function else "",
                    "deadline": mirror.deadline.isoformat() if mirror.deadline and mirror.function else ""}
            written = write_message(s, f"{ticket.workflow_id}:{mirror.record.seq}:notify:ticket_received:{recipient}",
                                    "ticket_received", recipient, f"Ticket {ticket.number} received",
                                    f"Your ticket {ticket.number} is received: {ticket.title}", ticket.workflow_id,
                                    mirror.record.at, data)
        if written is not None and self.starter is not None:
            self.starter.start_soon([written])

    @CHARGE_SUPPORT.defn
    def charge(self, request: ChargeRequest) -> None:
        """Rules TK-8, TK-12: a billing line for the unit, once per key."""
        with self.sessions.begin() as s:
            if s.scalar(select(SupportCharge.id).where(SupportCharge.key == request.key)) is not None:
                return
            hours = hours_of(request.minutes_charged)
            # rules TK-8, TK-12, AG-5: the rate of the year's price list; the workflow's rate (config) is the fallback
            charged_on = request.at.astimezone(default_calendar().tz).date()
            rate = service_rate(s, request.source, charged_on.year) or request.hourly_rate
            amount = (hours * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            s.add(SupportCharge(
                key=request.key, source=request.source, reference=request.reference, unit_id=request.unit_id,
                minutes_worked=request.minutes_worked, minutes_charged=request.minutes_charged, hours=hours,
                hourly_rate=rate, amount=amount, charged_on=charged_on, at=utc(request.at),
            ))

    # --- service requests ------------------------------------------------------------------------
    @REGISTER_REQUEST.defn
    def register_request(self, request: RegisterRequestInput) -> RequestTerms:
        """Rules TK-9 … TK-12: the request is checked against the registers and recorded."""
        order = request.order
        with self.sessions.begin() as s:
            with refusals({InvalidTicket: "InvalidCommand", NotAllowedToApply: "Forbidden"}):
                terms = resolve_request_terms(s, order)
            if s.get(ServiceRequest, order.number) is None:
                s.add(ServiceRequest(
                    number=order.number, workflow_id=request.workflow_id, kind=order.details.kind,
                    unit_id=order.unit_id, municipality=terms.municipality, applicant_ref=order.applicant_ref,
                    state="submitted", details=order.details.model_dump(mode="json"),
                    submitted_at=utc(request.submitted_at), updated_at=utc(request.submitted_at),
                ))
            return terms

    @MIRROR_REQUEST.defn
    def mirror_request_transition(self, mirror: RequestMirror) -> None:
        mirror_into_register(self.sessions, ServiceRequest, mirror.number, ServiceRequestTransition, "number",
                             mirror.record, lambda row: _update_request(row, mirror))

    def all(self) -> list:
        return [self.register, self.mirror_transition, self.charge, self.register_request,
                self.mirror_request_transition]
