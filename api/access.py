"""Object-level rules: whose device, which unit, which body. One call from each route that needs one.

The role policy (api.policy) has already let the caller reach the route; these narrow it to the
caller's own objects. Another unit's or another employee's object answers 404 (its existence is not
disclosed); an act the caller may not perform on an object they may see answers 403.

Every filter fails closed: a manager without a unit claim, an employee whose employee number is unknown
(`Principal.employee_ref` is None) see nothing of their scope. People are compared by employee number
(`Principal.employee_ref`, resolved by api.auth from the claim or the people register), never by the token's
subject (Entra ID's `oid`, a GUID), which stays the `actor` of audit records.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import HTTPException
from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.orm import Session

from api.auth import Principal
from api.policy import (
    AGREEMENT_EVENT_DEFAULT,
    AGREEMENT_PARTY_ROLE,
    AUDITOR,
    CASE_EVENTS,
    DEVICE_EVENT_DEFAULT,
    DEVICE_EVENTS,
    EMPLOYEE,
    FRAMEWORK_EVENTS,
    IT_ADMIN,
    IT_STAFF,
    IT_FORUM,
    IT_STYRGRUPP,
    KS_TRANEMO,
    KS_ULRICEHAMN,
    SAMVERKANSNAMND,
    UNIT_MANAGER,
    full_path,
    require,
    rule_for,
)

if TYPE_CHECKING:
    from api.processes import ProcessPath

BROAD = (IT_STAFF, IT_ADMIN, AUDITOR)  # see every unit's objects


def sees_everything(principal: Principal) -> bool:
    return principal.has(*BROAD)


def visible(principal: Principal, unit_column: Any, person_column: Any | None = None) -> ColumnElement[bool] | None:
    """The filter a list applies: None (all) for IT and auditors; a unit manager their unit; an employee
    their own rows (`person_column`)."""
    if sees_everything(principal):
        return None
    conditions = []
    if principal.has(UNIT_MANAGER) and principal.unit:
        conditions.append(unit_column == principal.unit)
    if principal.has(EMPLOYEE) and person_column is not None and principal.employee_ref:
        conditions.append(person_column == principal.employee_ref)  # never `IS NULL`: no number, no rows
    return or_(*conditions) if conditions else false()


def may_see(principal: Principal, unit_ids: tuple[str | None, ...], person_ref: str | None = None) -> bool:
    if sees_everything(principal):
        return True
    if principal.has(UNIT_MANAGER) and principal.unit and principal.unit in unit_ids:
        return True
    return principal.has(EMPLOYEE) and same_person(principal, person_ref)


def same_person(principal: Principal, employee_ref: str | None) -> bool:
    """Whether `employee_ref` names the caller (False when either is unknown)."""
    return bool(employee_ref) and bool(principal.employee_ref) and employee_ref == principal.employee_ref


def manages(principal: Principal, unit_id: str | None) -> bool:
    """A unit manager of `unit_id` (False without a unit claim)."""
    return principal.has(UNIT_MANAGER) and bool(principal.unit) and bool(unit_id) and principal.unit == unit_id


def may_read(principal: Principal, template: str) -> bool:
    """Whether the role policy lets the caller read the object at `template` (e.g. "/cloud-moves/{case_id}"):
    a create whose key exists answers the object only to a caller who may (issue 20)."""
    rule = rule_for("GET", full_path(template))
    return rule is not None and principal.has(*rule.roles)


def ensure_visible(principal: Principal, row: Any, what: str, unit_ids: tuple[str | None, ...],
                   person_ref: str | None = None) -> None:
    """404 for a missing object and, to callers who may not see it, for someone else's."""
    if sees_everything(principal):
        return
    if row is None or not may_see(principal, unit_ids, person_ref):
        raise HTTPException(404, what)


def own_unit(principal: Principal, unit_id: str | None, field: str = "unit_id") -> None:
    """A unit manager acts for their own unit only (403: it names the unit they asked for)."""
    if principal.has(IT_STAFF, IT_ADMIN):
        return
    if manages(principal, unit_id):
        return
    raise HTTPException(403, f"{field}: you act for unit {principal.unit or '(none)'} only, not {unit_id!r}")


def unit(principal: Principal, unit_id: str) -> None:
    """Reading a unit's records: IT and auditors any unit, a manager their own (another unit: 404)."""
    if not sees_everything(principal) and not manages(principal, unit_id):
        raise HTTPException(404, f"unit_id: no unit {unit_id!r}")


# --- equipment ------------------------------------------------------------------------------------
def device(session: Session, principal: Principal, order_number: str) -> None:
    """A device the caller may see: IT and auditors all; a manager their unit's; an employee their own."""
    from db.models import Device

    row = session.get(Device, order_number)
    ensure_visible(principal, row, f"order_number: no device {order_number!r}",
                   (row.unit_id, row.cost_bearer_unit_id) if row else (), row.user_ref if row else None)


async def device_event(path: ProcessPath, principal: Principal, order_number: str, action: Any) -> None:
    """Rules EQ-8, EQ-9, EQ-11, EQ-12: who sends which event on which device (api.policy.DEVICE_EVENTS)."""
    from domain.equipment import device_workflow_id
    from workflows.equipment import DeviceLifecycleWorkflow

    event = action.event
    not_found = f"order_number: no device {order_number!r}"
    require(principal, DEVICE_EVENTS.get(event, DEVICE_EVENT_DEFAULT), f"event {event!r}")
    if event in ("accept_buyout", "decline_buyout"):
        view = await path.view(device_workflow_id(order_number), DeviceLifecycleWorkflow.view, not_found)
        buyer = view.buyout.buyer_ref if view.buyout else None
        if not same_person(principal, buyer):
            raise HTTPException(403, "rule EQ-11: only the offered employee answers this buyout offer")
        return
    if not principal.has(IT_STAFF):  # a manager: their unit's devices only
        await path.db(device, principal, order_number)
    if event == "record_erasure":  # rule EQ-12: the certificate of the vendor the device was sent to
        view = await path.view(device_workflow_id(order_number), DeviceLifecycleWorkflow.view, not_found)
        if view.erasure_vendor is not None and action.vendor != view.erasure_vendor:
            raise HTTPException(422, f"action.vendor: the device was sent to {view.erasure_vendor!r} for erasure, "
                                     f"not {action.vendor!r} (rule EQ-12)")


# --- support ----------------------------------------------------------------------------------------
def ticket(session: Session, principal: Principal, number: str) -> None:
    from db.ticket_models import Ticket

    row = session.get(Ticket, number)
    ensure_visible(principal, row, f"number: no ticket {number!r}", (row.unit_id,) if row else (),
                   row.reporter_ref if row else None)


def new_ticket(session: Session, principal: Principal, unit_id: str, reporter_ref: str) -> None:
    """IT registers any ticket; a manager for their unit; an employee reports as themself, for their own unit
    (the people register's, else the token's unit claim): another unit's ticket is IT's to register."""
    if principal.has(IT_STAFF) or manages(principal, unit_id):
        return
    if principal.has(EMPLOYEE) and same_person(principal, reporter_ref):
        if unit_id == home_unit(session, principal):
            return
        raise HTTPException(403, f"unit_id: you report for your own unit only, not {unit_id!r} (IT support "
                                 "registers a ticket for another unit)")
    raise HTTPException(403, f"reporter_ref, unit_id: you report for yourself"
                             f"{' or unit ' + principal.unit if principal.unit else ''} only")


def home_unit(session: Session, principal: Principal) -> str | None:
    """The caller's own unit: the people register's, else the token's unit claim."""
    from db.people import person

    row = person(session, principal.employee_ref) if principal.employee_ref else None
    return (row.unit_id if row is not None and row.unit_id else None) or principal.unit


def survey(session: Session, principal: Principal, number: str) -> None:
    """Rule TK-6: the reporter answers their own ticket's survey."""
    from db.ticket_models import Ticket

    row = session.get(Ticket, number)
    if row is None or not same_person(principal, row.reporter_ref):
        raise HTTPException(404, f"number: no ticket {number!r}")


def service_request(session: Session, principal: Principal, number: str) -> None:
    from db.ticket_models import ServiceRequest

    row = session.get(ServiceRequest, number)
    ensure_visible(principal, row, f"number: no service request {number!r}", (row.unit_id,) if row else ())


def applicant(session: Session, principal: Principal, unit_id: str, kind: str, applicant_ref: str | None) -> None:
    """Rule TK-9: the applicant of a non-employee account is the caller (the unit's manager, or a person the
    manager designated), never someone they name. IT registers other requests for whoever asked support."""
    from db.ticket_models import DesignatedApplicant

    if principal.has(IT_STAFF) and kind != "non_employee_account":
        return
    if principal.employee_ref is None:
        raise HTTPException(403, "applicant_ref: your employee number is not known (people register); the "
                                 "applicant is the signed-in user (rule TK-9)")
    if applicant_ref is not None and applicant_ref != principal.employee_ref:
        raise HTTPException(403, "applicant_ref: the applicant is the signed-in user (rule TK-9)")
    if manages(principal, unit_id):
        return
    if principal.has(EMPLOYEE) and session.get(DesignatedApplicant, (unit_id, principal.employee_ref)) is not None:
        return
    if principal.has(IT_STAFF):  # an account: the signed-in user applies, TK-9 decides (manager or designated)
        return
    raise HTTPException(403, f"unit_id: you are neither the manager of {unit_id!r} nor designated by them (rule TK-9)")


def incident(principal: Principal, reported_by: str, unit_id: str | None) -> None:
    """Rule AV-4: IT records IT incidents; a manager records their own unit's."""
    if principal.has(IT_STAFF):
        return
    if reported_by != "unit":
        raise HTTPException(403, "reported_by: a unit manager reports the unit's incidents (reported_by=unit)")
    own_unit(principal, unit_id)


# --- agreements and governance ------------------------------------------------------------------------
async def agreement_event(path: ProcessPath, principal: Principal, workflow_id: str, action: Any,
                          not_found: str) -> None:
    """Rule AG-4: IT's approval needs it-admin, the system owner's is theirs only, and nobody approves
    for both parties of one agreement."""
    from workflows.agreements import AgreementWorkflow

    party = getattr(action, "party", None)
    if party is None:
        require(principal, AGREEMENT_EVENT_DEFAULT, f"event {action.event!r}")
        return
    require(principal, (AGREEMENT_PARTY_ROLE[party],), f"{action.event} for party {party!r}")
    view = await path.view(workflow_id, AgreementWorkflow.view, not_found)
    if party == "system_owner" and (view.content is None or not same_person(principal, view.content.system_owner_ref)):
        raise HTTPException(403, "party: only the agreement's own system owner approves for the system owner "
                                 "(rule AG-4)")
    # the workflow refuses it too, under its lock (a race past this check: domain.agreements)
    if any(_is(principal, a.actor, a.person) and a.party != party for a in view.approvals):
        raise HTTPException(403, "party: you approved for the other party already; one person does not approve "
                                 "for both parties (rule AG-4)")


def _is(principal: Principal, actor: str, person: str | None) -> bool:
    """Whether a recorded act (its actor's subject, and employee number where known) was the caller's."""
    return actor == principal.subject or same_person(principal, person)


def _body_role(body: str, municipality: str | None = None) -> str:
    body = body.lower()
    if body.startswith("it-forum"):
        return IT_FORUM
    if body.startswith("it-styrgrupp"):
        return IT_STYRGRUPP
    if body.startswith("kommunstyrelsen"):
        return KS_TRANEMO if (municipality or body).endswith("tranemo") else KS_ULRICEHAMN
    return SAMVERKANSNAMND


async def framework_event(path: ProcessPath, principal: Principal, workflow_id: str, action: Any,
                          not_found: str) -> None:
    """Rule GV-2: only a body's secretary records its decision; no one records for two bodies."""
    from workflows.governance import FrameworkChangeWorkflow

    event = action.event
    key = f"{event}:{action.municipality}" if hasattr(action, "municipality") else event
    role = FRAMEWORK_EVENTS.get(key, IT_ADMIN)
    require(principal, (role,), f"event {event!r}" + (f" for {action.municipality}" if ":" in key else ""))
    if role == IT_ADMIN:
        return
    view = await path.view(workflow_id, FrameworkChangeWorkflow.view, not_found)
    if any(_is(principal, d.actor, d.person) and _body_role(d.body, d.municipality) != role for d in view.decisions):
        raise HTTPException(403, "actor: you recorded another body's decision on this proposal; one person does "
                                 "not decide for two bodies (rule GV-2)")


def case_event(principal: Principal, action: Any) -> None:
    """Rules GV-3, GV-4: it-forum passes pilots, it-styrgrupp prioritises, IT runs the rest."""
    require(principal, (CASE_EVENTS.get(action.event, IT_ADMIN),), f"event {action.event!r}")

