"""Tables of the support process (rules TK-1 … TK-12, AV-1 … AV-4): the ticket register mirrored from
the workflows, billing lines, survey answers, service requests, designated applicants and incidents."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models import AuditLogColumns, Base, Money, UTCDateTime


def utc(at: datetime | None) -> datetime | None:
    """Store instants in UTC: SQLite keeps no offset, so every written instant is UTC."""
    return None if at is None else at.astimezone(timezone.utc)


def aware(at: datetime | None) -> datetime | None:
    """An instant read back: SQLite returns it naive, in UTC."""
    if at is None:
        return None
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at


class Ticket(Base):
    """A support ticket; kept in step with its workflow by `tickets.mirror_transition`."""

    __tablename__ = "tickets"
    number: Mapped[str] = mapped_column(String(40), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(80), unique=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    municipality: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), index=True)
    reporter_ref: Mapped[str] = mapped_column(String(40), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)  # the reporter's own words (issue 20)
    # issue 23: on PostgreSQL migration 0021 indexes title + description for full-text search (GIN, 'swedish')
    affects_operations: Mapped[bool | None] = mapped_column(Boolean)  # as reported (TK-8); null before issue 20
    cannot_wait: Mapped[bool | None] = mapped_column(Boolean)
    unit_started_troubleshooting: Mapped[bool | None] = mapped_column(Boolean)  # TK-7, as reported or triaged
    device_order_number: Mapped[str | None] = mapped_column(ForeignKey("devices.order_number"), index=True)
    support_level: Mapped[str | None] = mapped_column(String(40))
    matter: Mapped[str | None] = mapped_column(String(40))
    function: Mapped[str | None] = mapped_column(String(40), index=True)
    on_call: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    line: Mapped[str] = mapped_column(String(40), index=True)
    state: Mapped[str] = mapped_column(String(40), index=True)
    assignee: Mapped[str | None] = mapped_column(String(80), index=True)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breached: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_line: Mapped[str | None] = mapped_column(String(40))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handed_back_reason: Mapped[str | None] = mapped_column(Text)
    survey_selected: Mapped[bool | None] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TicketTransition(AuditLogColumns, Base):
    """The register's mirror of a ticket's audit log: who, when, why, under which rule."""

    __tablename__, __audit_key__ = "ticket_transitions", "number"
    number: Mapped[str] = mapped_column(ForeignKey("tickets.number"), index=True)


class SupportCharge(Base):
    """A billing line for a unit: on-call work (TK-8) or a physical move (TK-12)."""

    __tablename__ = "support_charges"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(20), index=True)
    reference: Mapped[str] = mapped_column(String(40), index=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    minutes_worked: Mapped[int] = mapped_column(Integer)
    minutes_charged: Mapped[int] = mapped_column(Integer)
    hours: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    hourly_rate: Mapped[Decimal] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)
    charged_on: Mapped[date] = mapped_column(Date, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class SurveyAnswer(Base):
    """Rule TK-6: the two questions' answers, one per ticket."""

    __tablename__ = "survey_answers"
    ticket_number: Mapped[str] = mapped_column(ForeignKey("tickets.number"), primary_key=True)
    solved_satisfactorily: Mapped[bool] = mapped_column(Boolean)
    treatment: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NumberCounter(Base):
    """Next ticket / service-request number per prefix and year (T2026-00001, SR2026-00001)."""

    __tablename__ = "number_counters"
    prefix: Mapped[str] = mapped_column(String(10), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class ServiceRequest(Base):
    """A service request (TK-9 … TK-12); kept in step with its workflow."""

    __tablename__ = "service_requests"
    number: Mapped[str] = mapped_column(String(40), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    municipality: Mapped[str] = mapped_column(ForeignKey("municipalities.code"))
    applicant_ref: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(40), index=True)
    assignee: Mapped[str | None] = mapped_column(String(80))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    result: Mapped[str | None] = mapped_column(Text)
    minutes_worked: Mapped[int | None] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ServiceRequestTransition(AuditLogColumns, Base):
    __tablename__, __audit_key__ = "service_request_transitions", "number"
    number: Mapped[str] = mapped_column(ForeignKey("service_requests.number"), index=True)


class DesignatedApplicant(Base):
    """Rule TK-9: besides the unit's manager, the persons the manager designates may apply."""

    __tablename__ = "designated_applicants"
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), primary_key=True)
    person_ref: Mapped[str] = mapped_column(String(40), primary_key=True)
    designated_by: Mapped[str] = mapped_column(String(80))
    designated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Incident(Base):
    """An outage or IT incident (rules AV-1, AV-3, AV-4), with start and end."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # outage | incident
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    reported_by: Mapped[str] = mapped_column(String(10))  # it | unit (rule AV-4)
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))
    municipality: Mapped[str | None] = mapped_column(ForeignKey("municipalities.code"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
