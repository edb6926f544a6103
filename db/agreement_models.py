"""Tables of application agreements, the application price list, service definitions, framework
versions and the AG/GV processes' mirror (rules AG-1 … AG-8, GV-1 … GV-4)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models import AuditLogColumns, Base, UTCDateTime

UnitPrice = Numeric(12, 2)
Quantity = Numeric(12, 3)
Amount = Numeric(14, 2)


class ApplicationPriceRow(Base):
    """Rule AG-5: the application price list, one row per year and item (a cost component or a
    service priced by tjänstefieringsgruppen, AG-7). Annual SEK per unit."""

    __tablename__ = "application_prices"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    item: Mapped[str] = mapped_column(String(40), primary_key=True)
    component: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(40))
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice)
    description: Mapped[str | None] = mapped_column(String(200))
    set_by: Mapped[str] = mapped_column(String(80))
    framework_version_id: Mapped[str | None] = mapped_column(String(60))


class AgreementRow(Base):
    """An application agreement (applikationsavtal) or cost description (rule AG-1)."""

    __tablename__ = "agreements"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    application: Mapped[str] = mapped_column(String(200))
    application_kind: Mapped[str] = mapped_column(String(30))
    variant: Mapped[str] = mapped_column(String(10))
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    system_owner_ref: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), index=True)  # draft, active, terminated
    workflow_id: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    current_version: Mapped[int | None] = mapped_column(Integer)
    terminated_on: Mapped[date | None] = mapped_column(Date)
    termination_reason: Mapped[str | None] = mapped_column(Text)


class AgreementVersionRow(Base):
    """Every version of an agreement is kept (rule AG-4)."""

    __tablename__ = "agreement_versions"
    __table_args__ = (UniqueConstraint("agreement_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    for_year: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[date] = mapped_column(Date)
    price_year: Mapped[int] = mapped_column(Integer)
    total: Mapped[Decimal] = mapped_column(Amount)
    content: Mapped[dict] = mapped_column(JSON)
    approved_by: Mapped[dict] = mapped_column(JSON, default=dict)
    workflow_id: Mapped[str | None] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AgreementCostLineRow(Base):
    """Rule AG-3: a version's cost per component: quantity × that year's unit price."""

    __tablename__ = "agreement_cost_lines"
    __table_args__ = (UniqueConstraint("agreement_id", "version", "item"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    item: Mapped[str] = mapped_column(String(40))
    component: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit: Mapped[str] = mapped_column(String(40))
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice)
    price_year: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Amount)


class ServiceDefinitionRow(Base):
    """Rule AG-7: a service's description for the framework assignment and its price."""

    __tablename__ = "service_definitions"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    component: Mapped[str | None] = mapped_column(String(40))
    unit: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(30), index=True)
    for_year: Mapped[int | None] = mapped_column(Integer)
    unit_price: Mapped[Decimal | None] = mapped_column(UnitPrice)
    workflow_id: Mapped[str | None] = mapped_column(String(80))
    updated_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FrameworkVersionRow(Base):
    """Rules GV-1, GV-2: a decided version of the framework assignment and its parameters."""

    __tablename__ = "framework_versions"
    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    effective_from: Mapped[date] = mapped_column(Date, index=True)
    decided_on: Mapped[date | None] = mapped_column(Date)
    minutes_ref: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20))
    parameters: Mapped[dict] = mapped_column(JSON)
    services: Mapped[list] = mapped_column(JSON, default=list)
    workflow_id: Mapped[str | None] = mapped_column(String(80))
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FrameworkDecisionRow(Base):
    """Rule GV-2: each step's decision, its date and the minutes reference."""

    __tablename__ = "framework_decisions"
    __table_args__ = (UniqueConstraint("workflow_id", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workflow_id: Mapped[str] = mapped_column(String(80), index=True)
    proposal_id: Mapped[str] = mapped_column(String(60), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(String(80))
    municipality: Mapped[str | None] = mapped_column(String(40))
    decision: Mapped[str] = mapped_column(String(20))
    decided_on: Mapped[date] = mapped_column(Date)
    minutes_ref: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class GovernanceProcessRow(Base):
    """One row per AG/GV process (agreement revision, service, cloud move, framework proposal,
    development case): its state and latest data, kept current by every transition."""

    __tablename__ = "governance_processes"
    workflow_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    process: Mapped[str] = mapped_column(String(40), index=True)
    subject: Mapped[str] = mapped_column(String(60), index=True)
    state: Mapped[str] = mapped_column(String(40), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict] = mapped_column(JSON)


class GovernanceTransitionRow(AuditLogColumns, Base):
    """The audit log of the AG/GV processes, mirrored from their workflows."""

    __tablename__, __audit_key__ = "governance_transitions", "workflow_id"
    workflow_id: Mapped[str] = mapped_column(String(80), index=True)
