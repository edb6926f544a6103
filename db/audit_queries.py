"""The audit trail across every process (issue 11): one query over the four audit logs, with the
process's unit and municipality, filtered and paged in the database."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, cast, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from db.agreement_models import GovernanceProcessRow, GovernanceTransitionRow
from db.models import Device, DeviceTransition
from db.ticket_models import ServiceRequest, ServiceRequestTransition, Ticket, TicketTransition

COLUMNS = ("process", "workflow_id", "business_key", "unit", "municipality", "seq", "at", "event", "from_state",
           "to_state", "actor", "reason", "rule", "details", "hash")


def _lines(log: Any, register: Any, key: Any, process: Any, unit: Any, municipality: Any, join_on: Any) -> Select:
    return (select(process.label("process"), register.workflow_id.label("workflow_id"),
                   cast(key, String).label("business_key"), unit.label("unit"), municipality.label("municipality"),
                   log.seq, log.at, log.event, log.from_state, log.to_state, log.actor, log.reason, log.rule,
                   log.details, log.hash)
            .select_from(log).join(register, join_on))


def trail_union() -> Any:
    """Every audit line of every process, as one subquery with COLUMNS."""
    return union_all(
        _lines(DeviceTransition, Device, DeviceTransition.order_number, literal("equipment"), Device.unit_id,
               Device.municipality, Device.order_number == DeviceTransition.order_number),
        _lines(TicketTransition, Ticket, TicketTransition.number, literal("ticket"), Ticket.unit_id,
               Ticket.municipality, Ticket.number == TicketTransition.number),
        _lines(ServiceRequestTransition, ServiceRequest, ServiceRequestTransition.number, literal("service_request"),
               ServiceRequest.unit_id, ServiceRequest.municipality,
               ServiceRequest.number == ServiceRequestTransition.number),
        _lines(GovernanceTransitionRow, GovernanceProcessRow, GovernanceProcessRow.subject, GovernanceProcessRow.process,
               cast(null(), String), cast(null(), String),
               GovernanceProcessRow.workflow_id == GovernanceTransitionRow.workflow_id),
    ).subquery("trail")


@dataclass
class TrailFilter:
    process: str | None = None
    workflow_id: str | None = None
    business_key: str | None = None
    actor: str | None = None
    unit: str | None = None
    municipality: str | None = None
    rule: str | None = None
    event: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def trail(session: Session, where: TrailFilter, limit: int | None, offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """(number of matching lines, the page), oldest first."""
    t = trail_union()
    conditions = [getattr(t.c, name) == value for name, value in (
        ("process", where.process), ("workflow_id", where.workflow_id), ("business_key", where.business_key),
        ("actor", where.actor), ("unit", where.unit), ("municipality", where.municipality),
        ("rule", where.rule), ("event", where.event)) if value is not None]
    if where.since is not None:
        conditions.append(t.c.at >= where.since)
    if where.until is not None:
        conditions.append(t.c.at < where.until)
    total = session.scalar(select(func.count()).select_from(t).where(*conditions)) or 0
    query = select(t).where(*conditions).order_by(t.c.at, t.c.workflow_id, t.c.seq).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return total, [dict(row) for row in session.execute(query).mappings()]
