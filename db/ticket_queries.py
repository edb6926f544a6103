"""Reads of the support processes (rules TK-7, TK-9 … TK-12), shared by their activities and the API: a
ticket's or a service request's terms from the registers, and who may apply for a non-employee account."""
from __future__ import annotations

from datetime import time
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from db.models import Device, Unit
from db.ticket_models import DesignatedApplicant
from domain.service_requests import ProgramInstallation, RequestTerms, ServiceRequestOrder
from domain.support_matters import support_level_of
from domain.tickets import TicketReport, TicketStart, TicketTerms

if TYPE_CHECKING:
    from config import Settings


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


def ticket_start(report: TicketReport, reported_by: str, settings: Settings,
                 hours: dict[int, tuple[time, time]] | None) -> TicketStart:
    """The ticket workflow's input, the same for every channel (POST /tickets, the support mailbox)."""
    return TicketStart(
        report=report, reported_by=reported_by, warning_share=settings.intefunktion_warning_share,
        survey_share=settings.survey_share, on_call_minimum_minutes=settings.on_call_minimum_minutes,
        on_call_increment_minutes=settings.on_call_increment_minutes,
        on_call_hourly_rate=settings.on_call_hourly_rate, extra_closed_days=settings.extra_closed_days,
        support_hours=hours,
    )
