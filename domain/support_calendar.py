"""Support hours, working-day deadlines and service windows (rules TK-1, TK-5, AV-2).

Pure and deterministic. Build a `SupportCalendar` outside the Temporal workflow sandbox
(`SupportCalendar.default()` or `default_calendar()`): constructing `ZoneInfo` fails inside
the sandbox, but using an existing tzinfo object there is fine. The methods use only
datetime arithmetic on the calendar's own tzinfo and closed-day set.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from types import MappingProxyType
from typing import Iterable, Iterator, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, model_validator

LOCAL_TIMEZONE = "Europe/Stockholm"
HOLIDAY_YEARS = range(2000, 2101)

# rule TK-1: Mon–Thu 07:30–16:30, Fri 07:30–16:00; weekdays missing from the mapping are closed.
DEFAULT_HOURS: Mapping[int, tuple[time, time]] = MappingProxyType({
    0: (time(7, 30), time(16, 30)),
    1: (time(7, 30), time(16, 30)),
    2: (time(7, 30), time(16, 30)),
    3: (time(7, 30), time(16, 30)),
    4: (time(7, 30), time(16, 0)),
})

# rule AV-2: the third Tuesday 18:00–22:00, the Tuesday after it 18:00–21:00.
PRIMARY_WINDOW = (time(18, 0), time(22, 0))
SECONDARY_WINDOW = (time(18, 0), time(21, 0))
TUESDAY = 1

# Guards against a configuration with no open day at all (empty hours, every day closed).
_MAX_SCAN_DAYS = 3 * 366


def _utc(at: datetime) -> datetime:
    # Aware datetimes sharing one tzinfo compare and subtract by wall clock, which is wrong
    # across DST changes; UTC makes every comparison and difference a real one.
    return at.astimezone(timezone.utc)


class ServiceWindow(BaseModel):
    """A planned service window (rule AV-2), local aware times, end exclusive."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["primary", "secondary"]
    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> "ServiceWindow":
        if self.start.utcoffset() is None or self.end.utcoffset() is None:
            raise ValueError("service window times must be timezone-aware")
        if _utc(self.end) <= _utc(self.start):
            raise ValueError("service window must end after it starts")
        return self


class ServiceWindowRule(BaseModel):
    """Rule AV-2: the primary window is the n-th given weekday of the month; the secondary one a
    number of days after it."""

    model_config = ConfigDict(frozen=True)  # hashable: calendars are cached by their rules

    kind: Literal["primary", "secondary"]
    weekday: int = Field(TUESDAY, ge=0, le=6)
    week_of_month: int | None = Field(None, ge=1, le=5)
    days_after_primary: int | None = Field(None, ge=1, le=27)
    starts: time
    ends: time

    @model_validator(mode="after")
    def _anchored(self) -> "ServiceWindowRule":
        if (self.week_of_month is None) == (self.days_after_primary is None):
            raise ValueError("service_windows: give week_of_month (primary) or days_after_primary (secondary)")
        if not self.starts < self.ends:
            raise ValueError("service_windows: a window must end after it starts")
        return self


DEFAULT_WINDOW_RULES = (  # rule AV-2 as the 2022 document states it
    ServiceWindowRule(kind="primary", week_of_month=3, starts=PRIMARY_WINDOW[0], ends=PRIMARY_WINDOW[1]),
    ServiceWindowRule(kind="secondary", days_after_primary=7, starts=SECONDARY_WINDOW[0], ends=SECONDARY_WINDOW[1]),
)


@dataclass(frozen=True)
class SupportCalendar:
    """Support hours in one time zone with a precomputed set of closed days."""

    tz: tzinfo
    closed_days: frozenset[date] = frozenset()
    # weekday (Mon=0) -> (opening, closing), naive local wall-clock times.
    hours: Mapping[int, tuple[time, time]] = field(default_factory=lambda: DEFAULT_HOURS, hash=False)
    window_rules: tuple[ServiceWindowRule, ...] = DEFAULT_WINDOW_RULES

    def __post_init__(self) -> None:
        for weekday, (opens, closes) in self.hours.items():
            if weekday not in range(7):
                raise ValueError(f"weekday must be 0..6, got {weekday}")
            if opens.tzinfo is not None or closes.tzinfo is not None:
                raise ValueError("opening hours are naive local times")
            if not opens < closes:
                raise ValueError(f"weekday {weekday}: opening {opens} is not before closing {closes}")
        object.__setattr__(self, "hours", MappingProxyType(dict(self.hours)))
        object.__setattr__(self, "closed_days", frozenset(self.closed_days))

    @classmethod
    def default(
        cls,
        extra_closed_days: Iterable[date] = (),
        *,
        timezone_name: str = LOCAL_TIMEZONE,
        hours: Mapping[int, tuple[time, time]] | None = None,
        years: Iterable[int] = HOLIDAY_YEARS,
    ) -> "SupportCalendar":
        """Swedish calendar per rule TK-1. Call outside the workflow sandbox (builds a ZoneInfo)."""
        # Imported here so that importing this module inside the sandbox stays cheap and safe.
        import zoneinfo

        import holidays

        # rule TK-1: public holidays plus the de facto ones (Midsummer Eve, Christmas Eve,
        # New Year's Eve). Some holidays versions list every Sunday as a public holiday;
        # harmless, weekends are closed anyway.
        swedish = holidays.country_holidays("SE", years=list(years), categories=("public", "de_facto"))
        closed = frozenset(swedish.keys()) | frozenset(extra_closed_days)
        return cls(
            tz=zoneinfo.ZoneInfo(timezone_name),
            closed_days=closed,
            hours=DEFAULT_HOURS if hours is None else hours,
        )

    # --- days and hours -------------------------------------------------------------------

    def to_local(self, at: datetime) -> datetime:
        """`at` in local time; naive input is refused."""
        if not isinstance(at, datetime):
            raise TypeError(f"expected a datetime, got {type(at).__name__}")
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"naive datetime {at!r}: support times must be timezone-aware")
        return at.astimezone(self.tz)

    def _day(self, day: date) -> date:
        # A datetime is a date too, but never equal to one: reduce it to its local date.
        return self.to_local(day).date() if isinstance(day, datetime) else day

    def is_working_day(self, day: date) -> bool:
        """True if support opens on `day` (rule TK-1)."""
        day = self._day(day)
        return day.weekday() in self.hours and day not in self.closed_days

    def opening_hours(self, day: date) -> tuple[datetime, datetime] | None:
        """Local (opening, closing) on `day`, or None if closed all day."""
        day = self._day(day)
        if not self.is_working_day(day):
            return None
        opens, closes = self.hours[day.weekday()]
        return datetime.combine(day, opens, tzinfo=self.tz), datetime.combine(day, closes, tzinfo=self.tz)

    def closing_time(self, day: date) -> datetime:
        """Local closing time on the working day `day`; ValueError if `day` is closed."""
        period = self.opening_hours(day)
        if period is None:
            raise ValueError(f"{self._day(day)} is not a working day")
        return period[1]

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day = self._day(day)
        for offset in range(1, _MAX_SCAN_DAYS + 1):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {_MAX_SCAN_DAYS} days after {day}")

    def _periods_from(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open periods (UTC) that end after `at`, in order; endless unless misconfigured."""
        day = self.to_local(at).date()
        at_utc = _utc(at)
        closed_run = 0
        while True:
            period = self.opening_hours(day)
            if period is None:
                closed_run += 1
                if closed_run > _MAX_SCAN_DAYS:
                    raise ValueError(f"no working day within {_MAX_SCAN_DAYS} days before {day}")
            else:
                closed_run = 0
                opens, closes = _utc(period[0]), _utc(period[1])
                if closes > at_utc:
                    yield opens, closes
            day += timedelta(days=1)

    def is_open(self, at: datetime) -> bool:
        """True if support is open at `at` (rule TK-1); the closing instant itself is closed."""
        period = self.opening_hours(self.to_local(at).date())
        return period is not None and _utc(period[0]) <= _utc(at) < _utc(period[1])

    def next_opening(self, at: datetime) -> datetime:
        """`at` (local) if support is open then, else the next opening (local)."""
        opens, _ = next(self._periods_from(at))
        return self.to_local(max(opens, _utc(at)))

    # --- deadlines (rule TK-5) ------------------------------------------------------------

    def deadline(self, reported_at: datetime) -> datetime:
        """Fix deadline of "one working day" from the report (rule TK-5), local time."""
        local = self.to_local(reported_at)
        if not self.is_open(local):
            # rule TK-5: reported outside support hours counts as reported at the next
            # opening, and the deadline is that day's closing time.
            return self.closing_time(self.next_opening(local).date())
        # rule TK-5: same time of day on the next working day, but no later than its closing.
        opens, closes = self.opening_hours(self.next_working_day(local.date()))
        target = datetime.combine(opens.date(), local.time(), tzinfo=self.tz)
        # Interpretation: with configured hours where that day opens later than this time of
        # day, the deadline is its opening, so it never falls in closed time.
        return self.to_local(min(max(_utc(target), _utc(opens)), _utc(closes)))

    # --- paused clock ---------------------------------------------------------------------

    def support_seconds_between(self, start: datetime, end: datetime) -> float:
        """Seconds of open support time in [start, end); 0 if end is not after start."""
        start_utc, end_utc = _utc(self.to_local(start)), _utc(self.to_local(end))
        total = timedelta(0)
        if end_utc <= start_utc:
            return 0.0
        for opens, closes in self._periods_from(start_utc):
            if opens >= end_utc:
                break
            total += min(closes, end_utc) - max(opens, start_utc)
        return total.total_seconds()

    def add_support_time(self, start: datetime, seconds: float) -> datetime:
        """Local instant after `seconds` of open support time from `start`.

        Landing exactly on a closing time returns that closing time, not the next opening.
        """
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        # timedelta keeps microsecond precision, so this inverts support_seconds_between exactly.
        remaining = timedelta(seconds=seconds)
        start_utc = _utc(self.to_local(start))
        if remaining == timedelta(0):
            return self.to_local(start_utc)
        for opens, closes in self._periods_from(start_utc):
            begin = max(opens, start_utc)
            available = closes - begin
            if remaining <= available:
                return self.to_local(begin + remaining)
            remaining -= available
        raise AssertionError("unreachable: _periods_from is endless")  # pragma: no cover

    # --- service windows (rule AV-2) ------------------------------------------------------

    def service_windows(self, year: int, month: int) -> list[ServiceWindow]:
        """The month's primary window and the windows anchored on it (rule AV-2), local times. A secondary
        belongs to its month's primary even where it falls in the next month."""
        primary = next((r for r in self.window_rules if r.kind == "primary"), None)
        if primary is None or primary.week_of_month is None:
            return []
        first = date(year, month, 1)
        primary_day = first + timedelta(days=(primary.weekday - first.weekday()) % 7 + 7 * (primary.week_of_month - 1))
        if primary_day.month != month:  # a fifth weekday this month does not have
            return []
        windows = []
        for rule in sorted(self.window_rules, key=lambda r: r.kind != "primary"):
            day = primary_day if rule is primary else primary_day + timedelta(days=rule.days_after_primary or 0)
            windows.append(ServiceWindow(kind=rule.kind, start=datetime.combine(day, rule.starts, tzinfo=self.tz),
                                         end=datetime.combine(day, rule.ends, tzinfo=self.tz)))
        return windows

    def service_window_seconds_between(self, start: datetime, end: datetime) -> float:
        """Seconds of planned service windows (primary and secondary) in [start, end)."""
        start_utc, end_utc = _utc(self.to_local(start)), _utc(self.to_local(end))
        if end_utc <= start_utc:
            return 0.0
        first, last = self.to_local(start_utc), self.to_local(end_utc)
        # Start a month early so a secondary window carried over from the previous month counts.
        year, month = (first.year, first.month - 1) if first.month > 1 else (first.year - 1, 12)
        total = timedelta(0)
        while (year, month) <= (last.year, last.month):
            for window in self.service_windows(year, month):
                overlap = min(_utc(window.end), end_utc) - max(_utc(window.start), start_utc)
                if overlap > timedelta(0):
                    total += overlap
            year, month = (year, month + 1) if month < 12 else (year + 1, 1)
        return total.total_seconds()


@lru_cache(maxsize=1)
def default_calendar() -> SupportCalendar:
    """The shared default calendar (rule TK-1); call outside the workflow sandbox."""
    return SupportCalendar.default()


def calendar_with(extra_closed_days: Iterable[date] = (),
                  hours: Mapping[int, tuple[time, time]] | None = None,
                  window_rules: tuple[ServiceWindowRule, ...] | None = None) -> SupportCalendar:
    """The default calendar plus configured extra closed days, with the support hours and service windows
    of the framework version in force (rules TK-1, AV-2, GV-2). Safe inside the workflow sandbox once
    `default_calendar()` is warmed: it reuses the default calendar's tzinfo and holidays."""
    return _calendar_with(tuple(sorted(set(extra_closed_days))),
                          None if hours is None else tuple(sorted(hours.items())),
                          None if window_rules is None else tuple(window_rules))


@lru_cache(maxsize=32)
def _calendar_with(extra_closed_days: tuple[date, ...],
                   hours: tuple[tuple[int, tuple[time, time]], ...] | None,
                   window_rules: tuple[ServiceWindowRule, ...] | None) -> SupportCalendar:
    base = default_calendar()
    hours_map = base.hours if hours is None else dict(hours)
    rules = base.window_rules if window_rules is None else window_rules
    if not extra_closed_days and dict(hours_map) == dict(base.hours) and rules == base.window_rules:
        return base
    return SupportCalendar(tz=base.tz, closed_days=base.closed_days | frozenset(extra_closed_days),
                           hours=hours_map, window_rules=rules)
