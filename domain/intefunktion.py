"""Intefunktion (rules TK-4, TK-5): the 14 functions whose failure is "intefunktion", and the fix
deadline's clock in support time (runs while IT works, pauses while waiting for the customer). Pure."""
from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import BaseModel, Field

from domain.support_calendar import SupportCalendar


class IntefunktionFunction(str, Enum):
    """Rule TK-4: the 14 functions whose failure is "intefunktion"."""

    WORKSTATION_LOGIN = "workstation_login"  # 1 the workstation starts and you can log in
    ACCESS_RIGHTS = "access_rights"  # 2 access to the right information for your role
    NETWORK_PRINTING = "network_printing"  # 3 printing to network printers
    STORAGE_SAVE = "storage_save"  # 4 saving to P and G
    STORAGE_RESTORE = "storage_restore"  # 5 restoring information from P and G
    CLIENT_PROTECTION = "client_protection"  # 6 client and spam protection up to date
    WEB_FILTER = "web_filter"  # 7 web filter up to date
    WIRELESS_NETWORK = "wireless_network"  # 8
    TELEPHONY = "telephony"  # 9 fixed telephony and call routing
    EMAIL_CALENDAR = "email_calendar"  # 10
    INFOCAPTION = "infocaption"  # 11 the guides platform
    OFFICE = "office"  # 12 Office programs start
    REMOTE_ACCESS = "remote_access"  # 13 mobile remote access
    SOFTWARE_DISTRIBUTION = "software_distribution"  # 14 software distribution platform


class DeadlineClock(BaseModel):
    """The intefunktion fix deadline in support time. Running: `deadline` is set. Paused (waiting for
    the customer) or stopped (resolved): `remaining_seconds` of support time are kept instead."""

    budget_seconds: float = Field(description="support seconds between report and the first deadline")
    deadline: datetime | None = None
    running_since: datetime | None = None
    remaining_seconds: float | None = None
    warned_at: datetime | None = None
    breached_at: datetime | None = None
    last_deadline: datetime | None = Field(None, description="the deadline in force when the clock last stopped")

    @classmethod
    def start(cls, reported_at: datetime, cal: SupportCalendar) -> "DeadlineClock":
        """Rule TK-5: one working day from the report (outside hours: that opening day's close)."""
        deadline = cal.deadline(reported_at)
        return cls(budget_seconds=cal.support_seconds_between(reported_at, deadline), deadline=deadline,
                   running_since=reported_at)

    @property
    def running(self) -> bool:
        return self.deadline is not None

    @property
    def breached(self) -> bool:
        return self.breached_at is not None

    def pause(self, now: datetime, cal: SupportCalendar) -> None:
        """Waiting for the customer (or resolved): keep the support time that was left."""
        if self.deadline is None:
            return
        self.remaining_seconds = cal.support_seconds_between(now, self.deadline)
        self.last_deadline, self.deadline, self.running_since = self.deadline, None, None

    def resume(self, now: datetime, cal: SupportCalendar) -> None:
        """The clock restarts with the support time that was left: a new deadline."""
        if self.deadline is not None:
            return
        self.deadline = cal.add_support_time(now, self.remaining_seconds or 0.0)
        self.running_since, self.remaining_seconds = now, None

    def remaining(self, now: datetime, cal: SupportCalendar) -> float:
        if self.deadline is None:
            return self.remaining_seconds or 0.0
        return cal.support_seconds_between(now, self.deadline)

    def warn_at(self, cal: SupportCalendar, share: float) -> datetime | None:
        """When `share` of the support time is used: the instant with (1 - share) of the budget left."""
        if self.deadline is None or self.running_since is None:
            return None
        left_at_start = cal.support_seconds_between(self.running_since, self.deadline)
        return cal.add_support_time(self.running_since, max(0.0, left_at_start - (1 - share) * self.budget_seconds))

    def next_due(self, cal: SupportCalendar, share: float) -> tuple[str, datetime] | None:
        """The clock's next timer: the warning, then the breach; None when paused or done."""
        if self.deadline is None or self.breached:
            return None
        if self.warned_at is None:
            warn = self.warn_at(cal, share)
            if warn is not None and warn < self.deadline:
                return "deadline_warning", warn
        return "deadline_breached", self.deadline


CLOCK_TIMER_REASONS = {
    "deadline_warning": "the warning share of the intefunktion fix time is used (rule TK-5)",
    "deadline_breached": "the intefunktion fix deadline passed (rule TK-5)",
}
