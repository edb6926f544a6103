"""Bounds on what a request may say (issue 7: bad input is a 4xx naming the field, never a 500)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator

FIRST_YEAR, LAST_YEAR = 2000, 2100  # Ramflow's calendar, price lists and reports cover these years


def _instant(value: datetime) -> datetime:
    # checked before any conversion: year 1 or 9999 with an offset overflows when converted to UTC
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must be in the years {FIRST_YEAR}–{LAST_YEAR}")
    return value


def _day(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must be in the years {FIRST_YEAR}–{LAST_YEAR}")
    return value


Instant = Annotated[datetime, AfterValidator(_instant)]
Day = Annotated[date, AfterValidator(_day)]
YearQuery = Annotated[int, Query(ge=FIRST_YEAR, le=LAST_YEAR)]
Number = Annotated[str, Path(min_length=1, max_length=40)]  # a ticket's or a service request's number
