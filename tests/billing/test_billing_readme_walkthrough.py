"""The README's billing walkthrough ("A month of Ulricehamn and a tertial of Tranemo with curl") runs as
written: every curl command of it, read from README.md, is sent to the API with the local issuer's tokens
for $IT, $EK and $MGR, in order, on the days the text says (the API's clock and the time-skipping
server's clock moved to the run days). Statuses are those the text shows; on the text's delivery day
(28 November 2026) its totals and CSV rows are checked too (rules BL-1 … BL-6)."""
from __future__ import annotations

import re
import shlex
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from temporalio.api.testservice.v1 import SleepRequest

import api.routes.billing as billing_routes

README = Path(__file__).resolve().parents[2] / "README.md"
DELIVERY_DAY = date(2026, 11, 28)
RUN_DAYS = {"2026-11": datetime(2026, 12, 1, 5, tzinfo=timezone.utc),  # 06:00 Stockholm
            "2026-T3": datetime(2027, 1, 1, 5, tzinfo=timezone.utc),
            "2026": datetime(2027, 1, 1, 5, tzinfo=timezone.utc)}  # a closed year, by hand before 15 January
TOKENS = {"IT": ("it.anna", ("it-staff", "it-admin"), {"team": "användarstöd"}),
          "EK": ("ek.eva", ("economy",), {}), "MGR": ("E2001", ("unit-manager",), {"unit": "UL-KS"})}


def walkthrough() -> tuple[list[tuple[list[str], list[str]]], list[str]]:
    """(curl command words, the comment lines after it) of the walkthrough, and the CSV example's rows."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### A month of Ulricehamn and a tertial of Tranemo with curl"):
                   text.index("### Forecast (EQ-5)")]
    commands: list[tuple[list[str], list[str]]] = []
    for line in section.splitlines():
        if line.startswith("curl "):
            commands.append((shlex.split(line.split(" > ")[0], comments=True), []))
        elif line.startswith("#") and commands:
            commands[-1][1].append(line)
    blocks = re.findall(r"```\n(period;cost_centre.*?)```", section, re.S)
    return commands, blocks[0].strip().splitlines()


async def skip_time(env, duration: timedelta) -> None:
    """env.sleep with room: the server fires the devices' timers on the way (default RPC timeout is short)."""
    request = SleepRequest()
    request.duration.FromTimedelta(duration)
    started = time.monotonic()
    await env.client.test_service.unlock_time_skipping_with_sleep(request, timeout=timedelta(minutes=5))
    print(f"skipped {duration} in {time.monotonic() - started:.1f} s")


class Clock(datetime):
    now_at: datetime = datetime.now(timezone.utc)

    @classmethod
    def now(cls, tz=None):  # noqa: ANN001, ANN206
        return cls.now_at if tz is None else cls.now_at.astimezone(tz)


async def test_bl1_bl6_readme_billing_walkthrough_runs_as_written(api, env, monkeypatch):
    commands, csv_rows = walkthrough()
    assert len(commands) >= 15
    monkeypatch.setattr(billing_routes, "datetime", Clock)
    documented_day = datetime.now(timezone.utc).date() == DELIVERY_DAY
    outputs = {}
    for words, comments in commands:
        method, url, headers, body = "GET", None, {}, None
        i = 1
        while i < len(words):
            word = words[i]
            if word == "-s":
                i += 1
                continue
            if word == "-X":
                method = words[i + 1]
            elif word == "-H":
                name, value = words[i + 1].split(": ", 1)
                if value.startswith("Bearer $"):
                    user, roles, claims = TOKENS[value.removeprefix("Bearer $")]
                    headers.update(api.bearer(user, *roles, **claims))
            elif word == "-d":
                body = words[i + 1]
            elif word.startswith("$API") or word.startswith('"$API'):
                url = word.strip('"').removeprefix("$API")
            elif word == "${J[@]}":
                headers["Content-Type"] = "application/json"
                i += 1
                continue
            i += 2 if word in ("-X", "-H", "-d") else 1
        assert url is not None, words
        closed = re.search(r'"period":"([^"]+)"', body or "")
        if method == "POST" and url == "/billing/runs" and closed and not (comments and "→ 422" in comments[0]):
            run_day = RUN_DAYS[closed[1]]
            if run_day > Clock.now_at:
                await skip_time(env, run_day - Clock.now_at)  # the Temporal server's clock: the run's day
                Clock.now_at = run_day
        response = await api.request(method, url, headers=headers, content=body)
        expected = re.match(r"#\s+→ (\d{3})", comments[0]) if comments else None
        if expected:
            assert response.status_code == int(expected[1]), (words, response.text)
            if response.status_code == 422:
                detail = re.search(r'"detail":"([^"]+)"', comments[0])[1]
                assert detail in response.json()["detail"], (detail, response.text)
        else:
            assert response.status_code in (200, 201), (words, response.status_code, response.text)
        outputs[url] = response.text
        if documented_day:  # the figures in the comments are those of a delivery on 28 November 2026
            for comment in comments:
                for amount in re.findall(r'"total":"([\d.]+)"', comment):
                    assert f'"total":"{amount}"' in response.text, (comment, response.text)
                if re.match(r"# 20\d\d-T\d;", comment):
                    assert comment.removeprefix("# ") in response.text.splitlines(), (comment, response.text)
    assert outputs["/billing/ulricehamn/2026-11/export.csv"].splitlines()[0] == csv_rows[0]
    if documented_day:
        assert outputs["/billing/ulricehamn/2026-11/export.csv"].splitlines() == csv_rows
    assert Clock.now_at - RUN_DAYS["2026"] < timedelta(days=1)
