"""Follow-up per tertial (rules TK-3, TK-4, TK-6, TK-8, AV-1 … AV-3), pure: facts in, figures out.

Cohort: the tickets reported in the tertial (local time). A ticket handed back to the unit
(rule TK-7) was not IT's to solve and is counted apart, not in the shares. The availability target
(AV-1) and the most incidents a year (AV-3) are the framework's parameters (GV-2): the caller passes
those in force at the end of the tertial.
"""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone, tzinfo
from decimal import Decimal
from typing import Iterable, Literal

from pydantic import BaseModel

from domain.support_calendar import SupportCalendar
from domain.support_lines import ANVANDARSTOD
from domain.tickets import CLOSED, HANDED_BACK, SOLVED_STATES

ANVANDARSTOD_GOAL = 0.5  # rule TK-3
TERTIAL_MONTHS = {1: (1, 5), 2: (5, 9), 3: (9, 13)}  # start month, end month (exclusive)


def tertial_bounds(year: int, tertial: int, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of T1 Jan–Apr, T2 May–Aug, T3 Sep–Dec, local time."""
    if tertial not in TERTIAL_MONTHS:
        raise ValueError("tertial must be 1, 2 or 3")
    first, last = TERTIAL_MONTHS[tertial]
    start = datetime(year, first, 1, tzinfo=tz)
    end = datetime(year + 1, 1, 1, tzinfo=tz) if last == 13 else datetime(year, last, 1, tzinfo=tz)
    return start, end


def tertial_of(day: date) -> int:
    return (day.month - 1) // 4 + 1


class TicketFact(BaseModel):
    number: str
    reported_at: datetime
    state: str
    resolved_line: str | None = None
    intefunktion: bool = False
    breached: bool = False
    on_call: bool = False
    survey_selected: bool | None = None


class ChargeFact(BaseModel):
    reference: str
    source: str
    hours: Decimal
    amount: Decimal


class IncidentFact(BaseModel):
    kind: Literal["outage", "incident"]
    started_at: datetime
    ended_at: datetime | None = None


class SurveyFact(BaseModel):
    ticket_number: str
    solved_satisfactorily: bool
    treatment: int


class SolvedFigures(BaseModel):
    """Rule TK-3."""

    reported: int
    handed_back: int
    solved: int
    solved_within_anvandarstod: int
    share_within_anvandarstod: float | None
    goal: float = ANVANDARSTOD_GOAL
    goal_met: bool | None


class IntefunktionFigures(BaseModel):
    """Rules TK-4, TK-5."""

    reported: int
    fixed: int
    fixed_within_deadline: int
    breached: int
    open_within_deadline: int
    share_fixed_within_deadline: float | None


class OnCallFigures(BaseModel):
    """Rule TK-8."""

    tickets: int
    hours_charged: Decimal
    amount_charged: Decimal


class IncidentFigures(BaseModel):
    """Rule AV-3."""

    outages: int
    incidents: int
    total: int
    year_to_date: int
    max_per_year: int
    within_limit: bool


class AvailabilityFigures(BaseModel):
    """Rules AV-1, AV-2: all outage time is downtime, also inside a service window; the part inside
    the windows is shown apart, not subtracted (the 99.1 % target leaves room for the windows)."""

    period_seconds: float
    outage_seconds: float
    downtime_seconds: float
    downtime_inside_service_windows_seconds: float
    availability_percent: float
    target_percent: float
    target_met: bool


class SurveyFigures(BaseModel):
    """Rule TK-6."""

    closed: int
    sent: int
    answered: int
    solved_satisfactorily: int
    share_solved_satisfactorily: float | None
    treatment_average: float | None


class TertialReport(BaseModel):
    year: int
    tertial: int
    period_start: datetime
    period_end: datetime
    tickets: SolvedFigures
    intefunktion: IntefunktionFigures
    on_call: OnCallFigures
    incidents: IncidentFigures
    availability: AvailabilityFigures
    survey: SurveyFigures


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def _utc(at: datetime) -> datetime:
    return at.astimezone(timezone.utc)


def merged_intervals(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Overlapping outages count once."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted((_utc(s), _utc(e)) for s, e in intervals if _utc(e) > _utc(s)):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def tertial_report(year: int, tertial: int, *, tickets: Iterable[TicketFact], charges: Iterable[ChargeFact],
                   incidents: Iterable[IncidentFact], surveys: Iterable[SurveyFact], cal: SupportCalendar,
                   now: datetime, availability_target_percent: float, max_incidents_per_year: int) -> TertialReport:
    """The figures of one tertial. `incidents` may span the whole year (AV-3 counts year to date); the
    target (AV-1) and the limit (AV-3) come from the framework version in force (GV-2)."""
    start, end = tertial_bounds(year, tertial, cal.tz)
    start_u, end_u = _utc(start), _utc(end)
    cohort = [t for t in tickets if start_u <= _utc(t.reported_at) < end_u]
    numbers = {t.number for t in cohort}

    handed_back = [t for t in cohort if t.state == HANDED_BACK]
    solved = [t for t in cohort if t.state in SOLVED_STATES]
    within = [t for t in solved if t.resolved_line in ANVANDARSTOD]
    share = _share(len(within), len(solved))
    solved_figures = SolvedFigures(
        reported=len(cohort), handed_back=len(handed_back), solved=len(solved),
        solved_within_anvandarstod=len(within), share_within_anvandarstod=share,
        goal_met=None if share is None else share >= ANVANDARSTOD_GOAL)

    inte = [t for t in cohort if t.intefunktion and t.state != HANDED_BACK]
    fixed = [t for t in inte if t.state in SOLVED_STATES]
    fixed_in_time = [t for t in fixed if not t.breached]
    breached = [t for t in inte if t.breached]
    open_ok = [t for t in inte if t.state not in SOLVED_STATES and not t.breached]
    inte_figures = IntefunktionFigures(
        reported=len(inte), fixed=len(fixed), fixed_within_deadline=len(fixed_in_time), breached=len(breached),
        open_within_deadline=len(open_ok), share_fixed_within_deadline=_share(len(fixed_in_time),
                                                                             len(fixed_in_time) + len(breached)))

    on_call = [t for t in cohort if t.on_call]
    on_call_charges = [c for c in charges if c.source == "on_call" and c.reference in numbers]
    on_call_figures = OnCallFigures(
        tickets=len(on_call), hours_charged=sum((c.hours for c in on_call_charges), Decimal("0.00")),
        amount_charged=sum((c.amount for c in on_call_charges), Decimal("0.00")))

    incidents = list(incidents)
    year_start = _utc(datetime(year, 1, 1, tzinfo=cal.tz))
    in_tertial = [i for i in incidents if start_u <= _utc(i.started_at) < end_u]
    year_to_date = [i for i in incidents if year_start <= _utc(i.started_at) < end_u]
    incident_figures = IncidentFigures(
        outages=sum(i.kind == "outage" for i in in_tertial), incidents=sum(i.kind == "incident" for i in in_tertial),
        total=len(in_tertial), year_to_date=len(year_to_date), max_per_year=max_incidents_per_year,
        within_limit=len(year_to_date) <= max_incidents_per_year)

    horizon = min(end_u, max(start_u, _utc(now)))
    clipped = []
    for i in incidents:
        if i.kind != "outage":
            continue
        s, e = max(_utc(i.started_at), start_u), min(_utc(i.ended_at) if i.ended_at else horizon, end_u)
        clipped.append((s, e))
    outage_seconds = windows = 0.0
    for s, e in merged_intervals(clipped):
        outage_seconds += (e - s).total_seconds()
        windows += cal.service_window_seconds_between(s, e)
    period = (end_u - start_u).total_seconds()
    downtime = outage_seconds  # rule AV-1: over all the time of the year, windows included
    availability = round(100 * (1 - downtime / period), 4)
    availability_figures = AvailabilityFigures(
        period_seconds=period, outage_seconds=outage_seconds, downtime_seconds=downtime,
        downtime_inside_service_windows_seconds=windows, availability_percent=availability, target_percent=availability_target_percent,
        target_met=availability >= availability_target_percent)

    closed = [t for t in cohort if t.state == CLOSED]
    sent = {t.number for t in closed if t.survey_selected}
    answers = [a for a in surveys if a.ticket_number in sent]
    satisfied = sum(a.solved_satisfactorily for a in answers)
    survey_figures = SurveyFigures(
        closed=len(closed), sent=len(sent), answered=len(answers), solved_satisfactorily=satisfied,
        share_solved_satisfactorily=_share(satisfied, len(answers)),
        treatment_average=round(sum(a.treatment for a in answers) / len(answers), 2) if answers else None)

    return TertialReport(year=year, tertial=tertial, period_start=start, period_end=end, tickets=solved_figures,
                         intefunktion=inte_figures, on_call=on_call_figures, incidents=incident_figures,
                         availability=availability_figures, survey=survey_figures)


def report_rows(report: TertialReport) -> list[tuple[str, str, str, str, str]]:
    """(metric, rule, value, goal, met) rows for the CSV export."""
    def fmt(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)

    t, i, o, n, a, s = (report.tickets, report.intefunktion, report.on_call, report.incidents,
                        report.availability, report.survey)
    rows = [
        ("tickets_reported", "TK-3", t.reported, None, None),
        ("tickets_handed_back", "TK-7", t.handed_back, None, None),
        ("tickets_solved", "TK-3", t.solved, None, None),
        ("tickets_solved_within_anvandarstod", "TK-3", t.solved_within_anvandarstod, None, None),
        ("share_solved_within_anvandarstod", "TK-3", t.share_within_anvandarstod, t.goal, t.goal_met),
        ("intefunktion_reported", "TK-4", i.reported, None, None),
        ("intefunktion_fixed", "TK-4", i.fixed, None, None),
        ("intefunktion_fixed_within_deadline", "TK-4", i.fixed_within_deadline, None, None),
        ("intefunktion_breached", "TK-5", i.breached, None, None),
        ("intefunktion_open_within_deadline", "TK-5", i.open_within_deadline, None, None),
        ("share_intefunktion_fixed_within_deadline", "TK-4", i.share_fixed_within_deadline, None, None),
        ("on_call_tickets", "TK-8", o.tickets, None, None),
        ("on_call_hours_charged", "TK-8", o.hours_charged, None, None),
        ("on_call_amount_charged", "TK-8", o.amount_charged, None, None),
        ("outages", "AV-3", n.outages, None, None),
        ("incidents", "AV-3", n.incidents, None, None),
        ("outages_and_incidents_year_to_date", "AV-3", n.year_to_date, n.max_per_year, n.within_limit),
        ("downtime_seconds", "AV-1", a.downtime_seconds, None, None),
        ("downtime_inside_service_windows_seconds", "AV-1", a.downtime_inside_service_windows_seconds, None, None),
        ("availability_percent", "AV-1", a.availability_percent, a.target_percent, a.target_met),
        ("tickets_closed", "TK-6", s.closed, None, None),
        ("surveys_sent", "TK-6", s.sent, None, None),
        ("surveys_answered", "TK-6", s.answered, None, None),
        ("share_solved_satisfactorily", "TK-6", s.share_solved_satisfactorily, None, None),
        ("treatment_average", "TK-6", s.treatment_average, None, None),
    ]
    return [(m, r, fmt(v), fmt(g), fmt(ok)) for m, r, v, g, ok in rows]


def report_csv(report: TertialReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["year", "tertial", "metric", "rule", "value", "goal", "met"])
    for row in report_rows(report):
        writer.writerow([report.year, f"T{report.tertial}", *row])
    return out.getvalue()
