"""Names every process shares: the system actor, the business-key patterns, local time, the
municipalities, the mirror record and the notification. Pure: the workflows, activities and API
import them from here, once."""
from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from domain.process import TransitionRecord
from domain.support_calendar import LOCAL_TIMEZONE

# Moves the workflow fires itself (timers, children, activities); no token may claim this subject.
SYSTEM_ACTOR = "ramflow"
# Business keys (agreement, project, case ids) and opaque references (employee numbers, unit codes), never names.
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,39}$"
REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"

MUNICIPALITIES = ("tranemo", "ulricehamn")
Municipality = Literal["tranemo", "ulricehamn"]

# Built at import (outside the workflow sandbox, which refuses to construct a ZoneInfo).
LOCAL_TZ = zoneinfo.ZoneInfo(LOCAL_TIMEZONE)


def start_of_year(year: int) -> datetime:
    """1 January 00:00 local time: when a price list and an agreement version take effect (AG-4, AG-5)."""
    return datetime(year, 1, 1, tzinfo=LOCAL_TZ)


def local_year(at: datetime) -> int:
    return at.astimezone(LOCAL_TZ).year


class ProcessMirror(BaseModel):
    """A process's row in the database after a transition, and the transition itself."""

    workflow_id: str
    process: str
    subject: str
    state: str
    record: TransitionRecord
    data: dict[str, Any]


class Notification(BaseModel):
    """A message to a unit, an employee or a line's lead, sent once per key (outbox)."""

    key: str
    topic: str
    recipient: str
    subject: str
    body: str
    workflow_id: str
    at: datetime
    # issue 21: structured facts the mail templates show (price, deadline …); an argument only, so adding it
    # changes no workflow command
    data: dict[str, str] = Field(default_factory=dict)


class RoundStart(BaseModel):
    """Input of the scheduled yearly rounds; `year` defaults to the local year of the run."""

    year: int | None = Field(None, ge=2000, le=2100)
    reminder_weeks: int = Field(4, ge=1, le=52, description="rule AG-4: revision meeting reminders")
