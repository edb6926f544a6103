"""Joiners, movers and leavers (issue 22; rules EQ-7, EQ-8, EQ-11): the contracts of the leaver process and
the mapping of a directory user (SCIM, RFC 7643 with the enterprise extension) onto the people register.
Pure: the SCIM endpoint, the activities and the workflow import it."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

# The person's data Ramflow keeps, as the SCIM User carries it (docs/people.md lists Entra ID's mappings).
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def leaver_workflow_id(employee_ref: str) -> str:
    """One leaver process per person: a repeated deactivation (Entra retries, DELETE after PATCH) starts none."""
    return f"leaver-{employee_ref}"


class LeaverStart(BaseModel):
    """The directory deactivated (or deleted) a person: the unit they left and when."""

    employee_ref: str
    unit_id: str | None
    at: datetime
    reason: str = "the directory deactivated the account (SCIM active=false)"


class LeaverOutcome(BaseModel):
    """What the leaver process did: devices flagged for return (EQ-7), buyout offers lapsed (EQ-11), the open
    tickets that stay with the unit, and whether the unit's manager was told."""

    flagged_devices: list[str] = []
    lapsed_offers: list[str] = []
    open_tickets: list[str] = []
    manager_told: bool = False


def display_name(resource: dict) -> str:
    """A person's name from a SCIM User: displayName, else the formatted or given + family name, else userName."""
    name = resource.get("name") or {}
    given = " ".join(part for part in (name.get("givenName"), name.get("familyName")) if part)
    return (resource.get("displayName") or name.get("formatted") or given or resource.get("userName") or "")[:200]


def work_email(resource: dict) -> str | None:
    """The address mail goes to: the work address, else the primary one, else the first."""
    emails = [e for e in resource.get("emails") or [] if isinstance(e, dict) and e.get("value")]
    for pick in (lambda e: e.get("type") == "work", lambda e: e.get("primary") is True, lambda e: True):
        for email in emails:
            if pick(email):
                return str(email["value"])[:254]
    return None


def language_of(resource: dict) -> str:
    """Mail is written in Swedish unless the directory says English (preferredLanguage / locale)."""
    for key in ("preferredLanguage", "locale"):
        value = resource.get(key)
        if isinstance(value, str) and value.lower().startswith("en"):
            return "en"
    return "sv"
