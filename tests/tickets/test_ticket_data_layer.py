"""The ticket activities and register queries on SQLite and on PostgreSQL (the backend fixtures of tests/db_backends.py)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select
from temporalio.exceptions import ApplicationError

from activities.tickets import TicketActivities
from api.routes.reports import build_report
from db.numbers import next_number
from config import Settings
from db.ticket_models import SupportCharge, Ticket, TicketTransition, aware
from domain.process import TransitionRecord
from domain.support_calendar import default_calendar
from domain.support_lines import Line
from domain.tickets import ChargeRequest, RegisterTicketInput, TicketMirror, TicketReport

TZ = default_calendar().tz
REPORTED = datetime(2026, 3, 10, 10, 0, tzinfo=TZ)


def register(activities: TicketActivities, number: str = "T-DL-1", **extra) -> None:
    report = TicketReport(number=number, unit_id="TR-KS", reporter_ref="E1", title="x", **extra)
    activities.register(RegisterTicketInput(workflow_id=f"ticket-{number}", report=report, reported_at=REPORTED))


def mirror(seq: int, state: str, **extra) -> TicketMirror:
    record = TransitionRecord(seq=seq, at=REPORTED + timedelta(minutes=seq), event="e", from_state="first_line",
                              to_state=state, actor="it.anna", rule="TK-2")
    fields = dict(number="T-DL-1", record=record, state=state, line=Line.FIRST, assignee=None, matter=None,
                  function=None, on_call=False, deadline=None, warned_at=None, breached_at=None, resolved_at=None,
                  resolved_line=None, closed_at=None, handed_back_reason=None, survey_selected=None)
    return TicketMirror(**{**fields, **extra})


def test_tk2_register_is_idempotent_and_stores_instants_in_utc(backend_sessions):
    activities = TicketActivities(backend_sessions)
    register(activities)
    register(activities)
    with backend_sessions() as s:
        rows = s.scalars(select(Ticket)).all()
        assert len(rows) == 1 and aware(rows[0].reported_at) == REPORTED


def test_tk2_register_refuses_unknown_unit_without_writing(backend_sessions):
    activities = TicketActivities(backend_sessions)
    report = TicketReport(number="T-DL-2", unit_id="XX", reporter_ref="E1", title="x")
    with pytest.raises(ApplicationError) as refused:
        activities.register(RegisterTicketInput(workflow_id="ticket-T-DL-2", report=report, reported_at=REPORTED))
    assert refused.value.type == "InvalidCommand" and refused.value.non_retryable
    with backend_sessions() as s:
        assert s.get(Ticket, "T-DL-2") is None


def test_tk5_mirror_is_idempotent_per_seq_and_keeps_the_deadline(backend_sessions):
    activities = TicketActivities(backend_sessions)
    register(activities)
    deadline = datetime(2026, 3, 11, 10, tzinfo=TZ)
    activities.mirror_transition(mirror(2, "assigned", assignee="it.bo", deadline=deadline))
    activities.mirror_transition(mirror(2, "assigned", assignee="someone.else"))  # a retried activity
    with backend_sessions() as s:
        assert s.get(Ticket, "T-DL-1").assignee == "it.bo"
    activities.mirror_transition(mirror(3, "first_line", breached_at=deadline + timedelta(minutes=1),
                                        deadline=deadline))
    with backend_sessions() as s:
        ticket = s.get(Ticket, "T-DL-1")
        assert (ticket.state, ticket.breached, aware(ticket.deadline)) == ("first_line", True, deadline)
        assert [t.seq for t in s.scalars(select(TicketTransition).order_by(TicketTransition.seq))] == [2, 3]


def test_tk8_charge_is_written_once_per_key(backend_sessions):
    activities = TicketActivities(backend_sessions)
    register(activities)
    request = ChargeRequest(key="ticket-T-DL-1:on_call", source="on_call", reference="T-DL-1", unit_id="TR-KS",
                            minutes_worked=40, minutes_charged=60, hourly_rate=Decimal("950.00"),
                            at=datetime(2026, 3, 14, 3, tzinfo=timezone.utc))
    activities.charge(request)
    activities.charge(request)
    with backend_sessions() as s:
        charge = s.scalars(select(SupportCharge)).one()
        assert (charge.hours, charge.amount, str(charge.charged_on)) == (Decimal("1.00"), Decimal("950.00"),
                                                                          "2026-03-14")


def test_ticket_numbers_are_allocated_in_sequence_per_year(backend_sessions):
    assert [next_number(backend_sessions, "T", 2026) for _ in range(3)] == ["T2026-00001", "T2026-00002",
                                                                            "T2026-00003"]
    assert next_number(backend_sessions, "T", 2027) == "T2027-00001"
    assert next_number(backend_sessions, "SR", 2026) == "SR2026-00001"


def test_tk3_report_query_reads_the_register(backend_sessions, backend_url):
    activities = TicketActivities(backend_sessions)
    register(activities)
    activities.mirror_transition(mirror(2, "resolved", resolved_at=REPORTED + timedelta(hours=1),
                                        resolved_line=Line.SECOND))
    with backend_sessions() as s:
        report = build_report(s, Settings(database_url=backend_url), 2026, 1)
    assert (report.tickets.reported, report.tickets.solved, report.tickets.share_within_anvandarstod) == (1, 1, 1.0)
