"""The support calendar: "when will it be fixed?" and the planned service windows (rules TK-1, TK-5, AV-2)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.bounds import FIRST_YEAR, LAST_YEAR
from api.deps import SessionDep, SettingsDep
from config import Settings
from db.governance_queries import framework_in_force
from db.ticket_models import aware
from domain.framework_changes import FrameworkParameters
from domain.support_calendar import SupportCalendar, calendar_with

router = APIRouter(tags=["support calendar"])


def support_calendar(settings: Settings, parameters: FrameworkParameters | None = None) -> SupportCalendar:
    """The default calendar plus the configured extra closed days (rule TK-1); with the support hours and
    service windows of `parameters` if given (rules TK-1, AV-2, GV-2)."""
    if parameters is None:
        return calendar_with(settings.extra_closed_days)
    return calendar_with(settings.extra_closed_days, parameters.hours(), parameters.window_rules())


def local(at: datetime | None, tz) -> datetime | None:
    """An instant read from a register, in local time (rule TK-1: everything is Europe/Stockholm)."""
    return None if at is None else aware(at).astimezone(tz)


def framework_parameters(session: Session, on: date) -> FrameworkParameters:
    """The parameters of the framework version in force on `on` (rule GV-2); before the first
    version (an empty register) the document's own values."""
    try:
        return framework_in_force(session, on).parameters
    except LookupError:
        return FrameworkParameters(price_list_year=on.year)


def calendar_on(session: Session, settings: Settings, on: date) -> SupportCalendar:
    """The support calendar with the support hours and service windows in force on `on` (rule GV-2)."""
    return support_calendar(settings, framework_parameters(session, on))


def parse_instant(text: str, field: str, cal: SupportCalendar) -> datetime:
    """ISO 8601; a '+' offset that arrived unencoded (a space) is repaired; no offset means local time."""
    try:
        at = datetime.fromisoformat(text.strip().replace(" ", "+") if "T" in text else text.strip())
    except ValueError as error:
        raise HTTPException(422, f"{field}: not an ISO 8601 date-time ({text!r})") from error
    if not FIRST_YEAR <= at.year <= LAST_YEAR:  # before converting: year 9999 overflows on the way (issue 20)
        raise HTTPException(422, f"{field}: must be in the years {FIRST_YEAR}–{LAST_YEAR}")
    if at.tzinfo is None:
        at = at.replace(tzinfo=cal.tz)
    return at.astimezone(cal.tz)


class DeadlineAnswer(BaseModel):
    reported_at: datetime
    deadline: datetime
    support_open_at_report: bool


class WindowView(BaseModel):
    kind: Literal["primary", "secondary"]
    start: datetime
    end: datetime


class ServiceWindowsAnswer(BaseModel):
    year: int
    month: int
    windows: list[WindowView]


@router.get("/calendar/deadline", response_model=DeadlineAnswer)
def deadline(reported_at: Annotated[str, Query(description="ISO 8601, e.g. 2026-03-12T16:15:00+01:00")],
             settings: SettingsDep, session: SessionDep) -> DeadlineAnswer:
    """Rule TK-5: the intefunktion fix deadline of a ticket reported at `reported_at` (one working day),
    in the support hours in force on that date (rules TK-1, GV-2)."""
    at = parse_instant(reported_at, "reported_at", support_calendar(settings))
    cal = calendar_on(session, settings, at.date())
    return DeadlineAnswer(reported_at=at, deadline=cal.deadline(at), support_open_at_report=cal.is_open(at))


@router.get("/calendar/service-windows", response_model=ServiceWindowsAnswer)
def service_windows(year: Annotated[int, Query(ge=2000, le=2100)], month: Annotated[int, Query(ge=1, le=12)],
                    settings: SettingsDep, session: SessionDep) -> ServiceWindowsAnswer:
    """Rule AV-2: the primary window (third Tuesday 18–22) and the secondary one (the Tuesday after, 18–21),
    as the framework version in force on the month's first day sets them (GV-2)."""
    cal = calendar_on(session, settings, date(year, month, 1))
    return ServiceWindowsAnswer(year=year, month=month, windows=[
        WindowView(kind=w.kind, start=w.start, end=w.end) for w in cal.service_windows(year, month)])
