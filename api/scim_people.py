"""The people register as the SCIM endpoint (api/scim.py) writes it (issue 22): a User onto a register row, each
change a recorded reference change; a deactivation starts the leaver process, a change of unit records a move
the old unit's manager confirms (EQ-7/EQ-8). Joiners get nothing automatically (EQ-1: a device is ordered)."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from typing import Any

from anyio import to_thread
from fastapi import FastAPI, HTTPException
from scim2_models import (Context, EnterpriseUser, InvalidValueException, Meta, NotFoundException, User,
                          UniquenessException)
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.security import record_reference_change, row_dict
from db.models import Device, OutboxMessage, Unit
from db.people_models import Person, PersonMove
from domain.common import REF_PATTERN
from domain.equipment import ACTIVE_STATES
from domain.people import LeaverStart, display_name, language_of, leaver_workflow_id, work_email
from workflows.people import PersonLeaverWorkflow

UserModel = User[EnterpriseUser]
# the register's columns a provisioning change is recorded with (who, when, from what to what)
RECORDED = ("name", "email", "subject", "language", "unit_id", "active", "user_name", "external_id", "department",
            "manager_ref")
EQ_FILTER = re.compile(r'^\s*(userName|externalId|id)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


def by_scim_id(session: Session, scim_id: str) -> Person | None:
    return session.scalar(select(Person).where(Person.scim_id == scim_id))


def candidates(session: Session, text: str | None) -> list[Person]:
    """The provisioned people a filter can match: narrowed in SQL for Entra's lookups (`userName eq`,
    `externalId eq`, `id eq`), all of them otherwise (the filter then decides, api/scim.py)."""
    query = select(Person).where(Person.scim_id.is_not(None)).order_by(Person.employee_ref)
    match = EQ_FILTER.match(text or "")
    if match:
        name, value = match.group(1).lower(), match.group(2).replace('\\"', '"')
        column = {"username": func.lower(Person.user_name), "externalid": Person.external_id,
                  "id": Person.scim_id}[name]
        query = query.where(column == (value.lower() if name == "username" else value))
    return list(session.scalars(query))


def user_of(person: Person, base: str) -> Any:
    """The User as last provisioned, with its id and meta (what GET answers)."""
    user = UserModel.model_validate(person.scim_resource or {}, scim_ctx=Context.DEFAULT)
    user.id = person.scim_id
    created = (person.scim_resource or {}).get("meta", {}).get("created") or person.updated_at
    user.meta = Meta(resource_type="User", created=created, last_modified=person.updated_at,
                     location=f"{base}/Users/{person.scim_id}", version=f'W/"{person.scim_version}"')
    return user


# --- writes (each in a worker thread with its own session; api/scim.py awaits them) ------------------------
def _now() -> datetime:
    return datetime.now(timezone.utc)


def _employee_number(user: Any) -> str:
    extension = user[EnterpriseUser]
    number = extension.employee_number if extension is not None else None
    if not number:
        raise InvalidValueException(detail="employeeNumber: Ramflow keys people by employee number (map Entra ID's "
                                           "employeeId to the enterprise extension's employeeNumber)")
    if not re.match(REF_PATTERN, number):
        raise InvalidValueException(detail=f"employeeNumber: {number!r} is not an employee number "
                                           "(letters, digits, . _ -; at most 40)")
    return number


def _check_unique(session: Session, person_ref: str | None, user: Any) -> None:
    """RFC 7643: userName is unique (case-insensitive); a token subject (externalId) is one person."""
    taken = session.scalar(select(Person.employee_ref).where(
        func.lower(Person.user_name) == user.user_name.lower(), Person.employee_ref != (person_ref or "")))
    if taken is not None:
        raise UniquenessException(detail=f"userName: {user.user_name!r} is another user's")
    if user.external_id:
        holder = session.scalar(select(Person.employee_ref).where(
            or_(Person.subject == user.external_id, Person.external_id == user.external_id),
            Person.employee_ref != (person_ref or ""), Person.scim_id.is_not(None)))
        if holder is not None:
            raise UniquenessException(detail=f"externalId: {user.external_id!r} is another user's")


def _apply(session: Session, person: Person, user: Any, now: datetime) -> None:
    """The User onto the register row; a change of unit records a move (EQ-7/EQ-8)."""
    with session.no_autoflush:  # the row is written once, complete, at the commit
        _apply_fields(session, person, user, now)


def _apply_fields(session: Session, person: Person, user: Any, now: datetime) -> None:
    extension = user[EnterpriseUser]
    department = extension.department if extension is not None else None
    manager_id = extension.manager.value if extension is not None and extension.manager is not None else None
    before_unit = person.unit_id
    person.name = display_name(user.model_dump(scim_ctx=Context.DEFAULT)) or person.employee_ref
    person.email = work_email(user.model_dump(scim_ctx=Context.DEFAULT))
    person.language = language_of(user.model_dump(scim_ctx=Context.DEFAULT))
    person.active = user.active is not False
    person.user_name, person.external_id = user.user_name, user.external_id
    if user.external_id and len(user.external_id) <= 80:  # Entra ID maps objectId (the token's oid) here
        person.subject = user.external_id
    person.department = department[:200] if department else None
    if department and session.get(Unit, department) is not None:  # the department names a unit: the person moves
        person.unit_id = department
    manager = by_scim_id(session, manager_id) if manager_id else None
    person.manager_ref = manager.employee_ref if manager is not None else None
    stored = user.model_dump(scim_ctx=Context.DEFAULT)
    stored.pop("password", None)  # write-only: never kept
    stored.pop("id", None)
    created = (person.scim_resource or {}).get("meta", {}).get("created") or now.isoformat()
    stored["meta"] = {"created": created}
    person.scim_resource = stored
    person.scim_version = (person.scim_version or 0) + 1
    person.updated_at = now
    if person.active and before_unit is not None and person.unit_id != before_unit:
        _record_move(session, person, before_unit, now)


def _record_move(session: Session, person: Person, from_unit: str, now: datetime) -> None:
    """Rule EQ-7: the person moved; their devices in use follow only when the old unit's manager confirms (the
    cost bearer then changes from that day, EQ-8). One pending move per person: a later change replaces it."""
    devices = list(session.scalars(select(Device.order_number).where(
        Device.user_ref == person.employee_ref, Device.unit_id == from_unit, Device.state.in_(ACTIVE_STATES))
        .order_by(Device.order_number)))
    pending = session.scalar(select(PersonMove).where(PersonMove.employee_ref == person.employee_ref,
                                                      PersonMove.state == "pending"))
    if pending is not None:
        session.delete(pending)
    if not devices or person.unit_id is None:
        return
    move = PersonMove(employee_ref=person.employee_ref, from_unit_id=from_unit, to_unit_id=person.unit_id,
                      requested_at=now, state="pending", devices=devices)
    session.add(move)
    session.flush()
    session.add(OutboxMessage(
        created_at=now, topic="mover", recipient=f"unit:{from_unit}", workflow_id=None,
        subject=f"{person.name} ({person.employee_ref}) har flyttat till {person.unit_id}",
        body=f"{person.name} ({person.employee_ref}) tillhör nu enhet {person.unit_id}. Utrustning som följer med "
             f"när du bekräftar (kostnaden flyttas från den dagen, EQ-7/EQ-8): {', '.join(devices)}. Bekräfta med "
             f"POST /api/v1/people-moves/{move.id}/confirm."))


def _commit(session: Session, person: Person, actor: str, before: dict | None) -> None:
    after = row_dict(person, RECORDED)
    if before != after:
        record_reference_change(session, actor, "person", person.employee_ref, before, after,
                                reason="SCIM provisioning")
    try:
        session.commit()
    except IntegrityError as error:
        session.rollback()
        raise UniquenessException(detail="userName, employeeNumber or externalId: another user has it") from error


def create(sessions: sessionmaker[Session], user: Any, actor: str) -> tuple[str, LeaverStart | None]:
    """A joiner: the register row (an existing unprovisioned row with this employee number is taken over);
    nothing else starts (EQ-1)."""
    ref = _employee_number(user)
    with sessions() as session:
        _check_unique(session, ref, user)
        person = session.get(Person, ref)
        if person is not None and person.scim_id is not None:
            raise UniquenessException(detail=f"employeeNumber: {ref!r} is another user's")
        before = row_dict(person, RECORDED)
        if person is None:
            person = Person(employee_ref=ref, name=ref, language="sv", active=True, scim_version=0, updated_at=_now())
            session.add(person)
        person.scim_id = str(uuid.uuid4())
        _apply(session, person, user, _now())
        _commit(session, person, actor, before)
        return person.scim_id, _leaver(person)


def update(sessions: sessionmaker[Session], scim_id: str, change: Any, actor: str) -> LeaverStart | None:
    """PUT or PATCH: `change(user)` gives the new User from the current one. A new employee number re-keys the
    row (records under the old number keep it)."""
    with sessions() as session:
        person = by_scim_id(session, scim_id)
        if person is None:
            raise NotFoundException(detail=f"no User {scim_id!r}")
        user = change(user_of(person, ""))
        ref = _employee_number(user)
        _check_unique(session, person.employee_ref, user)
        before = row_dict(person, RECORDED)
        if ref != person.employee_ref:
            if session.get(Person, ref) is not None:
                raise UniquenessException(detail=f"employeeNumber: {ref!r} is another user's")
            person.employee_ref = ref
        _apply(session, person, user, _now())
        _commit(session, person, actor, before)
        return _leaver(person)


def leaver_of_deleted(sessions: sessionmaker[Session], scim_id: str) -> LeaverStart:
    with sessions() as session:
        person = by_scim_id(session, scim_id)
        if person is None:
            raise NotFoundException(detail=f"no User {scim_id!r}")
        return LeaverStart(employee_ref=person.employee_ref, unit_id=person.unit_id, at=_now(),
                           reason="the directory deleted the user (SCIM DELETE)")


def delete(sessions: sessionmaker[Session], scim_id: str, actor: str) -> None:
    """DELETE (rare from Entra ID): no longer provisioned, inactive; the row stays for the records' names."""
    with sessions() as session:
        person = by_scim_id(session, scim_id)
        if person is None:
            raise NotFoundException(detail=f"no User {scim_id!r}")
        before = row_dict(person, RECORDED)
        person.active = False
        person.scim_id = person.user_name = person.external_id = person.scim_resource = None
        person.updated_at = _now()
        _commit(session, person, actor, before)


def _leaver(person: Person) -> LeaverStart | None:
    if person.active:
        return None
    return LeaverStart(employee_ref=person.employee_ref, unit_id=person.unit_id, at=_now())


async def start_leaver(api: FastAPI, start: LeaverStart | None) -> None:
    """The leaver process, once per person (its workflow id): a repeated deactivation starts none; when Temporal
    is away the call answers 503 and Entra ID retries it."""
    if start is None:
        return
    settings = api.state.settings
    try:
        await api.state.client.start_workflow(
            PersonLeaverWorkflow.run, start, id=leaver_workflow_id(start.employee_ref),
            task_queue=settings.temporal_task_queue, id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
    except WorkflowAlreadyStartedError:
        return
    except RPCError as error:
        raise HTTPException(503, f"the leaver process could not start: {error}",
                            headers={"Retry-After": str(settings.retry_after_seconds)}) from error


async def run(fn: Any, *args: Any) -> Any:
    return await to_thread.run_sync(lambda: fn(*args))

