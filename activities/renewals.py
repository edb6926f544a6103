"""Re-arm the renewal timers of running devices when a renewal period changes (rule EQ-5): from the
API (`PUT /renewal-policies/...`) and when a framework version takes effect (GV-1, GV-2)."""
from __future__ import annotations


from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from db.equipment_queries import rearm_each, rearmable_devices
from domain.renewals import RearmRequest, RenewalPeriodChange, RenewalPeriodUpdate
from workflows.equipment import REARM_RENEWALS


async def rearm_running_devices(client: Client, sessions: sessionmaker[Session], period: RenewalPeriodUpdate,
                                actor: str, reason: str) -> list[str]:
    """Send the new period to every running device of the category in the municipality (one already on it
    takes it as a no-op); returns the order numbers that now run on it. A device that moved on is skipped."""
    from workflows.equipment import DeviceLifecycleWorkflow

    with sessions() as s:
        devices = rearmable_devices(s, period.category.value, period.municipality)
    change = RenewalPeriodChange(actor=actor, reason=reason, renewal_months=period.renewal_months)

    async def rearm(order_number: str, workflow_id: str) -> bool:
        try:
            await client.get_workflow_handle(workflow_id).execute_update(
                DeviceLifecycleWorkflow.change_renewal_period, change)
            return True
        except (WorkflowUpdateFailedError, RPCError):  # a device that moved on meanwhile is skipped
            return False

    return await rearm_each(devices, rearm)

class RenewalActivities:
    """Holds the Temporal client: this activity talks to other workflows."""

    def __init__(self, client: Client, sessions: sessionmaker[Session]) -> None:
        self.client = client
        self.sessions = sessions

    @REARM_RENEWALS.defn
    async def rearm_renewals(self, request: RearmRequest) -> list[str]:
        """Idempotent: a retry finds the devices already updated (their period no longer differs)."""
        updated: list[str] = []
        for period in request.periods:
            updated += await rearm_running_devices(self.client, self.sessions, period, request.actor, request.reason)
        return updated
