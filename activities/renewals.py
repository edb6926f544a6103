"""Re-arm the renewal timers of running devices when a renewal period changes (rule EQ-5): for the API
(`PUT /renewal-policies/...`, through workflows/renewals.py) and when a framework version takes effect
(GV-1, GV-2)."""
from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from db.equipment_queries import rearm_each, rearmable_devices, renewal_months_now
from domain.renewals import RearmRequest, RenewalPeriodChange
from workflows.renewals import REARM_RENEWALS

# Devices per heartbeat: a retried attempt resumes after the last chunk it reported.
REARM_CHUNK = 256


class RenewalActivities:
    """Holds the Temporal client: this activity talks to other workflows."""

    def __init__(self, client: Client, sessions: sessionmaker[Session]) -> None:
        self.client = client
        self.sessions = sessions

    @REARM_RENEWALS.defn
    async def rearm_renewals(self, request: RearmRequest) -> list[str]:
        """Send each period to every running device of its category in its municipality (one already on it
        takes it as a no-op, so a repeat converges and records nothing twice); the order numbers that now run
        on it. A device that moved on meanwhile is skipped. Heartbeats (period, chunk, updated so far) after
        each chunk and resumes from them when retried."""
        from workflows.equipment import DeviceLifecycleWorkflow

        details = activity.info().heartbeat_details
        first_period, first_chunk, updated = (int(details[0][0]), int(details[0][1]), list(details[0][2])) \
            if details else (0, 0, [])
        for index, period in enumerate(request.periods):
            if index < first_period:
                continue
            with self.sessions() as s:
                devices = rearmable_devices(s, period.category.value, period.municipality)
            for chunk in range(first_chunk if index == first_period else 0, -(-len(devices) // REARM_CHUNK)):
                with self.sessions() as s:  # the period in force now: a later change overtakes this one
                    months = renewal_months_now(s, period.category.value, period.municipality)
                change = RenewalPeriodChange(actor=request.actor, reason=request.reason, renewal_months=months)

                async def rearm(order_number: str, workflow_id: str) -> bool:
                    try:
                        await self.client.get_workflow_handle(workflow_id).execute_update(
                            DeviceLifecycleWorkflow.change_renewal_period, change)
                        return True
                    except (WorkflowUpdateFailedError, RPCError):  # a device that moved on meanwhile
                        return False

                updated += await rearm_each(devices[chunk * REARM_CHUNK:(chunk + 1) * REARM_CHUNK], rearm)
                activity.heartbeat([index, chunk + 1, updated])
        return updated
