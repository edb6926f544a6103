"""The tests' clock (issue 20: every test passes on any date). `RAMFLOW_TEST_TODAY=YYYY-MM-DD[THH:MM]`
(the municipalities' local time; 10:00 when no time is given) runs the tests on that day: the Python
clock (datetime.now, date.today, time.time: what the API, the activities and the token checks read)
travels there and each test's time-skipping Temporal server is skipped forward to the same moment before
anything starts, so the workflows' `workflow.now()` agrees. The test server only moves forward: the day
must not be before today. `make test-dates` runs the date-sensitive tests (marker `dates`) at several
days across a year (scripts/test_dates.py)."""
from __future__ import annotations

import os
import time
from datetime import date, datetime, time as clock_time, timedelta, timezone

import time_machine
from google.protobuf.empty_pb2 import Empty
from temporalio.api.testservice.v1 import SleepRequest

from domain.common import LOCAL_TZ

VARIABLE = "RAMFLOW_TEST_TODAY"

# The modules whose tests relate today to fixed days or periods (or read the clock against a
# deadline): marked `dates`; `make test-dates` runs them with RAMFLOW_TEST_TODAY at days across a year.
DATE_SENSITIVE = (
    "agreements/test_agreement_workflows.py", "agreements/test_agreements_api.py",
    "agreements/test_agreements_docs_walkthrough.py", "api/test_tokens.py",
    "audit/test_history_archive.py", "audit/test_payload_encryption.py", "billing/test_billing_api.py",
    "billing/test_billing_extra_support.py", "billing/test_billing_failed_runs.py",
    "billing/test_billing_readme_walkthrough.py", "billing/test_billing_run.py", "console/test_console_invoices.py",
    "console/test_console_sessions.py", "equipment/test_equipment_workflow.py",
    "governance/test_governance_api.py", "governance/test_governance_fidelity_api.py",
    "governance/test_governance_workflows.py", "ops/test_metrics.py", "tickets/test_tertial_report.py",
    "tickets/test_ticket_workflow.py", "tickets/test_tickets_api.py", "test_clock.py",
)


def run_day() -> datetime | None:
    """The moment RAMFLOW_TEST_TODAY names (aware, UTC), or None to run on the real clock."""
    text = os.environ.get(VARIABLE, "").strip()
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text) if "T" in text else datetime.combine(date.fromisoformat(text),
                                                                                 clock_time(10))
    except ValueError as error:
        raise ValueError(f"{VARIABLE}: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM, got {text!r}") from error
    at = (at if at.tzinfo else at.replace(tzinfo=LOCAL_TZ)).astimezone(timezone.utc)
    if at < datetime.now(timezone.utc) - timedelta(minutes=1):
        raise ValueError(f"{VARIABLE}={text}: the time-skipping server cannot go back; choose a later day")
    return at


async def server_now(env) -> datetime:  # noqa: ANN001
    """The time-skipping server's clock."""
    reply = await env.client.test_service.get_current_time(Empty())
    return reply.time.ToDatetime(tzinfo=timezone.utc)


async def skip_server(env, duration: timedelta) -> None:  # noqa: ANN001
    """env.sleep with room: the server fires due timers on the way (the default RPC timeout is short)."""
    if duration <= timedelta(0):
        return
    request = SleepRequest()
    request.duration.FromTimedelta(duration)
    started = time.monotonic()
    await env.client.test_service.unlock_time_skipping_with_sleep(request, timeout=timedelta(minutes=5))
    print(f"skipped {duration} in {time.monotonic() - started:.1f} s")


async def skip_server_to(env, when: datetime) -> None:  # noqa: ANN001
    await skip_server(env, when - await server_now(env))


class Travel:
    """Both clocks of a test at one moment: the Python clock (time-machine, ticking) and the server's."""

    def __init__(self) -> None:
        self._trip: time_machine.travel | None = None

    def python_to(self, when: datetime) -> None:
        self.stop()
        self._trip = time_machine.travel(when, tick=True)
        self._trip.start()

    async def to(self, env, when: datetime) -> None:  # noqa: ANN001
        """Move both clocks forward to `when` (never back: the server cannot)."""
        await skip_server_to(env, when)
        self.python_to(when)

    def stop(self) -> None:
        if self._trip is not None:
            self._trip.stop()
            self._trip = None
