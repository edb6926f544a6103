"""The premises projects' register and audit log (rules FC-1 … FC-4)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models import AuditLogColumns, Base, UTCDateTime


class PremisesProject(Base):
    """One building project at a new or rebuilt unit address, mirrored from its workflow."""

    __tablename__ = "premises_projects"
    project_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(80))
    municipality: Mapped[str] = mapped_column(String(20), index=True)
    site_name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[str | None] = mapped_column(String(40))
    property_owner: Mapped[str] = mapped_column(String(120))
    site_class: Mapped[str] = mapped_column(String(30))
    power_requirement: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(40), index=True)
    connection_delivered: Mapped[bool] = mapped_column(Boolean, default=False)
    power_requirement_met: Mapped[bool] = mapped_column(Boolean, default=False)
    requirements: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PremisesTransition(AuditLogColumns, Base):
    """The register's mirror of a premises project's audit log: who, when, document reference."""

    __tablename__, __audit_key__ = "premises_transitions", "project_id"
    project_id: Mapped[str] = mapped_column(ForeignKey("premises_projects.project_id"), index=True)
