"""Side effects of support tickets and service requests (rules TK-1 … TK-12). Every activity is
idempotent (key: workflow id + step, or the transition's seq); business errors are non-retryable."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.effects import append_audit_line
from db.billing_queries import service_rate
from db.models import Device, Unit
from db.ticket_models import (
    DesignatedApplicant,
    ServiceRequest,
    ServiceRequestTransition,
    SupportCharge,
    Ticket,
    TicketTransition,
    utc,
)
from domain.service_requests import (
    ProgramInstallation,
    RegisterRequestInput,
    RequestMirror,
    RequestTerms,
    ServiceRequestOrder,
)
from domain.support_calendar import default_calendar
from domain.support_matters import support_level_of
from domain.tickets import ChargeRequest, RegisterTicketInput, TicketMirror, TicketReport, TicketTerms, hours_of


class InvalidTicket(ValueError):
    """A report the registers refuse (422 in the API), naming the field."""


class NotAllowedToApply(PermissionError):
    """Rule TK-9: only the unit's manager or a designated person may apply (403 in the API)."""


def resolve_ticket_terms(s: Session, report: TicketReport) -> TicketTerms:
    """The unit's municipality and the device's support level (rule TK-7)."""
    unit = s.get(Unit, report.unit_id)
    if unit is None:
        raise InvalidTicket(f"unit_id: unknown unit {report.unit_id!r}")
    category = level = None
    if report.device_order_number is not None:
        device = s.get(Device, report.device_order_number)
        if device is None:
            raise InvalidTicket(f"device_order_number: no device {report.device_order_number!r} in the "
                                "inventory register (rule TK-7)")
        category, level = device.category, support_level_of(device.category)
        if level is not None and report.support_level is not None and report.support_level is not level:
            raise InvalidTicket(f"support_level: device {device.order_number} is a {category}, support level "
                                f"{level.value} (rule TK-7)")
    return TicketTerms(municipality=unit.municipality, device_category=category,
                       support_level=level or report.support_level)


def may_apply_for_account(s: Session, unit_id: str, applicant_ref: str) -> bool:
    """Rule TK-9: the unit's manager or a person the manager designated."""
    unit = s.get(Unit, unit_id)
    if unit is None:
        return False
    if unit.manager_ref == applicant_ref:
        return True
    return s.get(DesignatedApplicant, (unit_id, applicant_ref)) is not None


def resolve_request_terms(s: Session, order: ServiceRequestOrder) -> RequestTerms:
    """Raises InvalidTicket (422) or NotAllowedToApply (403, rule TK-9)."""
    unit = s.get(Unit, order.unit_id)
    if unit is None:
        raise InvalidTicket(f"unit_id: unknown unit {order.unit_id!r}")
    details = order.details
    level = None
    if details.kind == "non_employee_account" and not may_apply_for_account(s, order.unit_id, order.applicant_ref):
        raise NotAllowedToApply(
            f"rule TK-9: {order.applicant_ref} may not apply for a non-employee account for unit {order.unit_id}: "
            "only the unit's manager or a designated person may")
    if isinstance(details, ProgramInstallation):
        if details.in_software_center:
            raise InvalidTicket("details.in_software_center: the program is in Software Center; the user installs "
                                "it from there (rule TK-11 covers programs missing from it)")
        level = details.support_level
        if details.device_order_number is not None:
            device = s.get(Device, details.device_order_number)
            if device is None:
                raise InvalidTicket(f"details.device_order_number: no device {details.device_order_number!r}")
            level = support_level_of(device.category) or level
    if details.kind == "physical_move":
        for number in details.device_order_numbers:
            if s.get(Device, number) is None:
                raise InvalidTicket(f"details.device_order_numbers: no device {number!r}")
    if details.kind == "extra_support" and details.device_order_number is not None \
            and s.get(Device, details.device_order_number) is None:  # rule EQ-13
        raise InvalidTicket(f"details.device_order_number: no device {details.device_order_number!r}")
    return RequestTerms(municipality=unit.municipality, support_level=level)


def _non_retryable(error: Exception, kind: str) -> ApplicationError:
    return ApplicationError(str(error), type=kind, non_retryable=True)


class TicketActivities:
    """Holds the session factory. Notifications go
    through `equipment.notify`, the one outbox write every process uses (workflows/base.py)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    # --- tickets ---------------------------------------------------------------------------------
    @activity.defn(name="tickets.register")
    def register(self, request: RegisterTicketInput) -> TicketTerms:
        """Rule TK-2: every request enters the register in the 1st line."""
        report = request.report
        with self.sessions.begin() as s:
            try:
                terms = resolve_ticket_terms(s, report)
            except InvalidTicket as error:
                raise _non_retryable(error, "InvalidCommand") from error
            if s.get(Ticket, report.number) is None:
                s.add(Ticket(
                    number=report.number, workflow_id=request.workflow_id, unit_id=report.unit_id,
                    municipality=terms.municipality, reporter_ref=report.reporter_ref, title=report.title,
                    device_order_number=report.device_order_number,
                    support_level=terms.support_level.value if terms.support_level else None,
                    matter=report.matter.value if report.matter else None,
                    function=report.function.value if report.function else None, on_call=False,
                    line="first_line", state="first_line", reported_at=utc(request.reported_at), breached=False,
                    updated_at=utc(request.reported_at),
                ))
            return terms

    @activity.defn(name="tickets.mirror_transition")
    def mirror_transition(self, mirror: TicketMirror) -> None:
        """Keep the ticket register and its transition log in step with the workflow."""
        record = mirror.record
        with self.sessions.begin() as s:
            ticket = s.get(Ticket, mirror.number)
            if ticket is None:
                raise ApplicationError(f"no register row for ticket {mirror.number}", non_retryable=True)
            if not append_audit_line(s, TicketTransition, "number", mirror.number, record):
                return
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
            ticket.updated_at = utc(record.at)

    @activity.defn(name="tickets.charge")
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
    @activity.defn(name="service_requests.register")
    def register_request(self, request: RegisterRequestInput) -> RequestTerms:
        """Rules TK-9 … TK-12: the request is checked against the registers and recorded."""
        order = request.order
        with self.sessions.begin() as s:
            try:
                terms = resolve_request_terms(s, order)
            except InvalidTicket as error:
                raise _non_retryable(error, "InvalidCommand") from error
            except NotAllowedToApply as error:
                raise _non_retryable(error, "Forbidden") from error
            if s.get(ServiceRequest, order.number) is None:
                s.add(ServiceRequest(
                    number=order.number, workflow_id=request.workflow_id, kind=order.details.kind,
                    unit_id=order.unit_id, municipality=terms.municipality, applicant_ref=order.applicant_ref,
                    state="submitted", details=order.details.model_dump(mode="json"),
                    submitted_at=utc(request.submitted_at), updated_at=utc(request.submitted_at),
                ))
            return terms

    @activity.defn(name="service_requests.mirror_transition")
    def mirror_request_transition(self, mirror: RequestMirror) -> None:
        record = mirror.record
        with self.sessions.begin() as s:
            row = s.get(ServiceRequest, mirror.number)
            if row is None:
                raise ApplicationError(f"no register row for service request {mirror.number}", non_retryable=True)
            if not append_audit_line(s, ServiceRequestTransition, "number", mirror.number, record):
                return
            row.state, row.assignee, row.result = mirror.state, mirror.assignee, mirror.result
            row.minutes_worked, row.updated_at = mirror.minutes_worked, utc(record.at)

    def all(self) -> list:
        return [self.register, self.mirror_transition, self.charge, self.register_request,
                self.mirror_request_transition]
