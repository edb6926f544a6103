"""The people register: who a person is across Ramflow's records (issues 20, 21, 22).

Processes name people by employee number (`E5001`: a device's user, a ticket's reporter, a unit's manager);
tokens name them by subject (Entra ID's `oid`, a GUID). One row links the two and carries what mail needs:
the person's name, address and language. Entra ID's app provisioning keeps it through SCIM (api/scim.py,
issue 22); IT admins may still correct it through `PUT /api/v1/people/{employee_ref}`.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base, UTCDateTime


class Person(Base):
    __tablename__ = "people"
    employee_ref: Mapped[str] = mapped_column(String(40), primary_key=True)
    # the token subject that is this person (Entra `oid`); unique, so one login is one person
    subject: Mapped[str | None] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2), default="sv")  # the language mail to them is written in
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # --- SCIM provisioning (issue 22): set while the directory provisions the person -------------------
    scim_id: Mapped[str | None] = mapped_column(String(36), unique=True)  # the SCIM resource id Ramflow gave
    user_name: Mapped[str | None] = mapped_column(String(254), unique=True)  # userName (Entra: UPN)
    external_id: Mapped[str | None] = mapped_column(String(254), index=True)  # externalId (Entra: objectId)
    department: Mapped[str | None] = mapped_column(String(200))  # as the directory sends it; a unit id moves them
    manager_ref: Mapped[str | None] = mapped_column(String(40))  # the manager's employee number
    # issue 25: payroll's employment number (PAXml `anstid`); never the personnummer (EQ-11)
    employment_number: Mapped[str | None] = mapped_column(String(40))
    scim_resource: Mapped[dict | None] = mapped_column(JSON)  # the User as last provisioned (what GET answers)
    scim_version: Mapped[int] = mapped_column(Integer, default=0)  # meta.version (ETag)


class DeviceReturnFlag(Base):
    """Rule EQ-7: a leaver's device in use, flagged for return to its unit (the register shows it until the
    device is returned or reassigned; the flag is the unit's to-do, not a lifecycle move)."""

    __tablename__ = "device_return_flags"
    order_number: Mapped[str] = mapped_column(ForeignKey("devices.order_number"), primary_key=True)
    employee_ref: Mapped[str] = mapped_column(String(40), index=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    flagged_at: Mapped[datetime] = mapped_column(UTCDateTime())
    workflow_id: Mapped[str] = mapped_column(String(80))


class PersonMove(Base):
    """A mover (EQ-7/EQ-8): the person is in the new unit at once; their devices follow when the old unit's
    manager confirms, and the cost bearer changes from that day."""

    __tablename__ = "person_moves"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    employee_ref: Mapped[str] = mapped_column(String(40), index=True)
    from_unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    to_unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending, confirmed
    devices: Mapped[list] = mapped_column(JSON, default=list)  # the order numbers that follow on confirmation
    confirmed_by: Mapped[str | None] = mapped_column(String(80))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
