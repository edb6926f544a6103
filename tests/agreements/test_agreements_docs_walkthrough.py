"""docs/agreements.md's API walkthrough runs as written on the day it is run (issue 20): bash expands its
variables (TODAY set to the test's day, the years from it), every curl command is sent to the API with the
local issuer's token of its `make -s token` line, in order, and each answers 2xx (rules AG-1 … AG-8,
GV-1 … GV-4). On the day of the run (or RAMFLOW_TEST_TODAY's) and on a 1 January and a year's last evening
ahead, both clocks moved there."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from pathlib import Path

import pytest

from domain.common import LOCAL_TZ
from tests.clock import run_day
from tests.walkthrough import parse, requests

pytestmark = pytest.mark.dates

DOC = Path(__file__).resolve().parents[2] / "docs" / "agreements.md"
API = "http://127.0.0.1:8000/api/v1"


def days_ahead() -> dict[str, datetime]:
    now = run_day() or datetime.now(timezone.utc)
    year = now.astimezone(LOCAL_TZ).year
    local = lambda d, h, m: datetime.combine(d, time(h, m), LOCAL_TZ).astimezone(timezone.utc)  # noqa: E731
    return {"the day of the run": now, "a 1 January morning": local(date(year + 1, 1, 1), 8, 0),
            "a year's last evening": max(now, local(date(year, 12, 31), 23, 30))}


@pytest.mark.parametrize("day", list(days_ahead()))
async def test_ag1_ag8_gv2_docs_agreements_walkthrough_runs_as_written(api, env, clock, day):
    when = days_ahead()[day]
    await clock.to(env, when)
    text = DOC.read_text(encoding="utf-8")
    api_section = text[text.index("## API (prefix `/api/v1`"):text.index("## Rules and their tests")]
    walk = parse(re.search(r"```sh\n(.*?)```", api_section, re.S)[1])
    assert len(walk.commands) >= 25 and any(line.startswith("TODAY=") for line in walk.assignments)
    values, sent = requests(walk, when.astimezone(LOCAL_TZ).date(), api.bearer, API)
    for request in sent:
        response = await api.request(request.method, request.path, headers=request.headers, content=request.body)
        assert 200 <= response.status_code < 300, (day, values.get("TODAY"), request.command.source, response.text)
