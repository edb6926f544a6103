"""Support hours, deadlines, paused clock and service windows (rules TK-1, TK-5, AV-2)."""
from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.support_calendar import (
    DEFAULT_HOURS,
    ServiceWindow,
    SupportCalendar,
    default_calendar,
)

STHLM = zoneinfo.ZoneInfo("Europe/Stockholm")
CAL = default_calendar()
HOUR = 3600.0


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=STHLM)


def assert_same_local(actual: datetime, expected: datetime) -> None:
    # Same instant and same local wall clock and offset (deadlines are returned in local time).
    assert actual == expected
    assert actual.utcoffset() == expected.utcoffset()
    assert actual.replace(tzinfo=None) == expected.replace(tzinfo=None)


# --- TK-1 support hours ---------------------------------------------------------------------

def test_tk1_open_monday_to_thursday_0730_to_1630():
    tue = date(2026, 3, 10)
    assert not CAL.is_open(local(2026, 3, 10, 7, 29))
    assert CAL.is_open(local(2026, 3, 10, 7, 30))
    assert CAL.is_open(local(2026, 3, 10, 16, 29))
    assert not CAL.is_open(local(2026, 3, 10, 16, 30))
    assert_same_local(CAL.closing_time(tue), local(2026, 3, 10, 16, 30))


def test_tk1_friday_closes_at_1600():
    assert CAL.is_open(local(2026, 3, 13, 15, 59))
    assert not CAL.is_open(local(2026, 3, 13, 16, 0))
    assert_same_local(CAL.closing_time(date(2026, 3, 13)), local(2026, 3, 13, 16))


def test_tk1_closed_on_weekends():
    assert not CAL.is_working_day(date(2026, 3, 14))
    assert not CAL.is_working_day(date(2026, 3, 15))
    assert not CAL.is_open(local(2026, 3, 14, 11))


def test_tk1_closed_on_good_friday():
    assert not CAL.is_working_day(date(2026, 4, 3))
    assert not CAL.is_open(local(2026, 4, 3, 10))


def test_tk1_closed_on_easter_monday():
    assert not CAL.is_working_day(date(2026, 4, 6))


def test_tk1_closed_on_midsummer_eve_2026():
    assert date(2026, 6, 19).weekday() == 4
    assert not CAL.is_working_day(date(2026, 6, 19))
    assert CAL.is_working_day(date(2026, 6, 18))


def test_tk1_closed_on_christmas_eve():
    assert not CAL.is_working_day(date(2025, 12, 24))  # a Wednesday
    assert not CAL.is_working_day(date(2026, 12, 24))  # a Thursday


def test_tk1_closed_on_new_years_eve():
    assert not CAL.is_working_day(date(2026, 12, 31))


def test_tk1_closed_on_other_public_holidays_2026():
    for day in (date(2026, 1, 1), date(2026, 1, 6), date(2026, 5, 1), date(2026, 5, 14), date(2026, 12, 25)):
        assert not CAL.is_working_day(day), day


def test_tk1_open_on_ordinary_eves_not_in_the_rule():
    # Maundy Thursday and Walpurgis Night are bank-category half days, not closed days.
    assert CAL.is_working_day(date(2026, 4, 2))
    assert CAL.is_working_day(date(2026, 4, 30))


def test_tk1_extra_closed_day_configurable():
    extra = date(2026, 3, 11)
    cal = SupportCalendar.default(extra_closed_days=[extra])
    assert not cal.is_working_day(extra)
    assert CAL.is_working_day(extra)
    # rule TK-5 then skips it: Tue 10:00 → Thu 10:00.
    assert_same_local(cal.deadline(local(2026, 3, 10, 10)), local(2026, 3, 12, 10))


def test_tk1_hours_configurable():
    hours = dict(DEFAULT_HOURS) | {4: (time(8, 0), time(12, 0))}
    cal = SupportCalendar(tz=STHLM, closed_days=CAL.closed_days, hours=hours)
    assert not cal.is_open(local(2026, 3, 13, 7, 45))
    assert_same_local(cal.closing_time(date(2026, 3, 13)), local(2026, 3, 13, 12))
    # Thu 07:45 → Fri opens 08:00, so the deadline is its opening, never closed time.
    assert_same_local(cal.deadline(local(2026, 3, 12, 7, 45)), local(2026, 3, 13, 8))


def test_tk1_invalid_hours_refused():
    with pytest.raises(ValueError):
        SupportCalendar(tz=STHLM, hours={0: (time(17), time(8))})
    with pytest.raises(ValueError):
        SupportCalendar(tz=STHLM, hours={7: (time(8), time(17))})


def test_tk1_closing_time_of_closed_day_refused():
    with pytest.raises(ValueError):
        CAL.closing_time(date(2026, 3, 14))


def test_tk1_next_opening():
    open_at = local(2026, 3, 10, 10)
    assert_same_local(CAL.next_opening(open_at), open_at)
    assert_same_local(CAL.next_opening(local(2026, 3, 10, 6)), local(2026, 3, 10, 7, 30))
    assert_same_local(CAL.next_opening(local(2026, 3, 13, 16)), local(2026, 3, 16, 7, 30))
    # Maundy Thursday evening → Tuesday after Easter.
    assert_same_local(CAL.next_opening(local(2026, 4, 2, 18)), local(2026, 4, 7, 7, 30))


def test_tk1_accepts_any_aware_datetime_and_refuses_naive():
    utc = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)  # 10:00 in Stockholm
    assert CAL.is_open(utc)
    assert_same_local(CAL.deadline(utc), local(2026, 3, 11, 10))
    naive = datetime(2026, 3, 10, 10)
    for call in (CAL.is_open, CAL.next_opening, CAL.deadline):
        with pytest.raises(ValueError):
            call(naive)
    with pytest.raises(ValueError):
        CAL.support_seconds_between(naive, utc)
    with pytest.raises(ValueError):
        CAL.add_support_time(naive, 60)


def test_tk1_working_day_of_datetime_uses_local_date():
    # 23:30 UTC on Friday is already Saturday in Stockholm.
    assert not CAL.is_working_day(datetime(2026, 3, 13, 23, 30, tzinfo=timezone.utc))


def test_tk1_methods_do_not_construct_zoneinfo(monkeypatch):
    # The Temporal workflow sandbox refuses ZoneInfo(...): a built calendar must not need it.
    cal = SupportCalendar.default()

    def refuse(*args, **kwargs):
        raise AssertionError("ZoneInfo constructed")

    monkeypatch.setattr(zoneinfo, "ZoneInfo", refuse)
    at = datetime(2026, 3, 12, 15, 15, tzinfo=timezone.utc)
    cal.is_open(at)
    cal.is_working_day(at.date())
    cal.next_opening(at)
    cal.closing_time(date(2026, 3, 13))
    deadline = cal.deadline(at)
    cal.add_support_time(at, cal.support_seconds_between(at, deadline))
    cal.service_windows(2026, 11)
    cal.service_window_seconds_between(at, deadline)


# --- TK-5 deadlines -------------------------------------------------------------------------

def test_tk5_deadline_example_tuesday_morning():
    assert_same_local(CAL.deadline(local(2026, 3, 10, 10)), local(2026, 3, 11, 10))


def test_tk5_deadline_example_thursday_after_friday_closing_time():
    assert_same_local(CAL.deadline(local(2026, 3, 12, 16, 15)), local(2026, 3, 13, 16))


def test_tk5_deadline_example_friday_to_monday():
    assert_same_local(CAL.deadline(local(2026, 3, 13, 15)), local(2026, 3, 16, 15))


def test_tk5_deadline_example_saturday_counts_from_monday_opening():
    assert_same_local(CAL.deadline(local(2026, 3, 14, 11)), local(2026, 3, 16, 16, 30))


def test_tk5_deadline_reported_before_opening_is_that_days_closing():
    assert_same_local(CAL.deadline(local(2026, 3, 10, 6)), local(2026, 3, 10, 16, 30))


def test_tk5_deadline_reported_at_closing_is_next_days_closing():
    assert_same_local(CAL.deadline(local(2026, 3, 10, 16, 30)), local(2026, 3, 11, 16, 30))


def test_tk5_deadline_skips_easter_2026():
    # Thu Apr 2 → Good Friday Apr 3, weekend, Easter Monday Apr 6 → Tue Apr 7.
    assert_same_local(CAL.deadline(local(2026, 4, 2, 9, 15)), local(2026, 4, 7, 9, 15))
    # Reported on Good Friday: counts from the Tuesday opening.
    assert_same_local(CAL.deadline(local(2026, 4, 3, 10)), local(2026, 4, 7, 16, 30))


def test_tk5_deadline_skips_midsummer_eve_2026():
    # Thu Jun 18 → Midsummer Eve Jun 19 closed → Mon Jun 22.
    assert_same_local(CAL.deadline(local(2026, 6, 18, 14)), local(2026, 6, 22, 14))


def test_tk5_deadline_across_dst_change():
    # Spring: Fri Mar 27 (CET, +01:00) → Mon Mar 30 (CEST, +02:00), same wall clock.
    spring = CAL.deadline(local(2026, 3, 27, 10))
    assert_same_local(spring, local(2026, 3, 30, 10))
    assert spring.utcoffset() == timedelta(hours=2)
    # Same-tzinfo subtraction is by wall clock; the real elapsed time is an hour shorter.
    assert spring.astimezone(timezone.utc) - local(2026, 3, 27, 10).astimezone(timezone.utc) == timedelta(
        days=3, hours=-1
    )
    # Autumn: Fri Oct 23 (CEST) → Mon Oct 26 (CET).
    autumn = CAL.deadline(local(2026, 10, 23, 10))
    assert_same_local(autumn, local(2026, 10, 26, 10))
    assert autumn.utcoffset() == timedelta(hours=1)
    assert autumn.astimezone(timezone.utc) == datetime(2026, 10, 26, 9, tzinfo=timezone.utc)
    # Reported on the DST Sunday itself, during the skipped hour.
    assert_same_local(CAL.deadline(datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc)), local(2026, 3, 30, 16, 30))


# --- TK-5 paused clock ----------------------------------------------------------------------

def test_tk5_support_seconds_between():
    assert CAL.support_seconds_between(local(2026, 3, 10, 10), local(2026, 3, 10, 12)) == 2 * HOUR
    # Tue 14:00 → Wed 10:00: 2.5 h Tuesday + 2.5 h Wednesday.
    assert CAL.support_seconds_between(local(2026, 3, 10, 14), local(2026, 3, 11, 10)) == 5 * HOUR
    # A whole weekend is closed.
    assert CAL.support_seconds_between(local(2026, 3, 13, 16), local(2026, 3, 16, 7, 30)) == 0
    # A week: 4 × 9 h + 8.5 h.
    assert CAL.support_seconds_between(local(2026, 3, 9), local(2026, 3, 16)) == 44.5 * HOUR
    assert CAL.support_seconds_between(local(2026, 3, 11), local(2026, 3, 10)) == 0


def test_tk5_add_support_time():
    assert_same_local(CAL.add_support_time(local(2026, 3, 10, 14), 5 * HOUR), local(2026, 3, 11, 10))
    # Landing exactly on closing gives the closing time, not the next opening.
    assert_same_local(CAL.add_support_time(local(2026, 3, 13, 15), HOUR), local(2026, 3, 13, 16))
    assert_same_local(CAL.add_support_time(local(2026, 3, 13, 15), HOUR + 1), local(2026, 3, 16, 7, 30, 1))
    # Starting in closed time counts from the next opening.
    assert_same_local(CAL.add_support_time(local(2026, 3, 14, 11), HOUR), local(2026, 3, 16, 8, 30))
    with pytest.raises(ValueError):
        CAL.add_support_time(local(2026, 3, 10, 14), -1)


def test_tk5_paused_clock_round_trip():
    reported = local(2026, 3, 10, 10)
    deadline = CAL.deadline(reported)  # Wed 10:00
    paused = local(2026, 3, 10, 14)
    remaining = CAL.support_seconds_between(paused, deadline)
    assert remaining == 5 * HOUR
    # Resumed Thursday 09:00 → 5 h of support time later is Thursday 14:00.
    resumed = local(2026, 3, 12, 9)
    assert_same_local(CAL.add_support_time(resumed, remaining), local(2026, 3, 12, 14))
    # Resumed over the weekend (Fri 15:00): 1 h Friday, 4 h Monday.
    assert_same_local(CAL.add_support_time(local(2026, 3, 13, 15), remaining), local(2026, 3, 16, 11, 30))
    # Resuming at the instant of pausing restores the original deadline.
    assert_same_local(CAL.add_support_time(paused, remaining), deadline)


# --- AV-2 service windows -------------------------------------------------------------------

def test_av2_service_windows_november_2026():
    primary, secondary = CAL.service_windows(2026, 11)
    assert primary == ServiceWindow(kind="primary", start=local(2026, 11, 17, 18), end=local(2026, 11, 17, 22))
    assert secondary == ServiceWindow(kind="secondary", start=local(2026, 11, 24, 18), end=local(2026, 11, 24, 21))
    assert primary.start.utcoffset() == timedelta(hours=1)


def test_av2_service_windows_summer_time():
    primary, secondary = CAL.service_windows(2026, 3)
    # March's windows fall before the DST change (CET), April's after it (CEST).
    assert_same_local(primary.start, local(2026, 3, 17, 18))
    assert_same_local(secondary.start, local(2026, 3, 24, 18))
    assert secondary.end.utcoffset() == timedelta(hours=1)
    assert CAL.service_windows(2026, 4)[0].start.utcoffset() == timedelta(hours=2)


def test_av2_third_tuesday_when_month_starts_on_tuesday():
    # September 2026 starts on a Tuesday: 1, 8, 15.
    assert CAL.service_windows(2026, 9)[0].start.date() == date(2026, 9, 15)
    # A month starting on a Wednesday has its latest third Tuesday: July 2026 → 21st.
    assert CAL.service_windows(2026, 7)[0].start.date() == date(2026, 7, 21)
    assert CAL.service_windows(2026, 7)[1].start.date() == date(2026, 7, 28)


@settings(max_examples=200, deadline=None)
@given(year=st.integers(2000, 2100), month=st.integers(1, 12))
def test_av2_secondary_window_never_spills_into_next_month(year, month):
    # The third Tuesday is the 15th–21st, so the secondary is the 22nd–28th: no month has a
    # secondary window in the next month.
    primary, secondary = CAL.service_windows(year, month)
    assert primary.start.weekday() == secondary.start.weekday() == 1
    assert 15 <= primary.start.day <= 21
    assert secondary.start - primary.start == timedelta(days=7)
    assert (secondary.start.year, secondary.start.month) == (year, month)


def test_av2_service_window_seconds_between():
    month_start, next_month = local(2026, 11, 1), local(2026, 12, 1)
    assert CAL.service_window_seconds_between(month_start, next_month) == 7 * HOUR
    # Partial overlap with the primary window only.
    assert CAL.service_window_seconds_between(local(2026, 11, 17, 21), local(2026, 11, 20)) == HOUR
    # A whole year: 12 × 7 h.
    assert CAL.service_window_seconds_between(local(2026, 1, 1), local(2027, 1, 1)) == 84 * HOUR
    assert CAL.service_window_seconds_between(next_month, month_start) == 0


def test_av2_service_window_refuses_bad_times():
    with pytest.raises(ValueError):
        ServiceWindow(kind="primary", start=local(2026, 11, 17, 22), end=local(2026, 11, 17, 18))
    with pytest.raises(ValueError):
        ServiceWindow(kind="primary", start=datetime(2026, 11, 17, 18), end=datetime(2026, 11, 17, 22))


# --- properties -----------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 1), timezones=st.just(timezone.utc)
)
support_seconds = st.floats(min_value=0, max_value=30 * 9 * HOUR, allow_nan=False).map(lambda s: round(s, 6))


def _in_open_time_or_at_closing(at: datetime) -> bool:
    return CAL.is_open(at) or (CAL.is_working_day(at.date()) and at == CAL.closing_time(at.date()))


@settings(max_examples=200, deadline=None)
@given(reported=instants)
def test_tk5_deadline_is_never_in_closed_time(reported):
    deadline = CAL.deadline(reported)
    assert deadline.tzinfo is CAL.tz
    assert _in_open_time_or_at_closing(deadline)


@settings(max_examples=200, deadline=None)
@given(reported=instants)
def test_tk5_deadline_is_after_report_within_one_working_day(reported):
    deadline = CAL.deadline(reported)
    assert deadline > reported
    # One working day is at most one full day of support hours (9 h).
    assert 0 < CAL.support_seconds_between(reported, deadline) <= 9 * HOUR


@settings(max_examples=200, deadline=None)
@given(a=instants, b=instants)
def test_tk5_deadline_is_monotonic(a, b):
    first, second = sorted((a, b))
    assert CAL.deadline(first) <= CAL.deadline(second)


@settings(max_examples=200, deadline=None)
@given(start=instants, seconds=support_seconds)
def test_tk5_support_seconds_between_inverts_add_support_time(start, seconds):
    end = CAL.add_support_time(start, seconds)
    assert end >= start
    assert CAL.support_seconds_between(start, end) == pytest.approx(seconds, abs=1e-6)
    if seconds > 0:
        assert _in_open_time_or_at_closing(end)


@settings(max_examples=200, deadline=None)
@given(start=instants, span=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)))
def test_tk5_add_support_time_inverts_support_seconds_between(start, span):
    end = start + span
    seconds = CAL.support_seconds_between(start, end)
    back = CAL.add_support_time(start, seconds)
    if seconds == 0:
        assert back == start
    elif _in_open_time_or_at_closing(end):
        assert back == end
    else:
        # End in closed time: back is the last closing before it, with no open time between.
        assert back < end
        assert back == CAL.closing_time(back.date())
        assert CAL.support_seconds_between(back, end) == 0


@settings(max_examples=200, deadline=None)
@given(at=instants)
def test_tk1_next_opening_is_open_and_not_earlier(at):
    opening = CAL.next_opening(at)
    assert opening >= at
    assert CAL.is_open(opening)
    assert CAL.support_seconds_between(at, opening) == 0


@settings(max_examples=200, deadline=None)
@given(a=instants, b=instants, c=instants)
def test_tk5_support_seconds_between_is_additive(a, b, c):
    a, b, c = sorted((a, b, c))
    if c - a > timedelta(days=60):
        c = a + timedelta(days=60)
        b = min(b, c)
    total = CAL.support_seconds_between(a, c)
    assert total == pytest.approx(CAL.support_seconds_between(a, b) + CAL.support_seconds_between(b, c), abs=1e-6)


def test_av2_gv2_window_rules_are_data_a_decision_can_change():
    """Rule AV-2 as data: e.g. a primary window on the second Wednesday 19–23 and no secondary."""
    from domain.support_calendar import ServiceWindowRule, calendar_with

    rules = (ServiceWindowRule(kind="primary", weekday=2, week_of_month=2, starts=time(19), ends=time(23)),)
    windows = calendar_with(window_rules=rules).service_windows(2026, 11)
    assert [(w.kind, w.start.isoformat(), w.end.isoformat()) for w in windows] == [
        ("primary", "2026-11-11T19:00:00+01:00", "2026-11-11T23:00:00+01:00")]
    fifth = (ServiceWindowRule(kind="primary", weekday=1, week_of_month=5, starts=time(18), ends=time(22)),)
    assert calendar_with(window_rules=fifth).service_windows(2026, 11) == []  # November 2026 has four Tuesdays
    assert len(calendar_with(window_rules=fifth).service_windows(2026, 12)) == 1  # December has five
