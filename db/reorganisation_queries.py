"""Units with a history and the register side of reorganisations (issue 22, part 3)."""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Unit, UnitHistory
from db.security_models import ReferenceChange
from db.ticket_models import ServiceRequest, Ticket


def open_on(unit: Unit | None, on: date) -> bool:
    """The unit exists on that day: created by then and not closed (merged) by then."""
    return unit is not None and (unit.valid_from is None or unit.valid_from <= on) and (
        unit.closed_on is None or unit.closed_on > on)


def name_on(s: Session, unit_id: str, on: date) -> str | None:
    """The unit's name on a day (an invoice basis of an earlier period shows the name then)."""
    for row in s.scalars(select(UnitHistory).where(UnitHistory.unit_id == unit_id).order_by(UnitHistory.id.desc())):
        if (row.valid_from is None or row.valid_from <= on) and (row.valid_to is None or on < row.valid_to):
            return row.name
    unit = s.get(Unit, unit_id)
    return unit.name if unit is not None else None


def current_name(s: Session, unit_id: str) -> UnitHistory | None:
    """The unit's latest name (no end yet); None for a seeded unit never renamed."""
    return s.scalars(select(UnitHistory).where(UnitHistory.unit_id == unit_id, UnitHistory.valid_to.is_(None))
                     .order_by(UnitHistory.id.desc())).first()


def close_name(s: Session, unit: Unit, on: date) -> None:
    """End the unit's current name on `on` (the seeded units have no history row yet: it is written now)."""
    current = current_name(s, unit.id)
    if current is None:
        s.add(UnitHistory(unit_id=unit.id, name=unit.name, valid_from=unit.valid_from, valid_to=on))
    else:
        current.valid_to = on


def move_ticket_units(s: Session, numbers: list[str], target: str, actor: str, reason: str,
                      final_states: tuple[str, ...] | frozenset[str],
                      model: type[Ticket] | type[ServiceRequest] = Ticket) -> dict[str, str | None]:
    """Open tickets (or service requests) move to `target` in the register; they have no unit-change event, so
    each move is recorded as a reference change (who, when, from which unit). Per item: None (moved) or why
    not."""
    results: dict[str, str | None] = {}
    now = datetime.now(timezone.utc)
    entity = "ticket_unit" if model is Ticket else "service_request_unit"
    for number in numbers:
        ticket = s.get(model, number)
        if ticket is None:
            results[number] = f"number: no {entity.removesuffix('_unit').replace('_', ' ')} {number!r}"
        elif ticket.state in final_states:
            results[number] = f"number: {number} is {ticket.state}; only open ones move"
        elif ticket.unit_id == target:
            results[number] = "unchanged"
        else:
            s.add(ReferenceChange(at=now, actor=actor, entity=entity, key=number,
                                  before={"unit_id": ticket.unit_id}, after={"unit_id": target}, reason=reason))
            ticket.unit_id, ticket.updated_at = target, now
            results[number] = None
    return results
