"""The tests' clock (issue 20, tests/clock.py): RAMFLOW_TEST_TODAY names a local day (and time), the past
is refused (the time-skipping server cannot go back), and a move puts the Python clock, the API's tokens
and the test's Temporal server on the same moment."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.clock import VARIABLE, run_day, server_now


def test_run_day_is_the_municipalities_local_day_ten_oclock_unless_a_time_is_given(monkeypatch):
    monkeypatch.setenv(VARIABLE, "2999-01-01")
    assert run_day() == datetime(2999, 1, 1, 9, tzinfo=timezone.utc)  # 10:00 CET
    monkeypatch.setenv(VARIABLE, "2999-06-30T23:30")
    assert run_day() == datetime(2999, 6, 30, 21, 30, tzinfo=timezone.utc)  # CEST: already 1 July nowhere in UTC
    monkeypatch.delenv(VARIABLE)
    assert run_day() is None


@pytest.mark.parametrize("text", ["2000-01-01", "31/12/2027", "tomorrow"])
def test_run_day_refuses_the_past_and_other_shapes_naming_the_variable(monkeypatch, text):
    monkeypatch.setenv(VARIABLE, text)
    with pytest.raises(ValueError, match=VARIABLE):
        run_day()


async def test_a_move_puts_python_the_tokens_and_the_server_on_one_moment(api, env, clock):
    target = datetime.now(timezone.utc) + timedelta(days=400)
    await clock.to(env, target)
    assert abs(datetime.now(timezone.utc) - target) < timedelta(seconds=30)
    assert abs(datetime.fromtimestamp(time.time(), timezone.utc) - target) < timedelta(seconds=30)  # tokens' clock
    assert abs(await server_now(env) - datetime.now(timezone.utc)) < timedelta(seconds=30)
    assert (await api.get("/units")).status_code == 200  # a token minted now is valid now (the default caller's)
