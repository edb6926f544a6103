"""Helpers the device-import tests share (issue 22): a register file in the template's columns, with delivery
dates relative to today so the tests pass on any date, and the calls of the import API."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

from domain.catalogue import add_months
from domain.common import LOCAL_TZ
from domain.device_import import HEADER


def today() -> date:
    return datetime.now(timezone.utc).astimezone(LOCAL_TZ).date()


def years_ago(years: int, days: int = 0) -> date:
    return add_months(today(), -12 * years) - timedelta(days=days)


def this_period() -> str:
    """The cut-over: the current month (the old system invoiced the months before)."""
    return today().strftime("%Y-%m")


def row(number: str, delivered: date, model: str = "LAT-5450", unit: str = "TR-KS", user: str = "E5001",
        serial: str | None = None, category: str = "", contract_end: str = "", location: str = "") -> list[str]:
    return [number, serial or f"SN-{number}", model, category, unit, user, delivered.isoformat(), contract_end, location]


def register_csv(rows: list[list[str]], delimiter: str = ";", encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows([list(HEADER), *rows])
    return out.getvalue().encode(encoding)


async def dry_run(api, content: bytes, cutover: str | None = None, **params) -> dict:
    answer = await api.post("/imports/devices", content=content, params={
        "cutover": cutover or this_period(), "source": "register.csv", **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def commit(api, content: bytes, cutover: str | None = None, expect: tuple[int, ...] = (200, 202),
                 **params) -> dict:
    answer = await api.post("/imports/devices", content=content, params={
        "cutover": cutover or this_period(), "dry_run": "false", "source": "register.csv", **params})
    assert answer.status_code in expect, answer.text
    return answer.json()


async def until_done(api, import_id: str, seconds: float = 30.0) -> dict:
    from tests.helpers import poll

    body = await poll(api, f"/imports/{import_id}", lambda b: b.get("status") == "done", seconds)
    assert body.get("status") == "done", body
    return body
