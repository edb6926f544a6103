"""One workflow per premises project, from IT's invitation to the ready address (rules FC-1 … FC-4)."""
from __future__ import annotations

from temporalio import workflow

from workflows.base import ProcessWorkflow, Step, command_update, ready_update, run_activity

with workflow.unsafe.imports_passed_through():
    from domain.premises import (
        DESIGN_SUBMITTED,
        PREMISES,
        READY,
        REQUIREMENTS_RECORDED,
        PremisesCommand,
        PremisesMirror,
        PremisesProcess,
        PremisesSnapshot,
        PremisesStart,
        PremisesView,
    )
    from domain.process import TransitionRecord

# The activities this process calls (implemented in activities/; `local`: Ramflow's own database only).
MIRROR_PROJECT = Step("premises.mirror_transition")



@workflow.defn(name="PremisesProject")
class PremisesProjectWorkflow(ProcessWorkflow):
    """IT's demands on a property owner tracked step by step; no timers: every step is someone's act."""

    definition = PREMISES

    @workflow.init
    def __init__(self, start: PremisesStart) -> None:
        self._setup(start, lambda: PremisesSnapshot(project=start.project), PremisesProcess)

    @workflow.run
    async def run(self, start: PremisesStart) -> PremisesView:
        return await self._run()

    async def _open(self) -> None:
        project = self.snap.project
        # rule FC-1: IT is invited to the property owner's project meetings
        await self._record("invite", self.snap.state, self.start.started_by,
                           f"{project.kind} unit address: {project.site_name}", "FC-1",
                           {"document_ref": project.document_ref, "property_owner": project.property_owner,
                            "site_class": project.site_class.value})
        await self._notify("premises", "it:infrastruktur", f"Premises project {project.project_id}",
                           f"{project.property_owner} invites IT to the project meetings for "
                           f"{project.site_name}; record IT's requirements (rules FC-1 … FC-3).")

    apply = command_update(PremisesCommand, PremisesView)
    ready = ready_update(PremisesView)  # once the invitation is recorded

    @workflow.query
    def view(self) -> PremisesView:
        snap = self.snap
        return PremisesView(
            project=snap.project, workflow_id=workflow.info().workflow_id, state=snap.state,
            power_requirement=snap.power_requirement, power_requirement_met=snap.power_met,
            requirements=snap.requirements, design=snap.design, design_approved_by=snap.design_approved_by,
            racks_installed=snap.racks_installed, connection_delivered_at=snap.connection_delivered_at,
            reserve_power=snap.reserve_power, meetings=snap.meetings,
            allowed_events=self.process.allowed_events(), log=snap.log)

    async def _mirror(self, record: TransitionRecord) -> None:
        snap = self.snap
        await run_activity(MIRROR_PROJECT, PremisesMirror(
            workflow_id=workflow.info().workflow_id, project=snap.project, state=snap.state,
            power_requirement=snap.power_requirement, power_requirement_met=snap.power_met,
            connection_delivered=snap.connection_delivered_at is not None,
            requirements=snap.requirements.model_dump(mode="json") if snap.requirements else {}, record=record))

    async def _after(self, previous: str, trigger: str, current: str) -> None:
        project = self.snap.project
        owner = f"property-owner:{project.project_id}"
        if trigger == "record_requirements":  # rules FC-1 … FC-3: what the property owner must provide
            req = self.snap.requirements
            assert req is not None
            await self._notify("premises", owner, f"IT's requirements for {project.site_name}",
                               f"Fixed network connection (fibre and in-building network, paid by "
                               f"{project.municipality}); {req.rack_count} racks; reserve power: {req.power.value}. "
                               f"Send the cooling and fire-protection design for IT's approval (FC-4).")
        elif current == DESIGN_SUBMITTED:
            await self._notify("premises", "it:infrastruktur", f"{project.project_id}: design to approve",
                               "Approve or reject the cooling and fire-protection design (rule FC-4).")
        elif current == REQUIREMENTS_RECORDED and trigger == "reject_design":
            await self._notify("premises", owner, f"{project.project_id}: design rejected",
                               "IT did not approve the cooling and fire-protection design (rule FC-4).")
        elif trigger == "approve_design":
            await self._notify("premises", owner, f"{project.project_id}: design approved",
                               "Install the racks IT asked for (rule FC-2).")
        elif current == READY and project.unit_id:
            await self._notify("premises", f"unit:{project.unit_id}", f"{project.site_name} is ready for IT",
                               "The network connection is delivered and IT's equipment is mounted.")
