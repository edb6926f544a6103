"""The billing walkthrough (docs/billing.md) ("A month of Ulricehamn and a tertial of Tranemo with curl") holds on
the day it is run (issue 20). Its shell variables (the periods relative to today) run in bash as written,
with TODAY set to the test's day; every curl command, read from docs/billing.md, is sent to the API with the
local issuer's tokens for $IT, $EK and $MGR, in order, and answers the status its comment shows. It runs
on the day of the test run (or RAMFLOW_TEST_TODAY's) and on days ahead where the periods turn over; both
clocks (the API's and the time-skipping server's) are moved there. The dated example's figures (a delivery
on 28 November 2026) are checked by booking those deliveries on that day (rules BL-1 … BL-6)."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from activities.equipment import EquipmentActivities
from domain.common import LOCAL_TZ
from domain.device_register import CostBearerChange
from tests.billing.helpers import add_device
from tests.clock import run_day
from tests.walkthrough import Walkthrough, parse, requests

pytestmark = pytest.mark.dates

README = Path(__file__).resolve().parents[2] / "docs" / "billing.md"  # the billing walkthrough
SECTION = ("## A month of Ulricehamn and a tertial of Tranemo with curl", "## Forecast (EQ-5)")
API = "http://127.0.0.1:8000/api/v1"
DELIVERY_DAY = date(2026, 11, 28)  # the dated example's
DELIVERIES = (("ORD-0101", "UL-KS", "LAT-5450", "workstation"), ("ORD-0102", "UL-BUF", "IPHONE-15", "mobile_phone"),
              ("ORD-0201", "TR-BUF", "LAT-5450", "workstation"))


def section() -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index(SECTION[0]):text.index(SECTION[1])]


def walkthrough() -> Walkthrough:
    return parse(re.search(r"```sh\n(.*?)```", section(), re.S)[1])


def expand_comment(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{?([A-Z_]+)\}?", lambda m: values.get(m[1], m[0]), text)


def reference() -> datetime:
    return run_day() or datetime.now(timezone.utc)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LOCAL_TZ).astimezone(timezone.utc)


def days_ahead() -> dict[str, datetime]:
    """The day of the run and days ahead where the periods turn over (the server only moves forward)."""
    today = reference().astimezone(LOCAL_TZ).date()
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    tertial_start = min(d for d in (date(today.year, 5, 1), date(today.year, 9, 1), date(today.year + 1, 1, 1))
                        if d > today)
    days = {"the day of the run": reference(),
            "a month's last evening": local(next_month - timedelta(days=1), 23, 30),
            "a tertial's first day just after midnight": local(tertial_start, 0, 30),  # UTC: the day before
            "a 1 January morning": local(date(today.year + 1, 1, 1), 7)}
    return {name: max(when, reference()) for name, when in days.items()}


@pytest.mark.parametrize("day", list(days_ahead()))
async def test_bl1_bl2_readme_billing_walkthrough_runs_as_written(api, env, clock, day):
    when = days_ahead()[day]
    await clock.to(env, when)
    walk = walkthrough()
    assert len(walk.commands) >= 18 and set(walk.tokens) == {"IT", "EK", "MGR"}
    assert any(line.startswith("TODAY=") for line in walk.assignments)  # the day the test pins
    values, sent = requests(walk, when.astimezone(LOCAL_TZ).date(), api.bearer, API)
    for request in sent:
        response = await api.request(request.method, request.path, headers=request.headers, content=request.body)
        comments = request.command.comments
        expected = re.match(r"#\s+→ (\d{3})(.*)", expand_comment(comments[0], values)) if comments else None
        if expected is None:
            assert response.status_code in (200, 201), (request.command.source, response.status_code, response.text)
            continue
        assert response.status_code == int(expected[1]), (day, values, request.command.source, response.text)
        shown = re.search(r'"detail":"([^"]+)"', expected[2])
        if shown:
            assert shown[1] == response.json()["detail"], (shown[1], response.text)
        run_id = re.search(r'"run_id":"([^"]+)"', expected[2])
        if run_id:
            assert response.json()["run_id"] == run_id[1] and response.json()["status"] == "published"


def dated_example() -> tuple[list[dict], str, list[str], list[str]]:
    """The example's bases, run total, November CSV and T3 rows, as the README shows them."""
    text = section()
    example = text[text.index("**A dated example"):]
    bases = [json.loads(b) for b in re.findall(r'`(\{"unit_id":[^`]+\})`', example)]
    run_total = re.search(r'`"total":"([\d.]+)"`', example)[1]
    blocks = re.findall(r"```\n(.*?)```", example, re.S)
    return bases, run_total, blocks[0].strip().splitlines(), blocks[1].strip().splitlines()


async def test_bl1_bl6_readme_dated_example_figures(api, env, clock, sessions):
    """The deliveries of 28 November 2026 booked on that day by the device process's own activity
    (EQ-4, EQ-6: a rent or service fee from the delivery day, a phone's purchase once), then the runs."""
    bases, run_total, november_csv, t3_rows = dated_example()
    assert len(bases) == 3 and len(november_csv) == 5 and len(t3_rows) == 2
    with sessions.begin() as s:
        for order, unit, model, category in DELIVERIES:
            add_device(s, order, unit, model, category, DELIVERY_DAY)
    booking = EquipmentActivities(sessions)
    for order, unit, _, _ in DELIVERIES:
        booking.change_cost_bearer(CostBearerChange(key=f"deliver-{order}", order_number=order, unit_id=unit,
                                                    on=DELIVERY_DAY, delivery=True))
    await clock.to(env, max(reference(), datetime(2027, 1, 1, 5, tzinfo=timezone.utc)))  # the T3 run's day
    run = await api.post("/billing/runs", json={"municipality": "ulricehamn", "period": "2026-11"})
    assert run.status_code == 201, run.text
    assert [{k: str(b[k]) for k in ("unit_id", "lines", "total")} for b in run.json()["bases"]] == [
        {k: str(b[k]) for k in ("unit_id", "lines", "total")} for b in bases]
    assert run.json()["total"] == run_total
    economy = api.bearer("ek.eva", "economy")
    [ks] = (await api.get("/billing/bases", headers=economy,
                          params={"municipality": "ulricehamn", "period": "2026-11", "unit_id": "UL-KS"})).json()
    [line] = ks["lines"]
    assert (line["article"], line["text"], line["quantity"], line["unit_price"], line["amount"]) == (
        "rent:workstation", "Rent LAT-5450 ORD-0101 2026-11 (2026-11-28–2026-11-30)", "0.1000", "420.00", "42.00")
    assert ks["changes"]["previous_period"] is None and ks["changes"]["items"][0]["change"] == "added"
    export = await api.get("/billing/ulricehamn/2026-11/export.csv", headers=economy)
    assert export.content.decode("utf-8-sig").splitlines() == november_csv  # issue 25: UTF-8 with a BOM
    t3 = await api.post("/billing/runs", json={"municipality": "tranemo", "period": "2026-T3"})
    assert t3.status_code == 201, t3.text
    t3_export = await api.get("/billing/tranemo/2026-T3/export.csv", headers=economy)
    rows = t3_export.content.decode("utf-8-sig").splitlines()
    assert rows[1:] == t3_rows
