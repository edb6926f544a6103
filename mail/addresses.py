"""Outbox recipients → mail addresses (issue 21). A recipient is abstract (`employee:E5001`, `unit:TR-KS`,
`lead:first_line`, `it:asset-management`, `staff:it.anna`, `intranet:tranemo` …); one without an address is a
delivery failure that names why, never a silent drop."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from config import Settings
from db.models import Unit
from db.people_models import Person


class NoAddress(Exception):
    """The recipient has no mail address: permanent until someone records one."""


@dataclass(frozen=True)
class Address:
    email: str
    name: str | None = None
    language: str = "sv"  # the language the mail is written in (people register); Swedish unless `en`


def _person(person: Person | None, recipient: str) -> Address:
    if person is None:
        raise NoAddress(f"recipient {recipient}: not in the people register (PUT /api/v1/people/{{employee_ref}})")
    if not person.active:
        raise NoAddress(f"recipient {recipient}: {person.employee_ref} is inactive in the people register")
    if not person.email:
        raise NoAddress(f"recipient {recipient}: {person.employee_ref} has no mail address in the people register")
    return Address(person.email, person.name, "en" if person.language == "en" else "sv")


def resolve(session: Session, recipient: str, settings: Settings) -> Address:
    """The address of one outbox recipient; NoAddress names the recipient and what is missing."""
    kind, _, ref = recipient.partition(":")
    if kind == "employee":
        return _person(session.get(Person, ref), recipient)
    if kind == "staff":  # IT staff are named by login (token subject); the people register links it
        person = session.scalar(select(Person).where(or_(Person.subject == ref, Person.employee_ref == ref)))
        return _person(person, recipient)
    if kind == "unit":
        unit = session.get(Unit, ref)
        if unit is None:
            raise NoAddress(f"recipient {recipient}: no such unit")
        if not unit.mailbox:
            raise NoAddress(f"recipient {recipient}: the unit has no functional mailbox")
        return Address(unit.mailbox, unit.name)
    if kind == "mail" and "@" in ref:  # a sender not in the people register, answered on their ticket (mail in)
        return Address(ref)
    configured = settings.mail_queue_addresses.get(recipient)
    if configured:
        return Address(configured)
    raise NoAddress(f"recipient {recipient}: no address configured (MAIL_QUEUE_ADDRESSES)")
