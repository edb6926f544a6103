"""A unit merge as a durable process (issue 22, part 3; rules EQ-7, EQ-8): `reorg-<id>` waits for the merge
date, then moves the closing unit's devices in use to the target unit a chunk per activity (each chunk
heartbeats and resumes; each device's move is its own `reassign` event, recorded in that device's log), then
its open tickets. Started by POST /units/{id}/merge-into/{target} (api/routes/reorganisations.py)."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from temporalio import workflow

from workflows.steps import Step, run_activity

with workflow.unsafe.imports_passed_through():
    from domain.reorganisations import REORG_CHUNK, ItemResult, MoveChunk, ReorgOutcome, ReorgStart

DEVICES_OF_UNIT = Step("reorg.devices_of_unit")
MOVE_DEVICES = Step("reorg.move_devices", timeout=timedelta(hours=1), heartbeat=timedelta(seconds=30))
MOVE_TICKETS = Step("reorg.move_tickets")
AGREEMENTS_OF_UNIT = Step("reorg.agreements_of_unit")


@workflow.defn(name="UnitReorganisation")
class UnitReorganisationWorkflow:
    @workflow.run
    async def run(self, start: ReorgStart) -> ReorgOutcome:
        begins = datetime.combine(start.on, time(), timezone.utc)
        if workflow.now() < begins:  # rule EQ-8: the cost bearer changes on the merge date, not before
            await workflow.sleep(begins - workflow.now())
        numbers: list[str] = await run_activity(DEVICES_OF_UNIT, start, list[str])
        outcome = ReorgOutcome()
        for first in range(0, len(numbers), REORG_CHUNK):
            chunk = MoveChunk(start=start, order_numbers=numbers[first:first + REORG_CHUNK])
            outcome.devices += await run_activity(MOVE_DEVICES, chunk, list[ItemResult])
        outcome.tickets = await run_activity(MOVE_TICKETS, start, list[ItemResult])
        outcome.agreements_to_revise = await run_activity(AGREEMENTS_OF_UNIT, start, list[str])
        return outcome
