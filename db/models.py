"""SQLAlchemy models: reference data, the inventory register and the side-effect records."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from datetime import timezone

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

Money = Numeric(12, 2)


class UTCDateTime(TypeDecorator):
    """An instant, stored in UTC and always read back timezone-aware (SQLite keeps no offset: it would
    come back naive, and the API would answer a timestamp without offset; issue 7)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001, ANN201
        if value is not None and value.tzinfo is not None:
            return value.astimezone(timezone.utc)
        return value

    def process_result_value(self, value, dialect):  # noqa: ANN001, ANN201
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    pass


class AuditLogColumns:
    """One line of a process's audit log as every register mirrors it: who, when, why, which rule
    (domain.process.TransitionRecord). Each table names the column that keys its process
    (`__audit_key__`) and adds it; (key, seq) is unique."""

    __audit_key__: str

    @declared_attr.directive
    def __table_args__(cls) -> tuple:  # noqa: N805
        return (UniqueConstraint(cls.__audit_key__, "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    event: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str] = mapped_column(String(40))
    to_state: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(Text)
    rule: Mapped[str] = mapped_column(String(20))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    # Tamper evidence (issue 11, domain.audit): the chain over this process's lines; append-only.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


# --- reference data -------------------------------------------------------------------------
class Municipality(Base):
    __tablename__ = "municipalities"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))


class Unit(Base):
    """A verksamhet/enhet: customer and cost bearer (kostnadsbärare)."""

    __tablename__ = "units"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    municipality: Mapped[str] = mapped_column(ForeignKey("municipalities.code"))
    name: Mapped[str] = mapped_column(String(200))
    manager_ref: Mapped[str | None] = mapped_column(String(40))
    # issue 21: the unit's functional mailbox (TK-10), where `unit:<id>` notifications are mailed
    mailbox: Mapped[str | None] = mapped_column(String(254))
    # issue 22 (reorganisations): a unit exists from a date and may close, merged into another, on a date
    valid_from: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    merged_into: Mapped[str | None] = mapped_column(ForeignKey("units.id"))


class UnitHistory(Base):
    """A unit's names over time (issue 22): views and invoice bases of earlier periods show the name then."""

    __tablename__ = "unit_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)  # exclusive: the day the next name (or the merge) starts


class ErasureVendor(Base):
    """Rule EQ-12: only a certified vendor's certificate lets a device leave the municipalities."""

    __tablename__ = "erasure_vendors"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    certification: Mapped[str | None] = mapped_column(String(120))
    certified: Mapped[bool] = mapped_column(Boolean, default=True)


class CatalogueModelRow(Base):
    __tablename__ = "catalogue_models"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40), index=True)
    expected_life_months: Mapped[int] = mapped_column(Integer)
    warranty_months: Mapped[int] = mapped_column(Integer)
    agreement_ref: Mapped[str] = mapped_column(String(80))
    original_os: Mapped[str | None] = mapped_column(String(80))
    form_factor: Mapped[str | None] = mapped_column(String(20))  # laptop / desktop (EQ-5 replacement); 0004
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PriceRow(Base):
    __tablename__ = "prices"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_code: Mapped[str] = mapped_column(ForeignKey("catalogue_models.code"), primary_key=True)
    monthly_rent: Mapped[Decimal | None] = mapped_column(Money)
    purchase_price: Mapped[Decimal | None] = mapped_column(Money)
    monthly_service_fee: Mapped[Decimal | None] = mapped_column(Money)
    weekly_rent: Mapped[Decimal | None] = mapped_column(Money)
    installation_fee: Mapped[Decimal | None] = mapped_column(Money)


class RenewalPolicy(Base):
    """Rule EQ-5: renewal period per category and municipality (None = no automatic renewal)."""

    __tablename__ = "renewal_policies"
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    municipality: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), primary_key=True)
    renewal_months: Mapped[int | None] = mapped_column(Integer)


# --- the inventory register -----------------------------------------------------------------
class Device(Base):
    """A row of the inventarieregister; every row traces back to an order (rule EQ-1)."""

    __tablename__ = "devices"
    order_number: Mapped[str] = mapped_column(String(40), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(80), unique=True)
    # issue 23: migration 0021 also indexes upper(serial_number) and upper(order_number) (api/search.py)
    model_code: Mapped[str] = mapped_column(ForeignKey("catalogue_models.code"), index=True)
    category: Mapped[str] = mapped_column(String(40), index=True)
    agreement_ref: Mapped[str] = mapped_column(String(80))
    municipality: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), index=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    cost_bearer_unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), index=True)
    user_ref: Mapped[str | None] = mapped_column(String(40), index=True)
    location: Mapped[str | None] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(40), index=True)
    serial_number: Mapped[str | None] = mapped_column(String(80))
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    renewal_months: Mapped[int | None] = mapped_column(Integer)
    replaces: Mapped[str | None] = mapped_column(String(40))
    rental_weeks: Mapped[int | None] = mapped_column(Integer)  # short-term laptops (EQ-4, EQ-14; issue 20)
    replaced_by: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeviceTransition(AuditLogColumns, Base):
    """The register's mirror of the workflow's audit log."""

    __tablename__, __audit_key__ = "device_transitions", "order_number"
    order_number: Mapped[str] = mapped_column(ForeignKey("devices.order_number"), index=True)


class Charge(Base):
    """What a unit is charged for a device: a recurring period (monthly amount) or a one-off amount."""

    __tablename__ = "charges"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_number: Mapped[str] = mapped_column(ForeignKey("devices.order_number"), index=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(Money)
    recurring: Mapped[bool] = mapped_column(Boolean)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)


# --- records kept by the default adapters of external systems --------------------------------
class DeviceRecordColumns:
    """A record an external system keeps of one device (keyed by its order number), and when."""

    order_number: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class CallOff(DeviceRecordColumns, Base):
    """Procurement: the avrop under a procured agreement (rule EQ-2)."""

    __tablename__ = "call_offs"
    agreement_ref: Mapped[str] = mapped_column(String(80))
    model_code: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str] = mapped_column(String(80))
    # issue 25: the Peppol Order handed to the e-commerce system and the supplier's Order Response
    order_file_id: Mapped[int | None] = mapped_column(Integer)  # file_deliveries.id
    response_code: Mapped[str | None] = mapped_column(String(4))  # UNCL4343 subset: AP accepted, RE rejected, CA changed
    response_note: Mapped[str | None] = mapped_column(String(500))
    response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MdmEnrolment(DeviceRecordColumns, Base):
    """Rule EQ-13: phones and tablets are enrolled in MDM at delivery."""

    __tablename__ = "mdm_enrolments"
    serial_number: Mapped[str] = mapped_column(String(80))
    profile: Mapped[str] = mapped_column(String(80))


class SalaryDeduction(DeviceRecordColumns, Base):
    """Rule EQ-11: the buyout is paid by net salary deduction."""

    __tablename__ = "salary_deductions"
    employee_ref: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(Money)
    # issue 25: the PAXml file it went out in, and payroll's refusal (the buyout goes back to IT)
    paxml_file_id: Mapped[int | None] = mapped_column(Integer)  # file_deliveries.id
    refused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refused_by: Mapped[str | None] = mapped_column(String(80))
    refusal_reason: Mapped[str | None] = mapped_column(String(500))


class ErasureRecord(Base):
    """Rule EQ-12: erasure ordered from a certified vendor, and its certificate."""

    __tablename__ = "erasures"
    order_number: Mapped[str] = mapped_column(String(40), primary_key=True)
    vendor: Mapped[str] = mapped_column(ForeignKey("erasure_vendors.name"))
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    certificate_id: Mapped[str | None] = mapped_column(String(80))
    certified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reinstalled_os: Mapped[str | None] = mapped_column(String(80))


class OutboxMessage(Base):
    """Notifications and their delivery (issue 21): one row per message, mailed by the `mail-<id>` workflow
    (workflows/mail.py); the row is the audit and delivery log. The contract for writers is in activities/outbox.py."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    topic: Mapped[str] = mapped_column(String(60), index=True)
    recipient: Mapped[str] = mapped_column(String(120))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    workflow_id: Mapped[str | None] = mapped_column(String(80), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # --- delivery (issue 21) ---
    key: Mapped[str | None] = mapped_column(String(200), unique=True)  # the Message-ID is derived from it
    state: Mapped[str] = mapped_column(String(10), default="pending", index=True)  # pending / sent / failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    message_id: Mapped[str | None] = mapped_column(String(250), index=True)
    address: Mapped[str | None] = mapped_column(String(254))  # where it went (resolved at sending)
    in_reply_to: Mapped[str | None] = mapped_column(String(250))  # threading: a reply to a ticket's mail
    references: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON)  # structured facts the templates show (price, deadline …)


class AppliedEffect(Base):
    """Idempotency: one row per side effect done, keyed by workflow id + step."""

    __tablename__ = "applied_effects"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
