"""Incidents — outages and other IT incidents, reported by IT or by a unit — and the operational messages
published on each municipality's intranet (rules AV-1, AV-3, AV-4)."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Literal

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import access
from api.bounds import Instant, YearQuery
from api.deps import ActorDep, IdempotencyKeyDep, Limit, Offset, PrincipalDep, SessionDep, SettingsDep
from api.routes.calendar import local, support_calendar
from db.idempotency import IdempotencyKey, request_hash, scoped_key
from db.models import Municipality, OutboxMessage, Unit
from db.ticket_models import Incident, aware, utc
from domain.support_lines import Line, line_lead

router = APIRouter(tags=["support tickets"])


class NewIncident(BaseModel):
    """Rules AV-3, AV-4: an outage (downtime) or another IT incident, reported by IT or by a unit."""

    kind: Literal["outage", "incident"]
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=4000)
    reported_by: Literal["it", "unit"] = "it"
    unit_id: str | None = Field(None, description="the reporting unit (reported_by=unit)")
    municipality: str | None = Field(None, description="affected municipality; null: both")
    started_at: Instant
    ended_at: Instant | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "NewIncident":
        for name in ("started_at", "ended_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name}: give the offset (ISO 8601 with offset)")
        if self.reported_by == "unit" and self.unit_id is None:
            raise ValueError("unit_id: a unit-reported incident names the unit (rule AV-4)")
        if self.ended_at is not None and self.ended_at <= self.started_at:
            raise ValueError("ended_at: must be after started_at")
        return self


class IncidentEnd(BaseModel):
    ended_at: Instant


class IncidentView(BaseModel):
    id: int
    kind: str
    title: str
    description: str | None
    reported_by: str
    unit_id: str | None
    municipality: str | None
    started_at: datetime
    ended_at: datetime | None
    recorded_by: str


class OperationalMessage(BaseModel):
    """Rule AV-4: operational messages are published on each municipality's intranet."""

    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=4000)
    municipality: str | None = Field(None, description="null: both intranets")



def publish(session: Session, subject: str, body: str, municipality: str | None, topic: str,
            at: datetime) -> list[str]:
    """Rule AV-4: a message on each (or one) municipality's intranet, through the outbox."""
    codes = [municipality] if municipality else list(
        session.scalars(select(Municipality.code).order_by(Municipality.code)))
    batch = uuid.uuid4().hex  # issue 21: the key the Message-ID derives from; delivery's sweep starts the mail
    for code in codes:
        session.add(OutboxMessage(created_at=utc(at), topic=topic, recipient=f"intranet:{code}", subject=subject,
                                  body=body, key=f"{topic}:{batch}:{code}", state="pending", attempts=0,
                                  data={"municipality": code}))
    return [f"intranet:{code}" for code in codes]



def incident_view(row: Incident, tz) -> IncidentView:
    return IncidentView(id=row.id, kind=row.kind, title=row.title, description=row.description,
                        reported_by=row.reported_by, unit_id=row.unit_id, municipality=row.municipality,
                        started_at=local(row.started_at, tz), ended_at=local(row.ended_at, tz),
                        recorded_by=row.recorded_by)


@router.post("/incidents", status_code=status.HTTP_201_CREATED, response_model=IncidentView,
             responses={200: {"description": "already recorded (same Idempotency-Key)"}, 422: {}})
def record_incident(incident: NewIncident, actor: ActorDep, session: SessionDep, settings: SettingsDep,
                    response: Response, idempotency_key: IdempotencyKeyDep, principal: PrincipalDep) -> IncidentView:
    """Rules AV-3/AV-4: IT reports IT incidents on its own (published on the intranets); units report theirs."""
    access.incident(principal, incident.reported_by, incident.unit_id)
    tz = support_calendar(settings).tz
    digest = request_hash(actor, incident.model_dump(mode="json"))
    if idempotency_key is not None:
        earlier = session.get(IdempotencyKey, ("incidents", scoped_key(actor, idempotency_key)))
        if earlier is not None:
            return _earlier_incident(session, earlier, idempotency_key, digest, tz, response)
    if incident.unit_id is not None and session.get(Unit, incident.unit_id) is None:
        raise HTTPException(422, f"unit_id: unknown unit {incident.unit_id!r}")
    if incident.municipality is not None and session.get(Municipality, incident.municipality) is None:
        raise HTTPException(422, f"municipality: unknown municipality {incident.municipality!r}")
    at = datetime.now(timezone.utc)
    row = Incident(kind=incident.kind, title=incident.title, description=incident.description,
                   reported_by=incident.reported_by, unit_id=incident.unit_id, municipality=incident.municipality,
                   started_at=utc(incident.started_at), ended_at=utc(incident.ended_at), recorded_by=actor,
                   recorded_at=utc(at))
    session.add(row)
    session.flush()
    if incident.reported_by == "it":  # rule AV-4
        publish(session, f"Driftinformation: {incident.title}",
                f"{incident.kind} from {incident.started_at.isoformat()}"
                + (f" to {incident.ended_at.isoformat()}" if incident.ended_at else " (ongoing)")
                + (f". {incident.description}" if incident.description else ""),
                incident.municipality, "operational_message", at)
    else:
        session.add(OutboxMessage(created_at=utc(at), topic="unit_incident", recipient=line_lead(Line.INFRASTRUKTUR),
                                  subject=f"Unit {incident.unit_id} reports: {incident.title}",
                                  body=incident.description or ""))
    if idempotency_key is not None:  # in the same transaction as the incident: recorded once
        session.add(IdempotencyKey(scope="incidents", key=scoped_key(actor, idempotency_key), request_hash=digest,
                                   resource=str(row.id), created_at=at))
    try:
        session.commit()
    except IntegrityError:  # a concurrent request with the same key won
        session.rollback()
        earlier = session.get(IdempotencyKey, ("incidents", scoped_key(actor, idempotency_key)))
        if earlier is None:
            raise
        return _earlier_incident(session, earlier, idempotency_key, digest, tz, response)
    return incident_view(row, tz)


def _earlier_incident(session: Session, earlier: IdempotencyKey, key: str, digest: str, tz,
                      response: Response) -> IncidentView:
    if earlier.request_hash != digest:
        raise HTTPException(422, f"Idempotency-Key: {key!r} was used for another request")
    response.status_code = status.HTTP_200_OK
    return incident_view(session.get(Incident, int(earlier.resource)), tz)


@router.put("/incidents/{incident_id}/end", response_model=IncidentView, responses={404: {}, 409: {}, 422: {}})
def end_incident(incident_id: int, end: IncidentEnd, session: SessionDep, settings: SettingsDep) -> IncidentView:
    row = session.get(Incident, incident_id)
    if row is None:
        raise HTTPException(404, f"incident_id: no incident {incident_id}")
    if end.ended_at.tzinfo is None:
        raise HTTPException(422, "ended_at: give the offset (ISO 8601 with offset)")
    if row.ended_at is not None:
        raise HTTPException(409, f"incident {incident_id} already ended at {aware(row.ended_at).isoformat()}")
    if utc(end.ended_at) <= aware(row.started_at):
        raise HTTPException(422, "ended_at: must be after started_at")
    row.ended_at = utc(end.ended_at)
    if row.reported_by == "it":  # rule AV-4
        publish(session, f"Driftinformation: {row.title} is over", f"Ended {end.ended_at.isoformat()}.",
                row.municipality, "operational_message", datetime.now(timezone.utc))
    session.commit()
    return incident_view(row, support_calendar(settings).tz)


@router.get("/incidents", response_model=list[IncidentView])
def list_incidents(session: SessionDep, settings: SettingsDep, year: YearQuery | None = None,
                   kind: Literal["outage", "incident"] | None = None, limit: Limit = 200,
                   offset: Offset = 0) -> list[IncidentView]:
    query = select(Incident).order_by(Incident.started_at, Incident.id).limit(limit).offset(offset)
    if kind is not None:
        query = query.where(Incident.kind == kind)
    tz = support_calendar(settings).tz
    if year is not None:
        start, end = datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)
        query = query.where(Incident.started_at >= utc(start), Incident.started_at < utc(end))
    return [incident_view(row, tz) for row in session.scalars(query)]


@router.post("/operational-messages", status_code=status.HTTP_201_CREATED, response_model=list[str])
def publish_operational_message(message: OperationalMessage, session: SessionDep) -> list[str]:
    """Rule AV-4: published on each municipality's intranet (through the outbox); answers the recipients."""
    if message.municipality is not None and session.get(Municipality, message.municipality) is None:
        raise HTTPException(422, f"municipality: unknown municipality {message.municipality!r}")
    recipients = publish(session, message.subject, message.body, message.municipality, "operational_message",
                         datetime.now(timezone.utc))
    session.commit()
    return recipients


