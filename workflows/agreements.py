"""Application agreements: drawing up and the yearly revision (AG-1 … AG-6), the scheduled revision
round, new services (AG-7) and cloud moves (AG-8). `ProcessWorkflow` holds the mechanics the AG/GV
workflows share (the DeviceLifecycle pattern: a lock, validators asking the machine, timers
recomputed in the main loop, activities called by name, continue-as-new)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow

from workflows.base import (
    SEPARATION_OF_DUTIES,
    ProcessWorkflow,
    Step,
    archive_run,
    command_update,
    ready_update,
    refuse,
    run_activity,
    start_child_once,
)

with workflow.unsafe.imports_passed_through():
    from domain.agreements import (
        AGREEMENT,
        APPROVED,
        CONVENED,
        STARTED,
        ActivateVersion,
        AgreementCommand,
        AgreementContent,
        AgreementProcess,
        AgreementProcessSnapshot,
        AgreementProcessView,
        AgreementStart,
        ApplicationKind,
        CurrentAgreement,
        CurrentAgreementRequest,
        RegisterAgreement,
        RevisionCandidates,
        Variant,
        agreement_workflow_id,
    )
    from domain.cloud_moves import (
        CLOUD_MOVE,
        CloudMoveCommand,
        CloudMoveProcess,
        CloudMoveSnapshot,
        CloudMoveStart,
        CloudMoveView,
    )
    from domain.common import SYSTEM_ACTOR, ProcessMirror, RoundStart, local_year, start_of_year
    from domain.costing import CostBreakdown, CostLine, MissingPrice, PriceList, PriceListRequest, compute_cost
    from domain.process import TransitionRecord, action_of
    from domain.service_introduction import (
        PRICED,
        SERVICE,
        Describe,
        ServiceCommand,
        ServiceDefinition,
        ServiceDefinitionUpsert,
        ServiceProcess,
        ServiceSnapshot,
        ServiceStart,
        ServiceView,
        SetPrice,
    )

# The activities this process calls (implemented in activities/; `local`: Ramflow's own database only).
PRICE_LIST = Step("agreements.price_list")
REGISTER_AGREEMENT = Step("agreements.register")
CURRENT_AGREEMENT = Step("agreements.current")
ACTIVATE_VERSION = Step("agreements.activate_version")
REVISION_CANDIDATES = Step("agreements.revision_candidates")
SERVICE_DEFINITION = Step("agreements.service_definition")
UPSERT_SERVICE_DEFINITION = Step("agreements.upsert_service_definition")
MIRROR_PROCESS = Step("governance.mirror")


class RecordedProcess(ProcessWorkflow):
    """AG/GV processes keep one generic row per process (state, subject, data) plus the audit log."""

    def _subject(self) -> str:
        raise NotImplementedError

    async def _mirror(self, record: TransitionRecord) -> None:
        snap = self.snap
        await run_activity(MIRROR_PROCESS, ProcessMirror(
            workflow_id=workflow.info().workflow_id, process=self.definition.name, subject=self._subject(),
            state=snap.state, record=record, data=snap.model_dump(mode="json", exclude={"log"})))


class AgreementStarter(RecordedProcess):
    """Processes that draw up an agreement as a child (AG-7, AG-8)."""

    async def _start_agreement(self, content: AgreementContent, started_by: str) -> str:
        """Rules AG-7, AG-8: an agreement is drawn up as a child that outlives this process."""
        workflow_id = agreement_workflow_id(content.agreement_id)
        start = AgreementStart(agreement_id=content.agreement_id, content=content, started_by=started_by)
        if not await start_child_once(AgreementWorkflow.run, start, workflow_id):
            workflow.logger.info("agreement %s already being drawn up", content.agreement_id)
        return workflow_id


async def costed(lines: list[CostLine], year: int) -> CostBreakdown:
    """Rule AG-3 with the price list of `year` (AG-5); a missing price refuses the command."""
    prices = await run_activity(PRICE_LIST, PriceListRequest(year=year), PriceList)
    try:
        return compute_cost(lines, prices)
    except MissingPrice as error:
        raise refuse(str(error)) from error


# --- the agreement: drawing up (AG-1) and the yearly revision (AG-4) -------------------------
@workflow.defn(name="ApplicationAgreement")
class AgreementWorkflow(RecordedProcess):
    """A new agreement drawn up with the system owner, or the yearly revision of one; the approved
    version takes effect on 1 January (rules AG-1 … AG-6)."""

    definition = AGREEMENT
    timer_reasons = {
        "remind": "the revision meeting has not been recorded yet",
        "take_effect": "1 January: the approved version takes effect",
    }

    @workflow.init
    def __init__(self, start: AgreementStart) -> None:
        self._setup(start, lambda: AgreementProcessSnapshot(
            agreement_id=start.agreement_id, purpose=start.purpose, for_year=start.for_year, content=start.content,
        ), AgreementProcess)

    @workflow.run
    async def run(self, start: AgreementStart) -> AgreementProcessView:
        return await self._run()

    def _opened(self) -> bool:
        return self.snap.state != STARTED

    async def _open(self) -> None:
        snap, now = self.snap, workflow.now()
        if snap.for_year is None:  # rule AG-6: a new application is charged from the coming year
            snap.for_year = local_year(now) + 1
        if snap.purpose == "new":
            if snap.content is None:
                raise refuse("content: a new agreement needs its content (rule AG-2)")
            await run_activity(REGISTER_AGREEMENT, RegisterAgreement(
                content=snap.content, workflow_id=workflow.info().workflow_id, at=now))
            await self._fire("draw_up", self.start.started_by, "IT draws up the agreement with the system owner")
        else:
            current = await run_activity(CURRENT_AGREEMENT, CurrentAgreementRequest(agreement_id=snap.agreement_id),
                                         CurrentAgreement)
            snap.content, snap.base_version = current.content, current.version
            await self._fire("convene", SYSTEM_ACTOR, f"yearly revision for {snap.for_year}")

    def _subject(self) -> str:
        return self.snap.agreement_id

    def _next_timer(self) -> tuple[str, datetime] | None:
        snap = self.snap
        if snap.state == CONVENED:
            due = snap.next_reminder_at(self.start.reminder_weeks)
            return ("remind", due) if due else None  # rule AG-4
        if snap.state == APPROVED:
            return ("take_effect", start_of_year(snap.for_year))  # rules AG-4, AG-6
        return None

    # --- API ------------------------------------------------------------------------------------
    apply = command_update(AgreementCommand, AgreementProcessView)
    ready = ready_update(AgreementProcessView)  # once the process is drawn up or convened

    def _on_command(self, command: AgreementCommand) -> None:
        # rule AG-4: one person never approves for both parties, checked under the lock (issue 20); histories
        # from before it replay without the check
        self.process.separation_of_duties = workflow.patched(SEPARATION_OF_DUTIES)

    @workflow.query
    def view(self) -> AgreementProcessView:
        snap = self.snap
        return AgreementProcessView.model_validate(self._view_data(
            reminder_due_at=snap.next_reminder_at(self.start.reminder_weeks), effective_at=snap.takes_effect_at(),
            sketch_mermaid=snap.content.sketch.mermaid() if snap.content and snap.content.sketch else None))

    # --- transitions and their side effects ---------------------------------------------------------
    async def _before(self, trigger: str, command: Any) -> dict[str, Any]:
        snap, action = self.snap, action_of(command)
        assert snap.content is not None and snap.for_year is not None
        if trigger in ("draw_up", "record_meeting", "revise"):
            content = snap.content
            changes = getattr(action, "changes", None)
            if changes is not None:
                try:
                    content = changes.applied_to(content)
                except ValueError as error:
                    raise refuse(f"changes: {error}") from error
            # rules AG-3, AG-5: costs recomputed for the coming year
            return {"content": content, "proposal": await costed(content.cost_lines, snap.for_year)}
        if trigger == "take_effect":
            final = await costed(snap.content.cost_lines, snap.for_year)  # that year's prices, now decided (AG-5)
            version = await run_activity(ACTIVATE_VERSION, ActivateVersion(
                agreement_id=snap.agreement_id, workflow_id=workflow.info().workflow_id, for_year=snap.for_year,
                content=snap.content, cost=final, approvals=snap.approvals, at=workflow.now()), int)
            return {"final": final, "version": version}
        return {}

    async def _after(self, previous: str, trigger: str, current: str) -> None:
        snap = self.snap
        assert snap.content is not None
        name, year = snap.content.application, snap.for_year
        owner, it = f"employee:{snap.content.system_owner_ref}", "it:agreements"
        if trigger == "convene":  # rule AG-4: IT convenes the unit
            for recipient in (owner, f"unit:{snap.content.unit_id}"):
                await self._notify("agreement_meeting", recipient, f"Yearly revision of {name}",
                                   f"IT convenes the yearly revision meeting of the agreement for {name} "
                                   f"(costs for {year}). Propose a time to IT.",
                                   {"application": name, "year": str(year)})
        elif trigger == "remind":
            for recipient in (it, owner):
                await self._notify("agreement_reminder", recipient, f"Reminder: revision meeting for {name}",
                                   f"The revision meeting for {name} ({year}) has not been recorded yet "
                                   f"(reminder {snap.reminders_sent}).")
        elif current == "proposed" and trigger != "approve":
            assert snap.proposal is not None
            await self._notify("agreement_proposal", owner, f"Approve the agreement for {name} ({year})",
                               f"Cost for {year}: SEK {snap.proposal.total}"
                               f"{' (provisional prices)' if snap.proposal.provisional else ''}. "
                               f"IT and the system owner both approve.")
        elif trigger == "reject":
            await self._notify("agreement_rejected", it, f"Agreement for {name} sent back",
                               f"Reason: {snap.last_rejection}")
        elif current == APPROVED:
            await self._notify("agreement_approved", owner, f"Agreement for {name} approved",
                               f"Takes effect on {start_of_year(year).date().isoformat()}.")
        elif trigger == "take_effect":
            await self._notify("agreement_effective", f"unit:{snap.content.unit_id}", f"{name}: version in force",
                               f"Version {snap.effective_version} is in force from "
                               f"{start_of_year(year).date().isoformat()}: SEK {snap.proposal.total} per year.")


# --- the yearly round: one schedule, fanned out per agreement (AG-4) --------------------------
@workflow.defn(name="AgreementRevisionRound")
class AgreementRevisionRoundWorkflow:
    """Started by the yearly Schedule: one revision child per active agreement, with an ID per
    agreement and year, so a repeated round starts nothing twice."""

    @workflow.run
    async def run(self, start: RoundStart) -> list[str]:
        for_year = (start.year or local_year(workflow.now())) + 1
        ids = await run_activity(REVISION_CANDIDATES, RevisionCandidates(for_year=for_year), list[str])
        started = []
        for agreement_id in ids:
            workflow_id = agreement_workflow_id(agreement_id, "revision", for_year)
            revision = AgreementStart(agreement_id=agreement_id, purpose="revision", for_year=for_year,
                                      reminder_weeks=start.reminder_weeks)
            if await start_child_once(AgreementWorkflow.run, revision, workflow_id):
                started.append(workflow_id)
        await archive_run("closed")  # issue 11
        return started


# --- new or changed services (AG-7) -----------------------------------------------------------
@workflow.defn(name="ServiceIntroduction")
class ServiceIntroductionWorkflow(AgreementStarter):
    definition = SERVICE

    @workflow.init
    def __init__(self, start: ServiceStart) -> None:
        self._setup(start, lambda: ServiceSnapshot(delivery=start.delivery), ServiceProcess)

    @workflow.run
    async def run(self, start: ServiceStart) -> ServiceView:
        return await self._run()

    def _opened(self) -> bool:
        return self.snap.state != "started"

    async def _open(self) -> None:
        known = await run_activity(SERVICE_DEFINITION, self.snap.delivery.service_code, ServiceDefinition | None)
        if known is not None and known.status in ("priced", "in_force"):
            self.snap.definition = known
            await self._fire("draw_up_agreement", self.start.started_by, "the service is already defined")
        else:
            await self._fire("needs_definition", SYSTEM_ACTOR, "no definition of the service yet")

    def _subject(self) -> str:
        return self.snap.delivery.service_code

    apply = command_update(ServiceCommand, ServiceView)
    ready = ready_update(ServiceView)

    @workflow.query
    def view(self) -> ServiceView:
        return ServiceView.model_validate(self._view_data())

    async def _before(self, trigger: str, command: Any) -> dict[str, Any]:
        snap, action = self.snap, action_of(command)
        delivery = snap.delivery
        definition = snap.definition or ServiceDefinition(code=delivery.service_code, name=delivery.name)
        if trigger == "needs_definition":
            definition = definition.model_copy(update={"status": "awaiting_description"})
        elif isinstance(action, Describe):
            definition = definition.model_copy(update={
                "description": action.description, "component": action.component, "unit": action.unit,
                "status": "awaiting_price"})
        elif isinstance(action, SetPrice):
            # rule AG-7: priced by tjänstefieringsgruppen for the coming year's framework and price list
            definition = definition.model_copy(update={
                "unit_price": action.unit_price, "for_year": local_year(workflow.now()) + 1, "status": "priced"})
        elif trigger == "draw_up_agreement":
            return {"agreement_workflow_id": await self._start_agreement(delivery.agreement, self.start.started_by)}
        else:
            return {}
        await run_activity(UPSERT_SERVICE_DEFINITION, ServiceDefinitionUpsert(
            definition=definition, workflow_id=workflow.info().workflow_id,
            actor=command.actor if command else SYSTEM_ACTOR, at=workflow.now()))
        return {"definition": definition}

    async def _after(self, previous: str, trigger: str, current: str) -> None:
        name = self.snap.delivery.name
        if trigger == "needs_definition":
            await self._notify("service_description", "it:service-definitions", f"Describe the service {name}",
                               "Write its description for the framework assignment (rule AG-7).")
        elif trigger == "describe":
            await self._notify("service_pricing", "group:tjanstefieringsgruppen", f"Price the service {name}",
                               "Tjänstefieringsgruppen sets its price for the coming year (rule AG-7).")
        elif current == PRICED:
            await self._fire("draw_up_agreement", SYSTEM_ACTOR, "priced: the agreement is drawn up")


# --- cloud move / SaaS (AG-8) -----------------------------------------------------------------
@workflow.defn(name="CloudMove")
class CloudMoveWorkflow(AgreementStarter):
    definition = CLOUD_MOVE

    @workflow.init
    def __init__(self, start: CloudMoveStart) -> None:
        self._setup(start, lambda: CloudMoveSnapshot(request=start.request), CloudMoveProcess)

    @workflow.run
    async def run(self, start: CloudMoveStart) -> CloudMoveView:
        return await self._run()

    async def _open(self) -> None:
        request = self.snap.request
        await self._record("open", self.snap.state, self.start.started_by,
                           f"move of {request.application} to {request.supplier}", "AG-8", {})
        await self._notify("cloud_move", f"unit:{request.unit_id}", f"Cloud move of {request.application}",
                           "IT and the unit consult: KLASSA classification, security analysis, legal "
                           "review and economic cost analysis come before the decision (rule AG-8).")

    def _subject(self) -> str:
        return self.snap.request.case_id

    apply = command_update(CloudMoveCommand, CloudMoveView)
    ready = ready_update(CloudMoveView)

    @workflow.query
    def view(self) -> CloudMoveView:
        return CloudMoveView.model_validate(self._view_data(missing=self.snap.missing_assessments()))

    def _agreement_content(self) -> AgreementContent:
        """Rule AG-8 (with AG-1): the internal costs of a cloud service, as a cost description."""
        request, analysis = self.snap.request, self.snap.cost_analysis
        assert analysis is not None
        return AgreementContent(
            agreement_id=request.agreement_id or f"AGR-{request.case_id}"[:40], application=request.application,
            application_kind=ApplicationKind.CLOUD_SERVICE, variant=Variant.LIGHT,
            description=f"Cloud service from {request.supplier}; internal costs after the move",
            unit_id=request.unit_id, system_owner_ref=request.system_owner_ref,
            cost_lines=analysis.internal_cost_lines)

    async def _before(self, trigger: str, command: Any) -> dict[str, Any]:
        action = action_of(command)
        if trigger == "record_cost_analysis" and action.internal_cost_lines:
            # rule AG-8: an externally hosted application can still cost internally (AG-3 prices)
            return {"internal": await costed(action.internal_cost_lines, local_year(workflow.now()) + 1)}
        if trigger == "draw_up_agreement":
            return {"agreement_workflow_id": await self._start_agreement(self._agreement_content(), SYSTEM_ACTOR)}
        return {}

    async def _after(self, previous: str, trigger: str, current: str) -> None:
        if trigger == "approve_move":
            if self.process.has_internal_costs():
                await self._fire("draw_up_agreement", SYSTEM_ACTOR, "internal costs remain (rule AG-8)")
            else:
                await self._fire("complete", SYSTEM_ACTOR, "no internal costs remain")
