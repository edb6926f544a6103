"""The follow-up per tertial on a fixture set whose figures are computed by hand below."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from db.ticket_models import Incident, SupportCharge, SurveyAnswer, Ticket, utc
from domain.support_calendar import default_calendar
from domain.tertial_report import IncidentFact, merged_intervals, tertial_bounds, tertial_of, tertial_report
from tests.tickets.helpers import decide_framework_version

TZ = default_calendar().tz
NOW = datetime(2026, 1, 15, tzinfo=timezone.utc)
DOCUMENT_TARGETS = {"availability_target_percent": 99.1, "max_incidents_per_year": 5}  # AV-1, AV-3 as decided in 2022


def at(y, mo, d, h=0, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=TZ)


# number, reported_at, state, resolved_line, function, breached, on_call, survey_selected
TICKETS = [
    ("A1", at(2025, 5, 5, 9), "closed", "first_line", None, False, False, True),
    ("A2", at(2025, 5, 6, 9), "closed", "second_line", "office", False, False, True),
    ("A3", at(2025, 6, 10, 9), "resolved", "infrastruktur", "wireless_network", True, False, None),
    ("A4", at(2025, 6, 11, 9), "closed", "verksamhetsstod", None, False, False, False),
    ("A5", at(2025, 7, 1, 9), "handed_back", None, None, False, False, None),
    ("A6", at(2025, 8, 4, 9), "assigned", None, "email_calendar", True, False, None),
    ("A7", at(2025, 8, 31, 23, 59), "first_line", None, "telephony", False, False, None),
    ("A8", at(2025, 7, 12, 3), "closed", "first_line", None, False, True, True),
    ("B1", at(2025, 4, 30, 23, 0), "closed", "first_line", None, False, True, True),  # T1: not in the cohort
    ("B2", at(2025, 9, 1, 0, 0), "closed", "first_line", None, False, False, True),  # T3
]
CHARGES = [("A8", Decimal("1.50"), Decimal("1425.00")), ("B1", Decimal("0.50"), Decimal("475.00"))]
SURVEYS = [("A1", True, 5), ("A2", False, 3), ("B1", True, 1)]
# kind, start, end
INCIDENTS = [
    ("outage", at(2025, 2, 10, 10), at(2025, 2, 10, 12)),  # T1: year to date only
    ("outage", at(2025, 5, 20, 17), at(2025, 5, 20, 23)),  # third Tuesday of May: 18-22 is the window
    ("incident", at(2025, 6, 2, 9), at(2025, 6, 2, 9, 30)),  # an incident, not downtime
    ("outage", at(2025, 8, 31, 23), at(2025, 9, 1, 1)),  # counted in T2, downtime clipped at the end
    ("outage", at(2025, 7, 1, 8), at(2025, 7, 1, 9)),  # overlaps the next one: 08-10 counts once
    ("outage", at(2025, 7, 1, 8, 30), at(2025, 7, 1, 10)),
]


@pytest.fixture
def fixture_set(sessions):
    with sessions.begin() as s:
        for number, reported, state, line, function, breached, on_call, survey in TICKETS:
            s.add(Ticket(number=number, workflow_id=f"ticket-{number}", unit_id="TR-KS", municipality="tranemo",
                         reporter_ref="E1", title=number, function=function, on_call=on_call,
                         line=line or "first_line", state=state, reported_at=utc(reported), breached=breached,
                         resolved_line=line, survey_selected=survey, updated_at=utc(reported)))
        s.flush()
        for number, hours, amount in CHARGES:
            s.add(SupportCharge(key=f"k-{number}", source="on_call", reference=number, unit_id="TR-KS",
                                minutes_worked=int(hours * 60), minutes_charged=int(hours * 60), hours=hours,
                                hourly_rate=Decimal("950.00"), amount=amount, charged_on=NOW.date(), at=NOW))
        for number, satisfied, treatment in SURVEYS:
            s.add(SurveyAnswer(ticket_number=number, solved_satisfactorily=satisfied, treatment=treatment,
                               answered_at=NOW))
        for kind, start, end in INCIDENTS:
            s.add(Incident(kind=kind, title=kind, reported_by="it", started_at=utc(start), ended_at=utc(end),
                           recorded_by="it.anna", recorded_at=NOW))


# Worked out by hand for 2025 T2 (1 May 00:00 to 1 Sep 00:00 local, CEST throughout: 123 days):
PERIOD = 123 * 86400
EXPECTED = {
    # TK-3: cohort A1..A8; A5 handed back; solved (resolved/closed) A1 A2 A3 A4 A8; within användarstöd A1 A2 A8
    "tickets": {"reported": 8, "handed_back": 1, "solved": 5, "solved_within_anvandarstod": 3,
                "share_within_anvandarstod": 0.6, "goal": 0.5, "goal_met": True},
    # TK-4: intefunktion A2 A3 A6 A7; fixed A2 A3; in time A2; breached A3 A6; open in time A7; 1 / (1 + 2)
    "intefunktion": {"reported": 4, "fixed": 2, "fixed_within_deadline": 1, "breached": 2,
                     "open_within_deadline": 1, "share_fixed_within_deadline": 0.3333},
    # TK-8: A8 only (B1 is T1)
    "on_call": {"tickets": 1, "hours_charged": "1.50", "amount_charged": "1425.00"},
    # AV-3: five in T2 (4 outages, 1 incident), six this year: more than five
    "incidents": {"outages": 4, "incidents": 1, "total": 5, "year_to_date": 6, "max_per_year": 5,
                  "within_limit": False},
    # TK-6: closed A1 A2 A4 A8; sent A1 A2 A8; answered A1 A2; satisfied A1; treatment (5 + 3) / 2
    "survey": {"closed": 4, "sent": 3, "answered": 2, "solved_satisfactorily": 1,
               "share_solved_satisfactorily": 0.5, "treatment_average": 4.0},
}
# AV-1/AV-2: outages 6 h (20 May) + 1 h (31 Aug, clipped) + 2 h (1 Jul, merged) = 9 h, all downtime; 4 h of it
# fell inside the service window on 20 May (shown, not subtracted). Availability 100 * (1 - 32400 / 10627200).
AVAILABILITY = {"period_seconds": float(PERIOD), "outage_seconds": 9 * 3600.0, "downtime_seconds": 9 * 3600.0,
                "downtime_inside_service_windows_seconds": 4 * 3600.0,
                "availability_percent": 99.6951, "target_percent": 99.1, "target_met": True}


async def test_tk3_tk4_tk6_tk8_av1_av2_av3_tertial_report_on_a_fixture_set(api, fixture_set):
    response = await api.get("/reports/tertial", params={"year": 2025, "tertial": 2})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["period_start"] == "2025-05-01T00:00:00+02:00" and report["period_end"] == "2025-09-01T00:00:00+02:00"
    for section, figures in EXPECTED.items():
        assert report[section] == figures, section
    assert report["availability"] == AVAILABILITY


async def test_tertial_report_csv_export(api, fixture_set):
    response = await api.get("/reports/tertial.csv", params={"year": 2025, "tertial": 2})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = {r["metric"]: r for r in csv.DictReader(io.StringIO(response.text))}
    assert (rows["share_solved_within_anvandarstod"]["value"], rows["share_solved_within_anvandarstod"]["goal"],
            rows["share_solved_within_anvandarstod"]["met"]) == ("0.6", "0.5", "yes")
    assert rows["availability_percent"]["value"] == "99.6951" and rows["availability_percent"]["rule"] == "AV-1"
    assert (rows["outages_and_incidents_year_to_date"]["value"], rows["outages_and_incidents_year_to_date"]["met"]) \
        == ("6", "no")
    assert rows["on_call_hours_charged"]["value"] == "1.50" and rows["on_call_tickets"]["tertial"] == "T2"


async def test_tertial_report_validates_its_period(api):
    assert (await api.get("/reports/tertial", params={"year": 2025, "tertial": 4})).status_code == 422
    empty = (await api.get("/reports/tertial", params={"year": 2025, "tertial": 1})).json()
    assert empty["tickets"]["share_within_anvandarstod"] is None and empty["availability"]["availability_percent"] == 100


async def test_gv2_av1_av3_tertial_report_uses_the_targets_in_force_at_the_end_of_the_tertial(api, fixture_set,
                                                                                           sessions):
    """A version decided mid-tertial (from 1 August 2025) raises the availability target to 99.9 % and
    allows eight incidents a year: T2 is judged by it. A later one (from 1 September) is not T2's."""
    decide_framework_version(sessions, "acute-2025-av", date(2025, 8, 1),
                             availability_target_percent=Decimal("99.9"), max_incidents_per_year=8)
    decide_framework_version(sessions, "acute-2025-t3", date(2025, 9, 1),
                             availability_target_percent=Decimal("99.0"), max_incidents_per_year=3)
    report = (await api.get("/reports/tertial", params={"year": 2025, "tertial": 2})).json()
    assert report["availability"] == {**AVAILABILITY, "target_percent": 99.9, "target_met": False}
    assert report["incidents"] == {**EXPECTED["incidents"], "max_per_year": 8, "within_limit": True}
    rows = {r["metric"]: r for r in csv.DictReader(io.StringIO(
        (await api.get("/reports/tertial.csv", params={"year": 2025, "tertial": 2})).text))}
    assert (rows["availability_percent"]["goal"], rows["availability_percent"]["met"]) == ("99.9", "no")
    assert (rows["outages_and_incidents_year_to_date"]["goal"], rows["outages_and_incidents_year_to_date"]["met"]) \
        == ("8", "yes")
    t3 = (await api.get("/reports/tertial", params={"year": 2025, "tertial": 3})).json()
    assert (t3["availability"]["target_percent"], t3["incidents"]["max_per_year"]) == (99.0, 3)
    t1 = (await api.get("/reports/tertial", params={"year": 2025, "tertial": 1})).json()
    assert (t1["availability"]["target_percent"], t1["incidents"]["max_per_year"]) == (99.1, 5)  # the base version


def test_av1_tertials_and_overlapping_outages():
    assert tertial_bounds(2026, 3, TZ) == (at(2026, 9, 1), at(2027, 1, 1))
    assert [tertial_of(at(2026, m, 1).date()) for m in (1, 4, 5, 8, 9, 12)] == [1, 1, 2, 2, 3, 3]
    merged = merged_intervals([(at(2025, 7, 1, 8), at(2025, 7, 1, 9)), (at(2025, 7, 1, 8, 30), at(2025, 7, 1, 10))])
    assert merged == [(utc(at(2025, 7, 1, 8)), utc(at(2025, 7, 1, 10)))]


def test_av1_ongoing_outage_counts_until_now():
    outage = IncidentFact(kind="outage", started_at=at(2026, 3, 2, 8))
    report = tertial_report(2026, 1, tickets=[], charges=[], incidents=[outage], surveys=[],
                            cal=default_calendar(), now=at(2026, 3, 2, 20), **DOCUMENT_TARGETS)
    assert report.availability.outage_seconds == 12 * 3600


def test_av1_outage_inside_the_primary_window_counts_as_downtime():
    """Rule AV-1 (interpretation in RULES.md): a 4-hour outage in the primary window (third Tuesday,
    18-22) is downtime; the report shows that it fell inside the window but does not subtract it."""
    outage = IncidentFact(kind="outage", started_at=at(2026, 3, 17, 18), ended_at=at(2026, 3, 17, 22))
    report = tertial_report(2026, 1, tickets=[], charges=[], incidents=[outage], surveys=[],
                            cal=default_calendar(), now=NOW, **DOCUMENT_TARGETS)
    a = report.availability
    assert (a.downtime_seconds, a.downtime_inside_service_windows_seconds) == (4 * 3600, 4 * 3600)
    assert a.availability_percent == round(100 * (1 - 4 * 3600 / a.period_seconds), 4) < 100


def test_av3_more_than_five_a_year_is_flagged():
    cal = default_calendar()
    five = [IncidentFact(kind="incident", started_at=at(2026, m, 10, 9), ended_at=at(2026, m, 10, 10))
            for m in (1, 2, 3, 5, 6)]
    t2 = tertial_report(2026, 2, tickets=[], charges=[], incidents=five, surveys=[], cal=cal, now=NOW,
                        **DOCUMENT_TARGETS)
    assert (t2.incidents.total, t2.incidents.year_to_date, t2.incidents.within_limit) == (2, 5, True)
    sixth = IncidentFact(kind="outage", started_at=at(2026, 9, 1, 9), ended_at=at(2026, 9, 1, 10))
    t3 = tertial_report(2026, 3, tickets=[], charges=[], incidents=[*five, sixth], surveys=[], cal=cal, now=NOW,
                        **DOCUMENT_TARGETS)
    assert (t3.incidents.total, t3.incidents.year_to_date, t3.incidents.within_limit) == (1, 6, False)
    assert t3.availability.downtime_seconds == 3600 and t2.availability.downtime_seconds == 0


async def test_gv2_av2_tertial_availability_uses_the_service_windows_in_force(api, fixture_set, sessions):
    """From 1 August 2025 the primary window moves to the first Monday (no secondary): the 20 May outage
    no longer overlaps a planned window, so none of the 9 h of downtime is inside a window."""
    decide_framework_version(sessions, "acute-2025-windows", date(2025, 8, 1), service_windows=[
        {"kind": "primary", "weekday": 0, "week_of_month": 1, "starts": "18:00", "ends": "22:00"}])
    report = (await api.get("/reports/tertial", params={"year": 2025, "tertial": 2})).json()
    assert report["availability"] == {**AVAILABILITY, "downtime_inside_service_windows_seconds": 0.0}
