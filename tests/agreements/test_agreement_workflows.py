"""Agreements, revisions, new services and cloud moves on the time-skipping server, with real
activities on a real database (rules AG-1 … AG-8)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError

from db.agreement_queries import price_list_for, unit_application_charges, versions_of
from db.agreement_models import (
    AgreementRow,
    ApplicationPriceRow,
    GovernanceProcessRow,
    GovernanceTransitionRow,
    ServiceDefinitionRow,
)
from db.models import OutboxMessage
from domain.agreements import (
    AgreementCommand,
    AgreementPatch,
    AgreementStart,
    Approve,
    RecordMeeting,
    Reject,
    Revise,
    agreement_workflow_id,
    compare_versions,
)
from domain.cloud_moves import (
    ApproveMove,
    CloudMoveCommand,
    CloudMoveRequest,
    CloudMoveStart,
    RecordClassification,
    RecordConsultation,
    RecordCostAnalysis,
    RecordLegalReview,
    RecordSecurityAnalysis,
    cloud_move_workflow_id,
)
from domain.common import start_of_year
from domain.costing import CostLine
from domain.service_introduction import (
    Describe,
    ServiceCommand,
    ServiceDelivery,
    ServiceStart,
    SetPrice,
    service_workflow_id,
)
from domain.common import RoundStart
from tests.agreements.helpers import D, content, coming_year_with_room, set_prices, sleep_to_new_year
from tests.helpers import Process, local_now, start, until
from workflows.agreements import (
    AgreementRevisionRoundWorkflow,
    AgreementWorkflow,
    CloudMoveWorkflow,
    ServiceIntroductionWorkflow,
)
from workflows.governance import FrameworkChangeWorkflow, FrameworkYearlyRoundWorkflow

LINES_V2 = [dict(component="server", quantity="2"), dict(component="database", quantity="1"),
            dict(component="storage", quantity="300"), dict(component="backup", quantity="300"),
            dict(component="support", quantity="40")]


act = Process(AgreementWorkflow.apply, AgreementCommand, AgreementWorkflow.view).act


async def test_ag4_revision_runs_through_its_year(client, worker, env, sessions):
    """Rules AG-4 (meeting, reminders, both approve, rejection loops back, effective 1 January),
    AG-3/AG-5 (recomputed with the coming year's prices), versions kept and compared."""
    now = await local_now(env)
    year = coming_year_with_room(now)
    set_prices(sessions, year, server="10000.00", support="800.00")  # rule AG-5: next year's list
    workflow_id = agreement_workflow_id("APP-TRESERVA", "revision", year)
    handle = await start(client, AgreementWorkflow.run, AgreementStart(
        agreement_id="APP-TRESERVA", purpose="revision", for_year=year, reminder_weeks=2), workflow_id,
        worker.task_queue)
    state = await handle.execute_update(AgreementWorkflow.ready)
    assert state.state == "convened" and state.base_version == 1
    with sessions() as s:
        invited = sorted(s.scalars(select(OutboxMessage.recipient).where(OutboxMessage.topic == "agreement_meeting")))
        assert invited == ["employee:E2003", "unit:UL-VOF"]

    # rule AG-4: no meeting within two weeks → reminders to IT and the system owner
    await env.sleep(timedelta(days=15))
    state = await until(handle, AgreementWorkflow.view, lambda v: v.reminders_sent == 1)
    assert state.reminders_sent == 1 and state.log[-1].event == "remind"
    with sessions() as s:
        reminded = sorted(s.scalars(select(OutboxMessage.recipient).where(OutboxMessage.topic == "agreement_reminder")))
        assert reminded == ["employee:E2003", "it:agreements"]

    state = await act(handle, RecordMeeting(held_on=now.date() + timedelta(days=15), participants=["it.anna", "E2003"],
                                            minutes_ref="AVSTÄMNING-1", changes=AgreementPatch(cost_lines=LINES_V2)))
    # rule AG-3: 2×10000 + 6000 + 300×12.50 + 300×4.75 + 40×800 with the coming year's prices
    assert state.state == "proposed" and state.proposal.year == year
    assert state.proposal.total == D("63175.00")
    assert state.proposal.provisional  # rule AG-5: database, storage, backup carried from an earlier list

    await act(handle, Approve(party="it"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await act(handle, Approve(party="system_owner"), actor="it.anna")
    assert "system owner" in str(refused.value.cause) and "AG-4" in str(refused.value.cause)
    state = await act(handle, Reject(party="system_owner", reason="support hours too high"), actor="E2003")
    assert state.state == "changes_requested" and state.approvals == []
    assert state.log[-1].reason == "support hours too high"
    state = await act(handle, Revise(changes=AgreementPatch(cost_lines=[
        *LINES_V2[:4], dict(component="support", quantity="36")])))
    assert state.state == "proposed" and state.proposal.total == D("59975.00")
    await act(handle, Approve(party="system_owner"), actor="E2003")
    state = await act(handle, Approve(party="it"))
    assert state.state == "approved" and state.effective_at == start_of_year(year)

    with sessions() as s:
        assert len(versions_of(s, "APP-TRESERVA")) == 1  # not in force before 1 January
    await sleep_to_new_year(env, year)
    state = await until(handle, AgreementWorkflow.view, lambda v: v.state == "effective")
    assert state.state == "effective" and state.effective_version == 2

    with sessions() as s:
        v1, v2 = versions_of(s, "APP-TRESERVA")
        assert (v2.version, v2.effective_from, v2.cost.total) == (2, date(year, 1, 1), D("59975.00"))
        assert v2.approved_by == {"system_owner": "E2003", "it": "it.anna"}
        diff = compare_versions(v1, v2)
        changes = {line.item: (line.quantity_before, line.quantity_after, line.unit_price_before,
                               line.unit_price_after) for line in diff.lines if line.change == "changed"}
        assert changes == {
            "server": (D("2.000"), D("2.000"), D("9600.00"), D("10000.00")),
            "storage": (D("250.000"), D("300.000"), D("12.50"), D("12.50")),
            "backup": (D("250.000"), D("300.000"), D("4.75"), D("4.75")),
            "support": (D("40.000"), D("36.000"), D("780.00"), D("800.00")),
        }
        assert diff.total_delta == D("-737.50")
        # the billing query: version 1 last year, version 2 from 1 January (AG-6 reads this)
        assert unit_application_charges(s, "UL-VOF", year - 1).charges[0].version == 1
        this_year = unit_application_charges(s, "UL-VOF", year)
        assert [(c.agreement_id, c.version, c.cost.total) for c in this_year.charges] == [
            ("APP-TRESERVA", 2, D("59975.00"))]
        row = s.get(GovernanceProcessRow, workflow_id)
        assert row.state == "effective"
        rules = s.scalars(select(GovernanceTransitionRow.rule).where(GovernanceTransitionRow.workflow_id == workflow_id))
        assert set(rules) == {"AG-4", "AG-3", "AG-6"}


async def test_ag6_new_agreement_is_charged_from_the_coming_year_and_not_after_termination(client, worker, env,
                                                                                          sessions):
    now = await local_now(env)
    agreement = content("APP-AG6", unit_id="TR-SOC", owner="E1003")
    handle = await start(client, AgreementWorkflow.run, AgreementStart(agreement_id="APP-AG6", content=agreement),
                         agreement_workflow_id("APP-AG6"), worker.task_queue)
    state = await handle.execute_update(AgreementWorkflow.ready)
    year = now.year + 1  # rule AG-6: drawn up now, charged from the coming year
    # rule AG-3 at the seed prices: 9600 + 6000 + 100×12.50 + 10×780
    assert (state.state, state.for_year, state.proposal.total) == ("proposed", year, D("24650.00"))
    await act(handle, Approve(party="it"))
    await act(handle, Approve(party="system_owner"), actor="E1003")
    with sessions() as s:
        assert s.get(AgreementRow, "APP-AG6").status == "draft"
        assert unit_application_charges(s, "TR-SOC", now.year).charges == []
    await sleep_to_new_year(env, year)
    state = await until(handle, AgreementWorkflow.view, lambda v: v.state == "effective")
    assert state.state == "effective"
    with sessions() as s:
        charged = unit_application_charges(s, "TR-SOC", year)
        assert [(c.agreement_id, c.cost.total) for c in charged.charges] == [("APP-AG6", D("24650.00"))]
        assert unit_application_charges(s, "TR-SOC", year - 1).charges == []
        row = s.get(AgreementRow, "APP-AG6")
        row.status, row.terminated_on = "terminated", date(year, 6, 30)
        s.commit()
        # rule AG-6: charged through the year of termination, not from the coming year
        assert unit_application_charges(s, "TR-SOC", year).total == D("24650.00")
        assert unit_application_charges(s, "TR-SOC", year + 1).charges == []


async def test_ag4_yearly_round_starts_one_revision_per_active_agreement_once(client, worker, env, sessions):
    year = (await local_now(env)).year
    started = await client.execute_workflow(
        AgreementRevisionRoundWorkflow.run, RoundStart(year=year, reminder_weeks=3),
        id=f"round-test-{year}", task_queue=worker.task_queue)
    assert started == [agreement_workflow_id("APP-TRESERVA", "revision", year + 1),
                       agreement_workflow_id("INT-LON-EKONOMI", "revision", year + 1)]
    view = await client.get_workflow_handle(started[0]).execute_update(AgreementWorkflow.ready)
    assert view.state == "convened" and view.reminder_due_at == view.convened_at + timedelta(weeks=3)
    again = await client.execute_workflow(
        AgreementRevisionRoundWorkflow.run, RoundStart(year=year), id=f"round-test-{year}-again",
        task_queue=worker.task_queue)
    assert again == []  # one revision per agreement and year: the fan-out is idempotent


async def test_ag7_undefined_service_is_described_priced_and_flows_into_next_years_framework(
        client, worker, env, sessions):
    today = (await local_now(env)).date()
    year = today.year + 1  # decided today (never in the future, AG-7), priced for next year
    agreement = content("APP-ROOMS", unit_id="UL-KS", owner="E2001", application="Teams Rooms", cost_lines=[
        dict(component="communication", quantity="3", service_code="svc-teams-rooms"),
        dict(component="support", quantity="2")])
    delivery = ServiceDelivery(service_code="svc-teams-rooms", name="Teams Rooms", agreement=agreement)
    handle = await start(client, ServiceIntroductionWorkflow.run, ServiceStart(delivery=delivery),
                         service_workflow_id("svc-teams-rooms"), worker.task_queue)
    state = await handle.execute_update(ServiceIntroductionWorkflow.ready)
    assert state.state == "awaiting_description"

    def command(action, actor="it.anna"):
        return handle.execute_update(ServiceIntroductionWorkflow.apply, ServiceCommand(actor=actor, action=action))

    with pytest.raises(WorkflowUpdateFailedError):
        await command(SetPrice(unit_price=D("4200.00"), decided_on=today))  # describe first
    await command(Describe(description="Videomötesrum med Teams-licens och support", component="communication",
                           unit="room"))
    state = await command(SetPrice(unit_price=D("4200.00"), decided_on=today, minutes_ref="TG-7"),
                          actor="tjanstefiering.eva")
    assert state.state == "agreement_started" and state.agreement_workflow_id == agreement_workflow_id("APP-ROOMS")
    assert [r.event for r in state.log] == ["needs_definition", "describe", "set_price", "draw_up_agreement"]
    child = client.get_workflow_handle(state.agreement_workflow_id)
    drawn = await child.execute_update(AgreementWorkflow.ready)
    # rule AG-3 with the service's price: 3 rooms × 4200 + 2 h × 780
    assert (drawn.state, drawn.for_year, drawn.proposal.total) == ("proposed", year, D("14160.00"))
    with sessions() as s:
        definition = s.get(ServiceDefinitionRow, "svc-teams-rooms")
        assert (definition.status, definition.for_year, definition.unit_price) == ("priced", year, D("4200.00"))
        assert s.get(ApplicationPriceRow, (year, "svc-teams-rooms")).component == "communication"

    # rule AG-7: both flow into next year's framework proposal and price list
    proposal_id = await client.execute_workflow(FrameworkYearlyRoundWorkflow.run, RoundStart(year=year - 1),
                                                id=f"fw-round-{year}", task_queue=worker.task_queue)
    proposal = (await client.get_workflow_handle(proposal_id).execute_update(FrameworkChangeWorkflow.ready)).proposal
    assert proposal.proposal_id == f"yearly-{year}" and proposal.services == ["svc-teams-rooms"]
    prices = {p.item: p.unit_price for p in proposal.prices}
    assert prices["svc-teams-rooms"] == D("4200.00") and prices["server"] == D("9600.00")
    assert proposal.parameters.price_list_year == year and proposal.effective_from == date(year, 1, 1)


async def test_ag8_cloud_move_decides_only_after_all_assessments_and_draws_up_agreement_for_internal_costs(
        client, worker, env, sessions):
    request = CloudMoveRequest(case_id="CM-1", application="Ärendehantering", unit_id="TR-SBF",
                               system_owner_ref="E1004", supplier="SaaS AB", agreement_id="APP-CM-1")
    handle = await start(client, CloudMoveWorkflow.run, CloudMoveStart(request=request), cloud_move_workflow_id("CM-1"),
                         worker.task_queue)
    state = await handle.execute_update(CloudMoveWorkflow.ready)
    assert state.state == "consulting"

    def command(action):
        return handle.execute_update(CloudMoveWorkflow.apply, CloudMoveCommand(actor="it.anna", action=action))

    today = (await local_now(env)).date()
    await command(RecordConsultation(held_on=today, it_participants=["it.anna"], unit_participants=["E1004"]))
    await command(RecordClassification(confidentiality=3, integrity=2, availability=2, klassa_ref="KLASSA-88"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await command(ApproveMove(decided_on=today))
    message = str(refused.value.cause)
    assert "AG-8" in message and "security_analysis, legal_review, cost_analysis" in message
    await command(RecordSecurityAnalysis(reference="SÄK-12", summary="Acceptable with MFA", acceptable=True))
    await command(RecordLegalReview(reference="JUR-3", summary="DPA signed, EU hosting", acceptable=True))
    state = await command(RecordCostAnalysis(external_annual_cost=D("48000.00"), internal_cost_lines=[
        CostLine(component="integrations", quantity=D("1")), CostLine(component="support", quantity=D("10"))]))
    assert state.cost_analysis.internal.total == D("12600.00")  # 4800 + 10 × 780
    state = await command(ApproveMove(decided_on=today))
    assert state.state == "agreement_drawn_up" and state.agreement_workflow_id == agreement_workflow_id("APP-CM-1")
    drawn = await client.get_workflow_handle(state.agreement_workflow_id).execute_update(AgreementWorkflow.ready)
    assert drawn.content.variant.value == "light" and drawn.content.application_kind.value == "cloud_service"
    assert drawn.proposal.total == D("12600.00")

    # without internal costs the move completes without an agreement
    other = await start(client, CloudMoveWorkflow.run, CloudMoveStart(request=request.model_copy(update={
        "case_id": "CM-2", "agreement_id": None})), cloud_move_workflow_id("CM-2"), worker.task_queue)
    await other.execute_update(CloudMoveWorkflow.ready)
    for action in (RecordConsultation(held_on=today, it_participants=["it.anna"], unit_participants=["E1004"]),
                   RecordClassification(confidentiality=1, integrity=1, availability=1, klassa_ref="K-2"),
                   RecordSecurityAnalysis(reference="S", summary="ok", acceptable=True),
                   RecordLegalReview(reference="J", summary="ok", acceptable=True),
                   RecordCostAnalysis(external_annual_cost=D("1200.00")), ApproveMove(decided_on=today)):
        state = await other.execute_update(CloudMoveWorkflow.apply, CloudMoveCommand(actor="it.anna", action=action))
    assert state.state == "completed" and state.agreement_workflow_id is None


async def test_ag3_missing_price_refuses_the_meeting_and_keeps_the_state(client, worker, env, sessions):
    now = await local_now(env)
    year = coming_year_with_room(now)
    handle = await start(client, AgreementWorkflow.run, AgreementStart(
        agreement_id="INT-LON-EKONOMI", purpose="revision", for_year=year),
        agreement_workflow_id("INT-LON-EKONOMI", "revision", year), worker.task_queue)
    await handle.execute_update(AgreementWorkflow.ready)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await act(handle, RecordMeeting(held_on=now.date(), participants=["it.anna", "E1001"],
                                        changes=AgreementPatch(cost_lines=[
                                            CostLine(component="integrations", quantity=D("1"),
                                                     service_code="svc-unknown")])))
    assert "svc-unknown" in str(refused.value.cause) and "AG-3" in str(refused.value.cause)
    assert (await handle.query(AgreementWorkflow.view)).state == "convened"
    with sessions() as s:
        assert price_list_for(s, year).provisional  # rule AG-5: no list for that year yet
