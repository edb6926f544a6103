"""Fixtures of the support-ticket tests: the calendar is warmed outside the workflow sandbox."""
from __future__ import annotations

import pytest

from domain.support_calendar import default_calendar


@pytest.fixture(scope="session", autouse=True)
def warm_calendar():
    """Rule TK-1: holidays and the time zone load here, never inside a workflow."""
    return default_calendar()
