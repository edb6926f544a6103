"""The ticket workflow on the time-skipping server, with real activities on a real database.

The session shares one test clock that only moves forward, so each timer test finds its instants
(a plain Friday, the next Easter, Midsummer, Christmas) after the clock's current time and jumps there.
"""
from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

from db.ticket_models import SupportCharge, Ticket, TicketTransition, aware
from domain.intefunktion import IntefunktionFunction
from domain.support_lines import Line
from domain.support_matters import Matter
from domain.tickets import Assign, Classification, Close, Escalate, Reopen, Resolve, Resume, Transfer, WaitForCustomer
from tests.tickets.helpers import (
    CAL,
    act,
    add_device,
    close_to,
    jump_to,
    local,
    maundy_thursday_after,
    next_day,
    now_local,
    outbox,
    plain_working_day,
    report_ticket,
    until,
    until_outbox,
    view,
)
from workflows.tickets import TicketWorkflow

INTE = IntefunktionFunction.EMAIL_CALENDAR


def events(state) -> list[str]:
    return [r.event for r in state.log]


async def assert_timer_not_fired(handle, event: str) -> None:
    await asyncio.sleep(0.3)  # a timer that fired early would land now
    assert event not in events(await view(handle))


async def deadline_scenario(env, client, worker, sessions, number: str, reported: datetime,
                            expected_deadline: datetime) -> None:
    """Report at `reported`; the warning fires at 75 %, the breach at the deadline, not a minute before."""
    await jump_to(env, reported + timedelta(seconds=1))
    handle = await report_ticket(client, worker.task_queue, number, function=INTE, reported_at=reported)
    state = await view(handle)
    assert state.deadline == expected_deadline and state.deadline.utcoffset() == expected_deadline.utcoffset()
    budget = CAL.support_seconds_between(reported, expected_deadline)
    assert state.warning_at == CAL.add_support_time(reported, 0.75 * budget)
    await jump_to(env, state.warning_at - timedelta(minutes=1))
    await assert_timer_not_fired(handle, "deadline_warning")
    await jump_to(env, state.warning_at + timedelta(minutes=1))
    warned = await until(handle, lambda v: "deadline_warning" in events(v))
    assert "deadline_warning" in events(warned) and not warned.breached
    await jump_to(env, expected_deadline - timedelta(minutes=1))
    await assert_timer_not_fired(handle, "deadline_breached")
    await jump_to(env, expected_deadline + timedelta(minutes=1))
    breached = await until(handle, lambda v: v.breached)
    assert breached.breached and breached.log[-1].event == "deadline_breached" and breached.log[-1].rule == "TK-5"
    assert breached.state == "first_line"  # recorded and escalated to the leads; the line does not change
    with sessions() as s:
        row = s.get(Ticket, number)
        assert row.breached and row.breached_at is not None
    recipients = {m.recipient for m in await until_outbox(sessions, f"ticket-{number}", "deadline_breached", 2)}
    assert recipients == {"lead:first_line", "lead:it"}


async def test_tk5_deadline_timer_across_a_weekend(env, client, worker, sessions):
    friday = next_day(await now_local(env), lambda d: d.weekday() == 4 and CAL.is_working_day(d)
                      and CAL.is_working_day(d + timedelta(days=3)))
    await deadline_scenario(env, client, worker, sessions, "T-TK5-WEEKEND", local(friday, 15),
                            local(friday + timedelta(days=3), 15))


async def test_tk5_deadline_timer_across_easter(env, client, worker, sessions):
    thursday = maundy_thursday_after(await now_local(env))
    for closed in range(1, 5):  # Good Friday, Saturday, Easter Sunday, Easter Monday
        assert not CAL.is_working_day(thursday + timedelta(days=closed))
    await deadline_scenario(env, client, worker, sessions, "T-TK5-EASTER", local(thursday, 10),
                            local(thursday + timedelta(days=5), 10))


async def test_tk5_deadline_timer_across_midsummer(env, client, worker, sessions):
    thursday = next_day(await now_local(env), lambda d: d.month == 6 and d.weekday() == 3 and 18 <= d.day <= 24)
    assert not CAL.is_working_day(thursday + timedelta(days=1))  # Midsummer Eve
    await deadline_scenario(env, client, worker, sessions, "T-TK5-MIDSUMMER", local(thursday, 14),
                            local(thursday + timedelta(days=4), 14))


async def test_tk5_deadline_timer_across_christmas(env, client, worker, sessions):
    dec23 = next_day(await now_local(env), lambda d: d.month == 12 and d.day == 23 and d.weekday() < 4, skip_days=1)
    for day in (24, 25, 26):
        assert not CAL.is_working_day(date(dec23.year, 12, day))
    after = date(dec23.year, 12, 27)
    while after.weekday() >= 5:
        after += timedelta(days=1)
    await deadline_scenario(env, client, worker, sessions, "T-TK5-CHRISTMAS", local(dec23, 11), local(after, 11))


async def test_tk5_waiting_for_customer_pauses_the_clock_and_resume_restarts_it(env, client, worker, sessions):
    monday = next_day(await now_local(env), lambda d: d.weekday() == 0 and all(
        CAL.is_working_day(d + timedelta(days=i)) for i in (0, 1, 2, 3, 4, 7)))
    tuesday, friday, next_monday = monday + timedelta(days=1), monday + timedelta(days=4), monday + timedelta(days=7)
    reported = local(tuesday, 10)
    await jump_to(env, reported + timedelta(seconds=1))
    handle = await report_ticket(client, worker.task_queue, "T-TK5-PAUSE", function=INTE, reported_at=reported)
    assert (await view(handle)).deadline == local(tuesday + timedelta(days=1), 10)  # 9 support hours
    await act(handle, Assign(assignee="it.bo"))
    await jump_to(env, local(tuesday, 12))
    paused = await act(handle, WaitForCustomer(question="Which printer?"), actor="it.bo")
    assert paused.state == "waiting_for_customer" and paused.deadline is None and paused.clock_paused
    assert abs(paused.remaining_support_seconds - 7 * 3600) < 5
    await jump_to(env, local(tuesday + timedelta(days=1), 11))  # past the original deadline: paused, no breach
    await assert_timer_not_fired(handle, "deadline_breached")
    await jump_to(env, local(friday, 15))
    resumed = await act(handle, Resume(), actor="it.bo", reason="the customer answered")
    # 1 h left on Friday (closes 16:00), 6 h on Monday from 07:30
    assert close_to(resumed.deadline, local(next_monday, 13, 30)) and not resumed.clock_paused
    assert close_to(resumed.warning_at, local(next_monday, 11, 15))  # 25 % of 9 h left
    await jump_to(env, local(next_monday, 13, 28))
    await assert_timer_not_fired(handle, "deadline_breached")
    assert "deadline_warning" in events(await view(handle))
    await jump_to(env, local(next_monday, 13, 32))
    assert (await until(handle, lambda v: v.breached)).breached
    with sessions() as s:
        logged = s.scalars(select(TicketTransition.event).where(TicketTransition.number == "T-TK5-PAUSE")
                           .order_by(TicketTransition.seq)).all()
    assert logged == ["report", "assign", "wait_for_customer", "resume", "deadline_warning", "deadline_breached"]


async def test_tk5_resolved_in_time_keeps_the_deadline(env, client, worker, sessions):
    wednesday = next_day(await now_local(env), lambda d: d.weekday() == 2 and plain_working_day(d))
    await jump_to(env, local(wednesday, 9))
    handle = await report_ticket(client, worker.task_queue, "T-TK5-KEPT", function=INTE,
                                 reported_at=local(wednesday, 9))
    await act(handle, Assign(assignee="it.bo"))
    resolved = await act(handle, Resolve(resolution="mailbox quota raised"), actor="it.bo")
    assert resolved.state == "resolved" and resolved.clock_paused and not resolved.breached
    assert resolved.deadline == local(wednesday + timedelta(days=1), 9) and resolved.deadline_met
    await jump_to(env, local(wednesday + timedelta(days=2), 9))
    await assert_timer_not_fired(handle, "deadline_breached")
    closed = await act(handle, Close())
    assert closed.state == "closed" and closed.deadline_met and closed.deadline == resolved.deadline
    with sessions() as s:
        assert aware(s.get(Ticket, "T-TK5-KEPT").deadline) == resolved.deadline


async def test_tk1_reported_outside_hours_counts_from_the_next_opening(env, client, worker):
    saturday = next_day(await now_local(env), lambda d: d.weekday() == 5 and CAL.is_working_day(d + timedelta(days=2)))
    await jump_to(env, local(saturday, 11, 1))
    handle = await report_ticket(client, worker.task_queue, "T-TK1-SAT", function=INTE,
                                 reported_at=local(saturday, 11))
    state = await view(handle)
    assert state.deadline == local(saturday + timedelta(days=2), 16, 30) and not state.on_call


async def test_tk2_escalation_through_all_three_lines(client, worker, sessions):
    handle = await report_ticket(client, worker.task_queue, "T-TK2-1", title="Cannot reach the file server")
    await act(handle, Assign(assignee="it.first"), reason="on duty in the 1st line")
    second = await act(handle, Escalate(to=Line.SECOND), actor="it.first", reason="needs an on-site visit")
    assert (second.state, second.line, second.assignee) == ("second_line", Line.SECOND, None)
    assigned = await act(handle, Assign(assignee="it.tech"), actor="lead.second")
    assert (assigned.state, assigned.assignee) == ("assigned", "it.tech")  # TK-2: the customer sees who
    third = await act(handle, Escalate(to=Line.INFRASTRUKTUR), actor="it.tech", reason="switch port is dead")
    assert third.state == "infrastruktur" and third.line is Line.INFRASTRUKTUR
    await act(handle, Assign(assignee="it.infra"))
    resolved = await act(handle, Resolve(resolution="port reconfigured"), actor="it.infra")
    assert resolved.resolved_line is Line.INFRASTRUKTUR  # TK-3: not solved within användarstöd
    closed = await act(handle, Close(), actor="it.infra")
    assert closed.state == "closed"
    assert [(r.event, r.actor, r.rule) for r in closed.log] == [
        ("report", "support", "TK-2"), ("assign", "it.anna", "TK-2"), ("escalate", "it.first", "TK-2"),
        ("assign", "lead.second", "TK-2"), ("escalate", "it.tech", "TK-2"), ("assign", "it.anna", "TK-2"),
        ("resolve", "it.infra", "TK-3"), ("close", "it.infra", "TK-6")]
    assert closed.log[2].reason == "needs an on-site visit" and closed.log[2].details["line"] == \
        "first_line -> second_line"
    with sessions() as s:
        row = s.get(Ticket, "T-TK2-1")
        assert (row.state, row.resolved_line, row.assignee) == ("closed", "infrastruktur", "it.infra")
    contact = await outbox(sessions, "ticket-T-TK2-1", "assigned")
    assert any(m.recipient == "employee:E5001" and "it.tech" in m.subject for m in contact)


async def test_tk2_illegal_move_is_rejected_by_the_validator_and_changes_nothing(client, worker):
    handle = await report_ticket(client, worker.task_queue, "T-TK2-2")
    before = await view(handle)
    for action in (Close(), Escalate(to=Line.VERKSAMHETSSTOD), Resume(), Transfer(to="infrastruktur")):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await act(handle, action)
        cause = refused.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "IllegalTransition"
    assert "TK-2" in str(refused.value.cause)
    after = await view(handle)
    assert after.state == before.state == "first_line" and len(after.log) == len(before.log) == 1


async def test_tk2_transfer_between_third_line_teams_and_reopen(client, worker):
    handle = await report_ticket(client, worker.task_queue, "T-TK2-3")
    await act(handle, Escalate(to=Line.SECOND))
    await act(handle, Escalate(to=Line.VERKSAMHETSSTOD))
    moved = await act(handle, Transfer(to="infrastruktur"), reason="it is the firewall")
    assert moved.state == "infrastruktur"
    await act(handle, Resolve())
    reopened = await act(handle, Reopen(), reason="still broken")
    assert (reopened.state, reopened.line, reopened.resolved_line) == ("reopened", Line.INFRASTRUKTUR, None)


async def test_tk4_classified_as_intefunktion_later_counts_from_the_report(env, client, worker):
    reported = (await now_local(env)) - timedelta(minutes=5)
    handle = await report_ticket(client, worker.task_queue, "T-TK4-1", reported_at=reported)
    assert (await view(handle)).deadline is None
    change = Classification(actor="it.first", function=IntefunktionFunction.NETWORK_PRINTING, reason="all printers")
    state = await handle.execute_update(TicketWorkflow.classify, change)
    assert state.intefunktion and state.deadline == CAL.deadline(reported)
    assert state.log[-1].event == "classify" and state.log[-1].rule == "TK-4"


async def test_tk7_program_install_on_student_computer_is_handed_back(client, worker, sessions):
    add_device(sessions, "ORD-TK7-STUDENT", "CB-314")
    handle = await report_ticket(client, worker.task_queue, "T-TK7-1", unit_id="TR-BUF",
                                 device_order_number="ORD-TK7-STUDENT", matter=Matter.PROGRAM_INSTALLATION,
                                 title="Install GeoGebra")
    state = await view(handle)
    assert state.state == "handed_back" and state.support_level.value == "one_to_one" and state.owner.value == "unit"
    assert state.log[-1].event == "hand_back" and state.log[-1].actor == "ramflow" and state.log[-1].rule == "TK-7"
    assert "installing programs" in state.handed_back_reason
    recipients = {m.recipient for m in await outbox(sessions, "ticket-T-TK7-1", "handed_back")}
    assert recipients == {"unit:TR-BUF", "employee:E5001"}


async def test_tk7_same_matter_on_managed_workstation_is_escalated(client, worker, sessions):
    add_device(sessions, "ORD-TK7-WS", "LAT-5450", unit_id="TR-KS")
    handle = await report_ticket(client, worker.task_queue, "T-TK7-2", device_order_number="ORD-TK7-WS",
                                 matter=Matter.PROGRAM_INSTALLATION)
    assert (await view(handle)).owner.value == "it"
    assert (await act(handle, Escalate(to=Line.SECOND))).state == "second_line"


async def test_tk7_triage_of_a_unit_owned_matter_hands_back_instead_of_escalating(client, worker, sessions):
    add_device(sessions, "ORD-TK7-TEACHER", "TP-E14")
    handle = await report_ticket(client, worker.task_queue, "T-TK7-3", unit_id="TR-BUF",
                                 device_order_number="ORD-TK7-TEACHER")
    await act(handle, Assign(assignee="it.first"))
    state = await handle.execute_update(TicketWorkflow.classify, Classification(
        actor="it.first", matter=Matter.REINSTALLATION, reason="asks for a reinstall"))
    assert state.state == "handed_back" and "reinstallation" in state.handed_back_reason
    assert [r.event for r in state.log][-2:] == ["classify", "hand_back"]


async def test_tk8_on_call_ticket_is_charged_in_started_half_hours(env, client, worker, sessions):
    now = await now_local(env)
    saturday = now.date() - timedelta(days=(now.weekday() - 5) % 7 or 7)
    reported = local(saturday, 3, 10)
    handle = await report_ticket(client, worker.task_queue, "T-TK8-1", unit_id="UL-VOF", reported_at=reported,
                                 affects_operations=True, cannot_wait=True, title="Care planning system down")
    state = await view(handle)
    assert state.on_call and state.log[0].details["on_call"] == "true"
    assert [m.recipient for m in await outbox(sessions, "ticket-T-TK8-1", "on_call")] == ["it:beredskap"]
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await act(handle, Resolve())
    assert "TK-8" in str(refused.value.cause)
    await act(handle, Resolve(minutes_worked=40, resolution="restarted the integration"), actor="it.oncall")
    with sessions() as s:
        charge = s.scalars(select(SupportCharge).where(SupportCharge.reference == "T-TK8-1")).one()
    assert (charge.source, charge.unit_id, charge.minutes_worked, charge.minutes_charged) == ("on_call", "UL-VOF", 40, 60)
    assert (charge.hours, charge.amount) == (Decimal("1.00"), Decimal("950.00"))
    await act(handle, Reopen())
    await act(handle, Resolve())  # later work is ordinary support: no second charge
    with sessions() as s:
        assert len(s.scalars(select(SupportCharge).where(SupportCharge.reference == "T-TK8-1")).all()) == 1


async def test_tk8_outside_hours_without_urgency_waits_for_support(env, client, worker):
    now = await now_local(env)
    sunday = now.date() - timedelta(days=(now.weekday() - 6) % 7 or 7)
    handle = await report_ticket(client, worker.task_queue, "T-TK8-2", reported_at=local(sunday, 20),
                                 affects_operations=True, cannot_wait=False)
    state = await view(handle)
    assert not state.on_call
    assert (await act(handle, Resolve())).state == "resolved"


async def test_tk6_close_draws_the_survey_from_workflow_random_reproducibly(client, worker, sessions):
    """Rule TK-6: the draw at close comes from `workflow.random()`: replaying each history makes the same draw
    (else the survey notification would not match and the replay would fail with a nondeterminism error).
    Tickets (share 0.5) close until both outcomes have occurred: six on average, all 40 alike once in 10^12
    runs. The 25 % share itself: test_tk6_survey_sampling_over_100000_seeded_draws_lands_on_a_quarter."""
    async def one(i: int):
        handle = await report_ticket(client, worker.task_queue, f"T-TK6-{i:03d}", start_options={"survey_share": 0.5})
        await act(handle, Resolve())
        return handle, (await act(handle, Close())).survey_selected

    results = list(await asyncio.gather(*[one(i) for i in range(6)]))
    while len({chosen for _, chosen in results}) < 2 and len(results) < 40:
        results.append(await one(len(results)))
    selected = {h.id for h, chosen in results if chosen}
    assert 0 < len(selected) < len(results)
    assert {m.workflow_id for m in await outbox(sessions, topic="survey")} == selected
    with sessions() as s:
        mirrored = {f"ticket-{n}" for n in s.scalars(select(Ticket.number).where(Ticket.survey_selected.is_(True)))}
    assert mirrored == selected
    histories = [await handle.fetch_history() for handle, _ in results]
    replayer = Replayer(workflows=[TicketWorkflow], data_converter=client.data_converter)  # its payload codec
    for history in histories:
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None


async def test_tk1_configured_extra_closed_day_moves_the_deadline(env, client, worker):
    now = await now_local(env)
    tuesday = now.date() - timedelta(days=(now.weekday() - 1) % 7 or 7)
    while not all(CAL.is_working_day(tuesday + timedelta(days=i)) for i in (0, 1, 2)):
        tuesday -= timedelta(days=7)
    handle = await report_ticket(client, worker.task_queue, "T-TK1-EXTRA", function=INTE,
                                 reported_at=local(tuesday, 10),
                                 start_options={"extra_closed_days": [tuesday + timedelta(days=1)]})
    assert (await view(handle)).deadline == local(tuesday + timedelta(days=2), 10)
