"""Reads of the people register (db.people_models) that the API, the console and activities share."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.people_models import Person


def person(session: Session, employee_ref: str) -> Person | None:
    return session.get(Person, employee_ref)


def employee_ref_of_subject(session: Session, subject: str) -> str | None:
    """The employee number linked to a token subject (Entra `oid`), or None when no one is linked."""
    return session.scalar(select(Person.employee_ref).where(Person.subject == subject))


def names_of(session: Session, refs: set[str]) -> dict[str, str]:
    """Display names for employee numbers, for views that show people by name (missing ones are left out)."""
    if not refs:
        return {}
    rows = session.execute(select(Person.employee_ref, Person.name).where(Person.employee_ref.in_(refs)))
    return {ref: name for ref, name in rows}
