"""The framework's change process (GV-1, GV-2), its scheduled yearly opening, and development
cases (GV-3, GV-4). Same mechanics as the agreement workflows (`ProcessWorkflow`)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.common import LOCAL_TZ, MUNICIPALITIES, SYSTEM_ACTOR, RoundStart, local_year
    from domain.development_cases import (
        AT_FORUM,
        DEVELOPMENT_CASE,
        D_APPROVED,
        D_AT_STEERING_GROUP,
        REGISTERED,
        REJECTED,
        WITH_STRATEGIST,
        DevelopmentCaseCommand,
        DevelopmentCaseProcess,
        DevelopmentCaseSnapshot,
        DevelopmentCaseStart,
        DevelopmentCaseView,
        initial_route,
        is_large,
    )
    from domain.framework_changes import (
        AT_BOARDS,
        AT_COMMITTEE,
        AT_STEERING_GROUP,
        DECIDED,
        FRAMEWORK_CHANGE,
        IN_PREPARATION,
        ActivateFrameworkVersion,
        CommitteeDecide,
        FrameworkCommand,
        FrameworkProcess,
        FrameworkProposal,
        FrameworkSnapshot,
        FrameworkStart,
        FrameworkVersion,
        FrameworkView,
        RecordDecision,
        RecordFrameworkVersion,
        YearlyDraftRequest,
        framework_workflow_id,
    )
    from domain.process import action_of
    from domain.renewals import RearmRequest, RenewalPeriodUpdate

from workflows.agreements import RecordedProcess
from workflows.base import (
    SEPARATION_OF_DUTIES,
    Step,
    archive_run,
    command_update,
    ready_update,
    run_activity,
    start_child_once,
)
from workflows.renewals import REARM_RENEWALS

# The activities this process calls (implemented in activities/; `local`: Ramflow's own database only).
RECORD_DECISION = Step("governance.record_decision")
RECORD_FRAMEWORK_VERSION = Step("governance.record_framework_version")
ACTIVATE_FRAMEWORK_VERSION = Step("governance.activate_framework_version")
VERSION_STATUS = Step("governance.version_status")
DRAFT_YEARLY_PROPOSAL = Step("governance.draft_yearly_proposal")



BODY_INBOX = {
    IN_PREPARATION: ["group:it-forum-utveckling"],
    AT_STEERING_GROUP: ["group:it-styrgrupp"],
    AT_BOARDS: [f"board:kommunstyrelsen-{m}" for m in MUNICIPALITIES],
    AT_COMMITTEE: ["board:samverkansnamnd-it"],
}


@workflow.defn(name="FrameworkChange")
class FrameworkChangeWorkflow(RecordedProcess):
    """A change proposal from it-forum utveckling to samverkansnämnd it; the decided version takes
    effect on its date (rules GV-1, GV-2)."""

    definition = FRAMEWORK_CHANGE
    timer_reasons = {"take_effect": "the decided version's effective date"}

    @workflow.init
    def __init__(self, start: FrameworkStart) -> None:
        self._setup(start, lambda: FrameworkSnapshot(proposal=start.proposal), FrameworkProcess)

    @workflow.run
    async def run(self, start: FrameworkStart) -> FrameworkView:
        return await self._run()

    async def _open(self) -> None:
        proposal = self.snap.proposal
        reason = (f"acute change: {proposal.law_reference}" if proposal.kind == "acute"
                  else "the yearly revision of the framework assignment")
        await self._record("open", self.snap.state, self.start.started_by, reason, "GV-1",
                           {"kind": proposal.kind, "effective_from": proposal.effective_from.isoformat()})
        await self._tell_bodies(f"Prepare the framework proposal {proposal.title}")

    def _subject(self) -> str:
        return self.snap.proposal.proposal_id

    def _next_timer(self) -> tuple[str, datetime] | None:
        due = self.snap.takes_effect_at()
        return ("take_effect", due) if due else None  # rule GV-1: from the decided date

    apply = command_update(FrameworkCommand, FrameworkView)
    ready = ready_update(FrameworkView)

    def _on_command(self, command: FrameworkCommand) -> None:
        # rule GV-2's date checks came later: histories from before them replay without
        self.process.rule_fidelity = workflow.patched("gv2-decision-dates-in-chain-order")
        # rule GV-2: one person never records two bodies' decisions, checked under the lock (issue 20)
        self.process.separation_of_duties = workflow.patched(SEPARATION_OF_DUTIES)

    def _check(self, command: FrameworkCommand) -> None:
        self.process.today = workflow.now().astimezone(LOCAL_TZ).date()  # rule GV-2: not in the future
        super()._check(command)

    async def _timer_fired(self, kind: str) -> None:
        # rule GV-1: a version superseded by a later yearly revision of its year never takes effect (added
        # later: histories from before it go straight to take_effect)
        if kind == "take_effect" and workflow.patched("gv1-superseded-version-never-takes-effect"):
            status = await run_activity(VERSION_STATUS, self.snap.proposal.proposal_id, str)
            if status == "superseded":
                await self._fire("supersede", SYSTEM_ACTOR, "a later yearly revision of the same year superseded it")
                return
        await super()._timer_fired(kind)

    @workflow.query
    def view(self) -> FrameworkView:
        return FrameworkView.model_validate(self._view_data(effective_at=self.snap.takes_effect_at()))

    async def _before(self, trigger: str, command: Any) -> dict[str, Any]:
        proposal, action = self.snap.proposal, action_of(command)
        if isinstance(action, CommitteeDecide):
            # rule GV-2: samverkansnämnd it decides the assignment, its service catalogue and prices
            version = FrameworkVersion(
                id=proposal.proposal_id, title=proposal.title, kind=proposal.kind,
                effective_from=proposal.effective_from, decided_on=action.decided_on,
                minutes_ref=action.minutes_ref, parameters=proposal.parameters, services=proposal.services)
            await run_activity(RECORD_FRAMEWORK_VERSION, RecordFrameworkVersion(
                version=version, prices=proposal.prices, equipment_prices=proposal.equipment_prices,
                supersedes=proposal.supersedes,
                workflow_id=workflow.info().workflow_id, at=workflow.now()))
        elif trigger == "take_effect":
            written = await run_activity(ACTIVATE_FRAMEWORK_VERSION, ActivateFrameworkVersion(
                version_id=proposal.proposal_id, at=workflow.now()), list[str])
            return {"renewal_policies": written}
        return {}

    async def _after(self, previous: str, trigger: str, current: str) -> None:
        snap = self.snap
        if trigger == "supersede":
            await self._notify("framework_superseded", "it:all", f"{snap.proposal.title} superseded",
                               "A later yearly revision of the same year replaced it; it never took effect (GV-1).")
            return
        if trigger in ("revise", "withdraw", "take_effect"):
            if trigger == "take_effect":
                await self._notify("framework_in_force", "it:all", f"{snap.proposal.title} in force",
                                   f"From {snap.proposal.effective_from.isoformat()} (rule GV-1).")
                # rule EQ-5: devices already running take the new renewal periods and re-arm their timers
                await run_activity(REARM_RENEWALS, RearmRequest(
                    periods=[RenewalPeriodUpdate(category=p.category, municipality=p.municipality,
                                                 renewal_months=p.renewal_months)
                             for p in snap.proposal.parameters.renewal_periods],
                    actor=SYSTEM_ACTOR, reason=f"framework version {snap.proposal.proposal_id} in force"))
            return
        decision = snap.decisions[-1]
        await run_activity(RECORD_DECISION, RecordDecision(
            workflow_id=workflow.info().workflow_id, proposal_id=snap.proposal.proposal_id, seq=len(snap.log),
            record=decision))
        if current == previous:  # one kommunstyrelse approved, the other has yet to decide
            return
        if current == IN_PREPARATION:
            await self._tell_bodies(f"{snap.proposal.title} sent back by {decision.body}",
                                    f"Reason: {decision.reason}. Revise and prepare it again (rule GV-2).")
        elif current == DECIDED:
            await self._notify("framework_decided", "it:all", f"{snap.proposal.title} decided",
                               f"Samverkansnämnd it decided it ({decision.minutes_ref}); in force from "
                               f"{snap.proposal.effective_from.isoformat()}.")
        else:
            await self._tell_bodies(f"Framework proposal {snap.proposal.title} for decision")

    async def _tell_bodies(self, subject: str, body: str | None = None) -> None:
        for recipient in BODY_INBOX.get(self.snap.state, []):
            await self._notify("framework_proposal", recipient, subject,
                               body or "Decide and record the date and the minutes reference (rule GV-2).")


@workflow.defn(name="FrameworkYearlyRound")
class FrameworkYearlyRoundWorkflow:
    """Started by the yearly Schedule: opens the coming year's revision of the framework (GV-1)."""

    @workflow.run
    async def run(self, start: RoundStart) -> str:
        year = (start.year or local_year(workflow.now())) + 1
        proposal = await run_activity(DRAFT_YEARLY_PROPOSAL, YearlyDraftRequest(year=year),
                                      FrameworkProposal)
        workflow_id = framework_workflow_id(proposal.proposal_id)
        await start_child_once(FrameworkChangeWorkflow.run, FrameworkStart(proposal=proposal), workflow_id)
        await archive_run("closed")  # issue 11
        return workflow_id


CASE_INBOX = {
    AT_FORUM: "group:it-forum-utveckling",
    WITH_STRATEGIST: "role:it-strateg",
    D_AT_STEERING_GROUP: "group:it-styrgrupp",
}


@workflow.defn(name="DevelopmentCase")
class DevelopmentCaseWorkflow(RecordedProcess):
    """A development case routed by kind and size (rules GV-3, GV-4)."""

    definition = DEVELOPMENT_CASE

    @workflow.init
    def __init__(self, start: DevelopmentCaseStart) -> None:
        self._setup(start, lambda: DevelopmentCaseSnapshot(
            request=start.request, threshold=start.threshold, large=is_large(start.request, start.threshold),
        ), DevelopmentCaseProcess)

    @workflow.run
    async def run(self, start: DevelopmentCaseStart) -> DevelopmentCaseView:
        return await self._run()

    def _opened(self) -> bool:
        return self.snap.state != REGISTERED

    async def _open(self) -> None:
        route = initial_route(self.snap.request, self.snap.threshold)
        await self._fire(route, self.start.started_by, f"{self.snap.request.kind.value}, "
                         f"{'large' if self.snap.large else 'small'}")

    def _subject(self) -> str:
        return self.snap.request.case_id

    apply = command_update(DevelopmentCaseCommand, DevelopmentCaseView)
    ready = ready_update(DevelopmentCaseView)

    @workflow.query
    def view(self) -> DevelopmentCaseView:
        return DevelopmentCaseView.model_validate(self._view_data())

    async def _after(self, previous: str, trigger: str, current: str) -> None:
        request = self.snap.request
        if current in CASE_INBOX:
            await self._notify("development_case", CASE_INBOX[current], f"Development case {request.case_id}",
                               f"{request.title}: estimated SEK {request.estimated_cost}; decide (rule "
                               f"{self.definition.rule_for(trigger, previous)}).")
        elif current in (D_APPROVED, REJECTED):
            await self._notify("development_case", f"unit:{request.unit_id}",
                               f"Development case {request.case_id} {current}",
                               f"{request.title}: {current} by {self.snap.decided_by}"
                               + (f", priority {self.snap.priority}" if self.snap.priority else "") + ".")

