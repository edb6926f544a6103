"""Issue 7 restart test: the Temporal server is stopped and restarted on its database file. No process is
lost, a timer armed before the outage fires after it, and the API answers 503 with Retry-After during the
outage (reads from the database mirror) and recovers without a restart of its own."""
from __future__ import annotations

import signal
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx

from db.session import make_sessionmaker
from tests.tickets.helpers import decide_framework_version

TZ = ZoneInfo("Europe/Stockholm")


def poll(http: httpx.Client, path: str, predicate, seconds: float) -> httpx.Response:
    end = time.monotonic() + seconds
    while True:
        response = http.get(path)
        if (response.status_code == 200 and predicate(response.json())) or time.monotonic() > end:
            return response
        time.sleep(0.5)


def test_temporal_restarted_on_its_file_loses_nothing_timers_fire_and_api_recovers(stack):
    sessions = make_sessionmaker(f"sqlite:///{stack.db}")
    # rules TK-1, GV-2: a framework version with support around the clock, so a TK-5 deadline can fall
    # seconds from now on any day
    decide_framework_version(sessions, "round-the-clock", date(2026, 1, 1), support_hours=[
        {"weekday": d, "opens": "00:00", "closes": "23:59"} for d in range(7)])
    sessions.kw["bind"].dispose()
    with httpx.Client(base_url=f"{stack.base}/api/v1", timeout=30, headers=stack.bearer("it.restart")) as http:
        ordered = http.post("/orders", json={"order_number": "ORD-RESTART-1", "model_code": "LAT-5450",
                                             "unit_id": "UL-KS", "user_ref": "E2101"})
        assert ordered.status_code == 201, ordered.text
        due = datetime.now(timezone.utc) + timedelta(seconds=30)  # rule TK-5: one working day after the report
        ticket = http.post("/tickets", json={
            "unit_id": "TR-KS", "reporter_ref": "E5001", "title": "Outlook does not start",
            "function": "email_calendar", "reported_at": (due - timedelta(days=1)).astimezone(TZ).isoformat()})
        assert ticket.status_code == 201, ticket.text
        number = ticket.json()["number"]
        assert not ticket.json()["breached"]
        assert abs(datetime.fromisoformat(ticket.json()["deadline"]) - due) < timedelta(seconds=1)

        stack.kill("temporal", signal.SIGTERM)
        started = time.monotonic()
        refused = http.post("/orders", json={"order_number": "ORD-RESTART-2", "model_code": "LAT-5450",
                                             "unit_id": "UL-KS", "user_ref": "E2101"})
        refused_seconds = time.monotonic() - started
        assert refused.status_code == 503 and refused.headers["retry-after"].isdigit(), refused.text
        assert refused_seconds < 12
        event = http.post(f"/tickets/{number}/events", json={"action": {"event": "assign", "assignee": "it.first"}})
        assert event.status_code == 503 and "retry-after" in event.headers
        ready = httpx.get(f"{stack.base}/ready", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["temporal"]["ok"] is False and ready.json()["database"]["ok"] is True
        assert httpx.get(f"{stack.base}/health", timeout=2).status_code == 200
        device = http.get("/devices/ORD-RESTART-1")
        assert device.status_code == 200 and device.headers["x-ramflow-view"] == "mirror"

        stack.start_temporal()  # the same database file and port
        stack.wait_ready(worker=True, seconds=90)
        delivered = http.post("/devices/ORD-RESTART-1/events",
                              json={"action": {"event": "deliver", "serial_number": "S-R1"}})
        assert delivered.status_code == 200 and delivered.json()["state"] == "in_use", delivered.text
        retried = http.post("/orders", json={"order_number": "ORD-RESTART-2", "model_code": "LAT-5450",
                                             "unit_id": "UL-KS", "user_ref": "E2101"})
        assert retried.status_code in (200, 201) and retried.json()["state"] == "called_off", retried.text
        # the TK-5 timer armed before the outage fires after it
        breached = poll(http, f"/tickets/{number}", lambda t: t["breached"], seconds=90)
        assert breached.json()["breached"], breached.text
        assert breached.headers["x-ramflow-view"] == "live"
        assert breached.json()["log"][-1]["event"] == "deadline_breached"
        mail = http.get("/outbox", params={"workflow_id": f"ticket-{number}", "topic": "deadline_breached"}).json()
        assert mail
