"""The floor of bench/billing_run.py: an empty workflow with the BillingRun's activities in the same shape
(collect, one per unit 8 at a time, publish) doing nothing: what the Temporal round trips alone cost.
A module of its own so the sandbox imports nothing else."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow

CONCURRENT_UNITS = 8  # as workflows/billing.py


@activity.defn(name="bench.noop")
def noop(step: str) -> str:
    return step


@workflow.defn(name="BillingRunFloor")
class FloorWorkflow:
    @workflow.run
    async def run(self, units: int) -> int:
        timeout = timedelta(minutes=1)
        await workflow.execute_activity(noop, "collect", start_to_close_timeout=timeout)
        for first in range(0, units, CONCURRENT_UNITS):
            await asyncio.gather(*(workflow.execute_activity(noop, f"unit-{i}", start_to_close_timeout=timeout)
                                   for i in range(first, min(units, first + CONCURRENT_UNITS))))
        await workflow.execute_activity(noop, "publish", start_to_close_timeout=timeout)
        return units
