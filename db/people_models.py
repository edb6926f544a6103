"""The people register: who a person is across Ramflow's records (issues 20, 21, 22).

Processes name people by employee number (`E5001`: a device's user, a ticket's reporter, a unit's manager);
tokens name them by subject (Entra ID's `oid`, a GUID). One row links the two and carries what mail needs:
the person's name, address and language. Until SCIM provisioning fills it (issue 22), IT admins keep it
through `PUT /api/v1/people/{employee_ref}`.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
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
