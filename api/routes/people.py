"""The people register (db.people_models): who a person is, their name, mail address and language.

IT admins keep it until directory provisioning (SCIM, issue 22) does; every change is a reference change
(who, when, from what to what). IT staff and auditors read it; a person is personal data, so no one else.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy import select

from api.access import home_unit
from api.deps import ActorDep, Limit, Offset, PrincipalDep, SessionDep
from api.security import record_reference_change, row_dict
from db.models import Unit
from db.people import person as person_row
from db.people_models import Person
from domain.common import REF_PATTERN

router = APIRouter(tags=["people"])
EmployeeRef = Annotated[str, Path(pattern=REF_PATTERN, max_length=40, description="the employee number")]


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = Field(None, description="where Ramflow's mail to the person goes (issue 21)")
    subject: str | None = Field(None, min_length=1, max_length=80,
                                description="the token subject that is this person (Entra ID `oid`)")
    language: Literal["sv", "en"] = "sv"
    unit_id: str | None = Field(None, max_length=40)
    active: bool = True


class PersonView(PersonIn):
    model_config = ConfigDict(from_attributes=True)
    employee_ref: str
    updated_at: datetime
    # kept by Entra ID's provisioning (SCIM, issue 22; docs/people.md)
    user_name: str | None = Field(None, description="the directory login (userPrincipalName)")
    department: str | None = Field(None, description="as the directory sends it; a unit id moves the person")
    manager_ref: str | None = Field(None, description="the manager's employee number")


@router.get("/people", response_model=list[PersonView])
def people(session: SessionDep, unit_id: str | None = None, limit: Limit = 200, offset: Offset = 0):
    query = select(Person).order_by(Person.employee_ref).limit(limit).offset(offset)
    if unit_id is not None:
        query = query.where(Person.unit_id == unit_id)
    return list(session.scalars(query))


@router.get("/people/{employee_ref}", response_model=PersonView)
def person(employee_ref: EmployeeRef, session: SessionDep):
    row = session.get(Person, employee_ref)
    if row is None:
        raise HTTPException(404, f"employee_ref: no person {employee_ref!r}")
    return row


@router.put("/people/{employee_ref}", response_model=PersonView)
def put_person(employee_ref: EmployeeRef, body: PersonIn, session: SessionDep, actor: ActorDep):
    """Create or change a person (idempotent: the same body twice changes nothing the second time)."""
    if body.unit_id is not None and session.get(Unit, body.unit_id) is None:
        raise HTTPException(422, f"unit_id: unknown unit {body.unit_id!r}")
    if body.subject is not None:
        holder = session.scalar(select(Person.employee_ref).where(Person.subject == body.subject))
        if holder is not None and holder != employee_ref:
            raise HTTPException(409, f"subject: already linked to another person ({holder})")
    row = session.get(Person, employee_ref)
    before = row_dict(row, tuple(PersonIn.model_fields))
    after = body.model_dump(mode="json")
    if before is not None and {k: (str(v) if k == "email" and v else v) for k, v in before.items()} == after:
        return row
    if row is None:
        row = Person(employee_ref=employee_ref)
        session.add(row)
    for name, value in after.items():
        setattr(row, name, value)
    row.updated_at = datetime.now(timezone.utc)
    record_reference_change(session, actor, "person", employee_ref, before, after)
    session.commit()
    session.refresh(row)
    return row


class MeView(BaseModel):
    """The caller as Ramflow knows them (issue 23: the console prefills a report with it)."""
    subject: str
    roles: list[str]
    employee_ref: str | None
    name: str | None
    unit_id: str | None = Field(description="the people register's unit, else the token's unit claim")


@router.get("/me", response_model=MeView)
def me(session: SessionDep, principal: PrincipalDep) -> MeView:
    """Who the caller is: their own record only (a person sees their own name and unit, nobody else's)."""
    row = person_row(session, principal.employee_ref) if principal.employee_ref else None
    return MeView(subject=principal.subject, roles=sorted(principal.roles), employee_ref=principal.employee_ref,
                  name=row.name if row is not None else None, unit_id=home_unit(session, principal))
