"""The tertial follow-up: TK-3 share within användarstöd, TK-4 intefunktion, TK-6 survey, TK-8 on call,
AV-1 availability and AV-3 outages and incidents, as JSON or CSV."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.deps import SessionDep, SettingsDep
from api.errors import JSON_ERRORS
from api.routes.calendar import framework_parameters, support_calendar
from config import Settings
from db.ticket_models import Incident, SupportCharge, SurveyAnswer, Ticket, aware, utc
from domain.tertial_report import (
    ChargeFact,
    IncidentFact,
    SurveyFact,
    TertialReport,
    TicketFact,
    report_csv,
    tertial_bounds,
    tertial_report,
)

router = APIRouter(tags=["support tickets"])


def build_report(session: Session, settings: Settings, year: int, tertial: int) -> TertialReport:
    start, end = tertial_bounds(year, tertial, support_calendar(settings).tz)
    # rules AV-1, AV-2, AV-3, GV-2: targets and service windows of the version in force at the tertial's end
    parameters = framework_parameters(session, (end - timedelta(days=1)).date())
    cal = support_calendar(settings, parameters)
    year_start = datetime(year, 1, 1, tzinfo=cal.tz)
    rows = list(session.scalars(select(Ticket).where(Ticket.reported_at >= utc(start), Ticket.reported_at < utc(end))))
    numbers = [r.number for r in rows]
    tickets = [TicketFact(number=r.number, reported_at=aware(r.reported_at), state=r.state,
                          resolved_line=r.resolved_line, intefunktion=r.function is not None, breached=r.breached,
                          on_call=r.on_call, survey_selected=r.survey_selected) for r in rows]
    charges = [ChargeFact(reference=c.reference, source=c.source, hours=c.hours, amount=c.amount)
               for c in session.scalars(select(SupportCharge).where(SupportCharge.source == "on_call",
                                                                    SupportCharge.reference.in_(numbers)))]
    incidents = [IncidentFact(kind=i.kind, started_at=aware(i.started_at), ended_at=aware(i.ended_at))
                 for i in session.scalars(select(Incident).where(
                     Incident.started_at < utc(end),
                     or_(Incident.ended_at.is_(None), Incident.ended_at > utc(year_start))))]
    surveys = [SurveyFact(ticket_number=a.ticket_number, solved_satisfactorily=a.solved_satisfactorily,
                          treatment=a.treatment)
               for a in session.scalars(select(SurveyAnswer).where(SurveyAnswer.ticket_number.in_(numbers)))]
    return tertial_report(year, tertial, tickets=tickets, charges=charges, incidents=incidents, surveys=surveys,
                          cal=cal, now=datetime.now(timezone.utc),
                          availability_target_percent=float(parameters.availability_target_percent),
                          max_incidents_per_year=parameters.max_incidents_per_year)


@router.get("/reports/tertial", response_model=TertialReport)
def tertial(session: SessionDep, settings: SettingsDep, year: Annotated[int, Query(ge=2000, le=2100)],
            tertial: Annotated[int, Query(ge=1, le=3, description="T1 Jan–Apr, T2 May–Aug, T3 Sep–Dec")]):
    """The follow-up per tertial: TK-3 share within användarstöd, TK-4 intefunktion, TK-8 on call,
    AV-3 outages and incidents, AV-1 availability (all downtime; the part inside service windows shown apart), TK-6 survey."""
    return build_report(session, settings, year, tertial)


@router.get("/reports/tertial.csv", response_class=Response,
            responses={**JSON_ERRORS, 200: {"content": {"text/csv": {}}, "description": "metric,rule,value,goal,met rows"}})
def tertial_csv(session: SessionDep, settings: SettingsDep, year: Annotated[int, Query(ge=2000, le=2100)],
                tertial: Annotated[int, Query(ge=1, le=3)]) -> Response:
    report = build_report(session, settings, year, tertial)
    return Response(report_csv(report), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="ramflow-{year}-T{tertial}.csv"'})

