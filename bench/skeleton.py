"""The skeleton of a device's order + delivery (bench/front_door.py): the same Updates, the same local and
remote activity calls in the same order, the renewal timer, the same retry policy — activities that do
nothing. What the Temporal server and the SDK cost on their own."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from workflows.base import ACTIVITY_TIMEOUT, RETRY

RENEWAL = timedelta(days=48 * 30)


@activity.defn(name="skeleton.step")
async def step(arg: str) -> str:
    return arg


async def local(arg: str) -> str:
    return await workflow.execute_local_activity("skeleton.step", arg, start_to_close_timeout=ACTIVITY_TIMEOUT,
                                                 retry_policy=RETRY, result_type=str)


async def remote(arg: str) -> str:
    return await workflow.execute_activity("skeleton.step", arg, start_to_close_timeout=ACTIVITY_TIMEOUT,
                                           retry_policy=RETRY, result_type=str)


@workflow.defn(name="BenchSkeleton")
class SkeletonWorkflow:
    @workflow.init
    def __init__(self, number: str) -> None:
        self.number, self.state, self.ready, self.rearm = number, "ordered", False, False
        self.lock = asyncio.Lock()

    @workflow.run
    async def run(self, number: str) -> str:
        async with self.lock:  # register, mirror the order, call off (remote), mirror the call-off
            await local("register")
            await local("mirror:order")
            await remote("call_off")
            await local("mirror:call_off")
            self.state, self.ready = "called_off", True
        while self.state != "done":  # the renewal timer, re-armed on every move
            self.rearm = False
            timeout = RENEWAL if self.state == "in_use" else None
            try:
                await workflow.wait_condition(lambda: self.rearm, timeout=timeout)
            except asyncio.TimeoutError:
                self.state = "renewal_due"
        return self.state

    @workflow.update
    async def registered(self) -> str:
        await workflow.wait_condition(lambda: self.ready)
        return self.state

    @workflow.update
    async def deliver(self, serial_number: str) -> str:
        async with self.lock:  # mirror the delivery, activate: mirror, start charging, notify
            await local("mirror:deliver")
            await local("mirror:activate")
            await local("cost_bearer")
            await local("notify")
            self.state, self.rearm = "in_use", True
        return self.state

    @deliver.validator
    def _validate(self, serial_number: str) -> None:
        if self.state != "called_off":
            raise ValueError(f"deliver is not allowed in state {self.state!r}")


# --- the skeleton of a yearly round (issue 15): a parent fanning out one child per agreement -------------
@workflow.defn(name="BenchSkeletonRevision")
class SkeletonRevisionWorkflow:
    """What an agreement revision does until it waits for its meeting: read the agreement (remote), mirror the
    move and notify (local), then wait."""

    @workflow.run
    async def run(self, agreement_id: str) -> str:
        await remote("agreements.current")
        await local("mirror:convene")
        await local("notify")
        await workflow.wait_condition(lambda: False, timeout=timedelta(days=365))
        return agreement_id


@workflow.defn(name="BenchSkeletonRound")
class SkeletonRoundWorkflow:
    """The round's shape: one candidate query (remote), then one child started after the other."""

    @workflow.run
    async def run(self, count: int) -> int:
        await remote("agreements.revision_candidates")
        for i in range(count):
            await workflow.start_child_workflow(
                SkeletonRevisionWorkflow.run, f"A{i}", id=f"{workflow.info().workflow_id}-{i}",
                parent_close_policy=workflow.ParentClosePolicy.ABANDON)
        return count
