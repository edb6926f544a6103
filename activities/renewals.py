"""Re-arm the renewal timers of running devices when a renewal period changes (rule EQ-5): from the
API (`PUT /renewal-policies/...`) and when a framework version takes effect (GV-1, GV-2)."""
from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from db.models import Device
from activities.equipment import EquipmentActivities
from domain.equipment import (
    ACTIVE_STATES,
    Notification,
    RearmRequest,
    RenewalPeriodChange,
    RenewalPeriodUpdate,
    ReplacementModelRequest,
)

# A renewal period can still change before delivery and while the device is in use.
REARMABLE_STATES = ("ordered", "called_off", "delivered", *ACTIVE_STATES)
# Updates in flight at once when a period changes for a whole fleet (bench/renewal_wave.py, issue 15).
REARM_CONCURRENCY = 32


async def rearm_running_devices(client: Client, sessions: sessionmaker[Session], period: RenewalPeriodUpdate,
                                actor: str, reason: str) -> list[str]:
    """Send the new period to every running device of the category in the municipality whose period
    differs; returns the order numbers that took it. A device that moved on meanwhile is skipped."""
    from workflows.equipment import DeviceLifecycleWorkflow

    with sessions() as s:
        devices = s.execute(select(Device.order_number, Device.workflow_id).where(
            Device.category == period.category.value, Device.municipality == period.municipality,
            Device.state.in_(REARMABLE_STATES),
            Device.renewal_months.is_distinct_from(period.renewal_months))).all()
    change = RenewalPeriodChange(actor=actor, reason=reason, renewal_months=period.renewal_months)
    gate = asyncio.Semaphore(REARM_CONCURRENCY)

    async def rearm(order_number: str, workflow_id: str) -> str | None:
        async with gate:
            try:
                await client.get_workflow_handle(workflow_id).execute_update(
                    DeviceLifecycleWorkflow.change_renewal_period, change)
                return order_number
            except (WorkflowUpdateFailedError, RPCError):
                return None

    return [n for n in await asyncio.gather(*(rearm(*device) for device in devices)) if n is not None]


# In the renewal notice the workflow sends along, this stands for the model the activity chooses.
CHOSEN_MODEL = "{model_code}"


class RenewalActivities:
    """Holds the Temporal client: `rearm_renewals` talks to other workflows."""

    def __init__(self, client: Client, sessions: sessionmaker[Session]) -> None:
        self.client = client
        self.sessions = sessions
        self.equipment = EquipmentActivities(sessions)

    def all(self) -> list:
        return [self.rearm_renewals, self.order_replacement]

    @activity.defn(name="renewals.order_replacement")
    def order_replacement(self, request: ReplacementModelRequest, notice: Notification) -> str:
        """Rule EQ-5, the renewal wave's one local step on the renewed device (was two: `replacement_model`,
        then `notify` after the child started): choose the replacement's model, then queue the unit's notice
        naming it (idempotent by the notice's key). NoModel is raised before anything is written."""
        model_code = self.equipment.replacement_model(request)
        self.equipment.notify(notice.model_copy(update={
            "subject": notice.subject.replace(CHOSEN_MODEL, model_code),
            "body": notice.body.replace(CHOSEN_MODEL, model_code)}))
        return model_code

    @activity.defn(name="equipment.rearm_renewals")
    async def rearm_renewals(self, request: RearmRequest) -> list[str]:
        """Idempotent: a retry finds the devices already updated (their period no longer differs)."""
        updated: list[str] = []
        for period in request.periods:
            updated += await rearm_running_devices(self.client, self.sessions, period, request.actor, request.reason)
        return updated
