"""The framework's change process and development cases on the time-skipping server (GV-1 … GV-4)."""
from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError

from db.equipment_queries import resolve_terms
from db.governance_queries import framework_in_force, framework_versions
from db.agreement_models import FrameworkDecisionRow, FrameworkVersionRow
from db.models import RenewalPolicy
from domain.catalogue import Category
from domain.development_cases import (
    CaseKind,
    DevelopmentCaseCommand,
    DevelopmentCaseRequest,
    DevelopmentCaseStart,
    Escalate,
    ForumPass,
    Prioritise,
    StrategistApprove,
    development_case_workflow_id,
)
from domain.equipment import DeviceOrder
from domain.framework_changes import (
    BoardApprove,
    BoardReject,
    CommitteeDecide,
    ForumPrepare,
    FrameworkCommand,
    FrameworkParameters,
    FrameworkProposal,
    FrameworkStart,
    RenewalPeriod,
    ReviseProposal,
    SteeringApprove,
    framework_workflow_id,
)
from tests.helpers import Process, local_now, sleep_until, start, until
from workflows.governance import DevelopmentCaseWorkflow, FrameworkChangeWorkflow

D = Decimal


def acute_proposal(proposal_id: str, effective_from: date, **parameter_changes) -> FrameworkProposal:
    parameters = FrameworkParameters(price_list_year=effective_from.year).model_copy(update=parameter_changes)
    return FrameworkProposal(proposal_id=proposal_id, kind="acute", title="Ändrad tillgänglighet",
                             law_reference="SFS 2026:123", effective_from=effective_from, parameters=parameters)


_decide = Process(FrameworkChangeWorkflow.apply, FrameworkCommand, FrameworkChangeWorkflow.view,
                  actor="nämndsekreterare").act


def secretary(action) -> str:
    """Each body's own secretary (rule GV-2: one person never records two bodies' decisions)."""
    municipality = getattr(action, "municipality", None)
    return f"sekr.{action.event.split('_')[0]}" + (f".{municipality}" if municipality else "")


async def decide(handle, action, actor: str | None = None):
    return await _decide(handle, action, actor or secretary(action))


async def decided(client, worker, proposal: FrameworkProposal, today: date):
    """Rule GV-2: the proposal through its whole chain on `today` (prepared, approved, both boards, decided)."""
    handle = await start(client, FrameworkChangeWorkflow.run, FrameworkStart(proposal=proposal),
                         framework_workflow_id(proposal.proposal_id), worker.task_queue,
                         ready=FrameworkChangeWorkflow.ready)
    for action in (ForumPrepare(decided_on=today, minutes_ref="IFU"), SteeringApprove(decided_on=today, minutes_ref="ISG"),
                   BoardApprove(municipality="tranemo", decided_on=today, minutes_ref="KS-T"),
                   BoardApprove(municipality="ulricehamn", decided_on=today, minutes_ref="KS-U"),
                   CommitteeDecide(decided_on=today, minutes_ref="SN")):
        state = await decide(handle, action)
    return handle, state


async def test_gv2_parallel_board_approvals_with_one_rejection(client, worker, env, sessions):
    today = (await local_now(env)).date()
    proposal = acute_proposal("acute-gv2", today + timedelta(days=60))
    handle = await start(client, FrameworkChangeWorkflow.run, FrameworkStart(proposal=proposal),
                         framework_workflow_id("acute-gv2"), worker.task_queue)
    assert (await handle.execute_update(FrameworkChangeWorkflow.ready)).state == "in_preparation"
    with pytest.raises(WorkflowUpdateFailedError) as refused:  # the order is fixed (GV-2)
        await decide(handle, BoardApprove(municipality="tranemo", decided_on=today, minutes_ref="KS 1"))
    assert "'board_approve' is not allowed in state 'in_preparation'" in str(refused.value.cause)

    await decide(handle, ForumPrepare(decided_on=today, minutes_ref="IFU 2026-03"))
    await decide(handle, SteeringApprove(decided_on=today, minutes_ref="ISG 2026-04"))
    state = await decide(handle, BoardApprove(municipality="tranemo", decided_on=today, minutes_ref="KS-T § 10"))
    assert state.state == "at_boards" and list(state.board_approvals) == ["tranemo"]
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await decide(handle, BoardApprove(municipality="tranemo", decided_on=today, minutes_ref="KS-T § 11"))
    assert "already approved" in str(refused.value.cause)
    state = await decide(handle, BoardReject(municipality="ulricehamn", decided_on=today, minutes_ref="KS-U § 20",
                                             reason="Konsekvensanalys saknas"))
    # rule GV-2: a rejection sends it back to it-forum utveckling with the reason; approvals start over
    assert (state.state, state.round, state.board_approvals) == ("in_preparation", 2, {})
    assert state.last_rejection == "Konsekvensanalys saknas"

    await decide(handle, ReviseProposal(summary="Med konsekvensanalys"))
    await decide(handle, ForumPrepare(decided_on=today, minutes_ref="IFU 2026-05"))
    await decide(handle, SteeringApprove(decided_on=today, minutes_ref="ISG 2026-06"))
    # the two kommunstyrelser decide in parallel, in any order; both must approve
    results = await asyncio.gather(
        decide(handle, BoardApprove(municipality="ulricehamn", decided_on=today, minutes_ref="KS-U § 31")),
        decide(handle, BoardApprove(municipality="tranemo", decided_on=today, minutes_ref="KS-T § 32")))
    assert sorted(r.state for r in results) == ["at_boards", "at_committee"]
    state = await decide(handle, CommitteeDecide(decided_on=today, minutes_ref="SN-IT § 5"))
    assert state.state == "decided"

    with sessions() as s:
        rows = s.scalars(select(FrameworkDecisionRow).where(FrameworkDecisionRow.proposal_id == "acute-gv2")
                         .order_by(FrameworkDecisionRow.seq)).all()
        assert [(r.body, r.decision) for r in rows][:4] == [
            ("it-forum utveckling", "prepared"), ("it-styrgrupp", "approved"),
            ("kommunstyrelsen tranemo", "approved"), ("kommunstyrelsen ulricehamn", "rejected")]
        assert rows[3].reason == "Konsekvensanalys saknas" and rows[3].minutes_ref == "KS-U § 20"
        assert (rows[-1].body, rows[-1].decision, rows[-1].minutes_ref) == ("samverkansnämnd it", "decided", "SN-IT § 5")
        assert len(rows) == 9 and all(r.decided_on == today for r in rows)
        assert s.get(FrameworkVersionRow, "acute-gv2").status == "decided"


async def test_gv1_decided_version_changes_parameters_and_renewal_periods_from_its_date(client, worker, env,
                                                                                       sessions):
    today = (await local_now(env)).date()
    effective = today + timedelta(days=30)
    proposal = acute_proposal(
        "acute-gv1", effective, availability_target_percent=D("99.5"),
        renewal_periods=[RenewalPeriod(category=Category.WORKSTATION, municipality="tranemo", renewal_months=48),
                         RenewalPeriod(category=Category.WORKSTATION, municipality="ulricehamn", renewal_months=60)])
    handle, state = await decided(client, worker, proposal, today)
    assert state.state == "decided" and state.effective_at.date() == effective

    order = DeviceOrder(order_number="ORD-GV1", model_code="LAT-5450", unit_id="UL-KS")
    with sessions() as s:
        # decided, not yet in force: the parameters change from the effective date, not before
        assert framework_in_force(s, today).parameters.availability_target_percent == D("99.1")
        assert framework_in_force(s, effective).parameters.availability_target_percent == D("99.5")
        assert framework_in_force(s, effective).parameters.renewal_months(Category.WORKSTATION, "ulricehamn") == 60
        assert s.get(RenewalPolicy, ("workstation", "ulricehamn")).renewal_months == 48
        assert [v.id for v in framework_versions(s)] == ["ramuppdrag-2022", "acute-gv1"]

    await sleep_until(env, state.effective_at)
    state = await until(handle, FrameworkChangeWorkflow.view, lambda v: v.state == "in_force")
    assert state.state == "in_force" and "workstation/ulricehamn=60" in state.log[-1].details["renewal_policies"]
    with sessions() as s:
        # rule GV-1: the equipment process now renews Ulricehamn's workstations after 60 months (EQ-5)
        assert s.get(RenewalPolicy, ("workstation", "ulricehamn")).renewal_months == 60
        assert resolve_terms(s, order, datetime.now(timezone.utc)).renewal_months == 60
        assert s.get(FrameworkVersionRow, "acute-gv1").status == "in_force"


async def case(client, worker, request: DevelopmentCaseRequest, threshold: str = "100000.00"):
    handle = await start(client, DevelopmentCaseWorkflow.run,
                         DevelopmentCaseStart(request=request, threshold=D(threshold)),
                         development_case_workflow_id(request.case_id), worker.task_queue)
    return handle, await handle.execute_update(DevelopmentCaseWorkflow.ready)


case_act = Process(DevelopmentCaseWorkflow.apply, DevelopmentCaseCommand, DevelopmentCaseWorkflow.view,
                   actor="it.strateg").act


async def test_gv3_small_case_with_strategist_large_new_system_setup_prioritised_by_steering_group(
        client, worker, env):
    today = (await local_now(env)).date()
    small, state = await case(client, worker, DevelopmentCaseRequest(
        case_id="DEV-1", title="Ny mapp-struktur", kind=CaseKind.CHANGE, unit_id="TR-KS", estimated_cost=D("20000")))
    assert state.state == "with_strategist" and state.log[0].rule == "GV-3"
    assert (await case_act(small, StrategistApprove(decided_on=today))).state == "approved"

    large, state = await case(client, worker, DevelopmentCaseRequest(
        case_id="DEV-2", title="Nytt e-arkiv", kind=CaseKind.NEW_SYSTEM_SETUP, unit_id="UL-KS",
        estimated_cost=D("450000")))
    assert state.state == "at_steering_group" and state.large
    with pytest.raises(WorkflowUpdateFailedError):
        await case_act(large, StrategistApprove(decided_on=today))  # beyond the strategist's mandate
    state = await case_act(large, Prioritise(decided_on=today, minutes_ref="ISG § 4", priority=2))
    assert (state.state, state.priority, state.decided_by) == ("approved", 2, "it-styrgrupp")

    # additions to existing solutions can be decided by the strategist, who may escalate
    addition, state = await case(client, worker, DevelopmentCaseRequest(
        case_id="DEV-3", title="Ny modul", kind=CaseKind.ADDITION_TO_EXISTING, unit_id="TR-SOC",
        estimated_cost=D("300000")))
    assert state.state == "with_strategist"
    assert (await case_act(addition, Escalate(reason="stor kostnad"))).state == "at_steering_group"

    # the threshold is configurable and fixed when the case is registered
    _, state = await case(client, worker, DevelopmentCaseRequest(
        case_id="DEV-4", title="Skrivarflytt", kind=CaseKind.CHANGE, unit_id="TR-KS", estimated_cost=D("60000")),
        threshold="50000.00")
    assert state.state == "at_steering_group" and state.threshold == D("50000.00")


async def test_gv4_pilot_passes_it_forum_utveckling_then_is_routed_by_size(client, worker, env):
    today = (await local_now(env)).date()
    pilot, state = await case(client, worker, DevelopmentCaseRequest(
        case_id="PILOT-1", title="AI-assistent i skolan", kind=CaseKind.PILOT, unit_id="UL-BUF",
        estimated_cost=D("40000")))
    assert state.state == "at_forum" and state.log[0].rule == "GV-4"
    state = await case_act(pilot, ForumPass(decided_on=today, minutes_ref="IFU § 9"), actor="it.forum")
    assert state.state == "with_strategist" and state.log[-1].rule == "GV-4"
    with pytest.raises(ValueError, match="GV-4"):
        DevelopmentCaseRequest(case_id="PILOT-2", title="Ny smartphone", kind=CaseKind.PILOT, unit_id="TR-KS",
                               estimated_cost=D("0"), callable_off_within_procured_agreements=True)


async def test_gv1_eq5_version_in_force_rearms_running_devices(client, worker, env, sessions):
    """A decided renewal period reaches devices already in use: their timers re-arm from its date."""
    from domain.equipment import Deliver
    from tests.equipment.helpers import act as device_act
    from tests.equipment.helpers import order_device
    from tests.equipment.helpers import until as device_until

    device = await order_device(client, worker.task_queue, "ORD-GV1-RUN", unit_id="UL-KS")
    delivered = await device_act(device, Deliver(serial_number="SN-GV1"))
    assert delivered.renewal_months == 48
    today = (await local_now(env)).date()
    effective = today + timedelta(days=10)
    proposal = acute_proposal(
        "acute-gv1-run", effective,
        renewal_periods=[RenewalPeriod(category=Category.WORKSTATION, municipality="ulricehamn", renewal_months=60)])
    handle, state = await decided(client, worker, proposal, today)
    assert (await device_until(device, lambda v: True)).renewal_months == 48  # decided is not in force
    await sleep_until(env, state.effective_at)
    await until(handle, FrameworkChangeWorkflow.view, lambda v: v.state == "in_force")
    rearmed = await device_until(device, lambda v: v.renewal_months == 60)
    assert rearmed.renewal_months == 60 and rearmed.log[-1].event == "change_renewal_period"
    assert rearmed.log[-1].reason == "framework version acute-gv1-run in force"
    assert rearmed.renewal_due_at.year == delivered.renewal_due_at.year + 1


async def test_gv2_eq4_decided_equipment_prices_are_the_price_list_of_their_year(client, worker, env, sessions):
    """Samverkansnämnd it decides the equipment price list with the framework (AG-5, EQ-4): the new
    year's price applies to orders in that year, the old year's stays."""
    from db.equipment_queries import price_for
    from domain.catalogue import Price

    today = (await local_now(env)).date()
    effective = date(today.year + 1, 1, 1)
    new_price = Price(year=effective.year, model_code="LAT-5450", monthly_rent=D("445.00"))
    proposal = acute_proposal("acute-gv2-prices", effective).model_copy(update={"equipment_prices": [new_price]})
    await decided(client, worker, proposal, today)
    with sessions() as s:
        assert price_for(s, "LAT-5450", effective.year).monthly_rent == D("445.00")
        assert price_for(s, "LAT-5450", effective.year - 1).monthly_rent == D("420.00")


def test_gv2_eq4_equipment_prices_must_be_for_the_price_list_year():
    from domain.catalogue import Price

    last_year = Price(year=2026, model_code="LAT-5450", monthly_rent=D("1.00"))
    with pytest.raises(ValueError, match="equipment_prices"):
        FrameworkProposal(**{**acute_proposal("acute-x", date(2027, 3, 1)).model_dump(), "equipment_prices": [last_year]})
