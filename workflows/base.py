"""What every Ramflow process workflow shares: activities called by name with one retry policy, and
`ProcessWorkflow` — a lock around transitions, Update validators asking the state machine, timers
recomputed in the main loop, the audit log, notifications and continue-as-new."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any, Callable, ClassVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import search_attributes

with workflow.unsafe.imports_passed_through():
    from domain.audit import ArchiveRequest, business_key_of
    from domain.equipment import Notification
    from domain.errors import BUSINESS_ERRORS  # the one table of business errors (also the API's)
    from domain.process import ProcessDefinition, TransitionRecord

SYSTEM_ACTOR = "ramflow"
# Transient failures (database busy, an external system down) are retried with backoff.
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=list(BUSINESS_ERRORS),
)
ACTIVITY_TIMEOUT = timedelta(seconds=60)
# Steps that only write Ramflow's own database run as local activities: no round trip through the server
# per step (bench/equipment_throughput.py: 2.6x faster one device at a time). Calls to external systems
# (procurement, MDM, payroll, erasure vendor) stay ordinary activities with server-side retries.
LOCAL_STEPS = frozenset({
    "equipment.register_order", "equipment.mirror_transition", "equipment.change_cost_bearer",
    "equipment.notify", "equipment.replacement_model",
    "tickets.register", "tickets.mirror_transition", "tickets.charge",
    "service_requests.register", "service_requests.mirror_transition",
})


async def run_activity(name: str, arg: Any, result_type: type | None = None) -> Any:
    """Run an activity by name; a business refusal surfaces as its own ApplicationError (type, message)."""
    execute = workflow.execute_local_activity if name in LOCAL_STEPS else workflow.execute_activity
    try:
        return await execute(name, arg, result_type=result_type, start_to_close_timeout=ACTIVITY_TIMEOUT,
                             retry_policy=RETRY)
    except ActivityError as error:
        cause = error.cause
        if isinstance(cause, ApplicationError) and cause.type in BUSINESS_ERRORS:
            raise ApplicationError(cause.message, type=cause.type, non_retryable=True) from error
        raise


async def archive_run(reason: str) -> None:
    """Issue 11: the run's event history into Ramflow's archive, beyond the namespace's retention; the
    last step of every workflow and the one before continue-as-new. Added after processes were
    running: their histories replay without the step."""
    if workflow.patched("audit-archive-history"):
        info = workflow.info()
        await run_activity("audit.archive_history", ArchiveRequest(
            workflow_id=info.workflow_id, run_id=info.run_id, workflow_type=info.workflow_type, reason=reason))


def refuse(message: str) -> ApplicationError:
    return ApplicationError(message, type="InvalidCommand", non_retryable=True)


def illegal(message: str) -> ApplicationError:
    """The current state does not allow the command (the API answers 409)."""
    return ApplicationError(message, type="IllegalTransition", non_retryable=True)


class ProcessWorkflow:
    """Shared mechanics. Subclasses set `definition`, call `_setup(snapshot, process)` in their
    @workflow.init, and override `_mirror`, `_next_timer`, `_before`, `_after` (and, where timers
    are not moves of the machine, `_timer_fired`; where due timers must be caught up before a
    command, `_catch_up`)."""

    definition: ClassVar[ProcessDefinition]
    timer_reasons: ClassVar[dict[str, str]] = {}

    def _setup(self, snap: Any, process: Any) -> None:
        self.snap, self.process = snap, process
        self.lock = asyncio.Lock()  # one transition at a time: handlers await activities
        self.rearm = False

    def _next_timer(self) -> tuple[str, datetime] | None:
        return None

    async def _before(self, trigger: str, command: Any) -> dict[str, Any]:
        """Side effects that can refuse: run before the move, so the state is unchanged if they do.
        Returns the context `record_data` needs."""
        return {}

    async def _after(self, previous: str, trigger: str, current: str) -> None:
        """The dispatcher over (previous, trigger, next)."""

    async def _mirror(self, record: TransitionRecord) -> None:
        """Write the transition and the process's row to the database."""
        raise NotImplementedError

    # --- main loop: durable timers -------------------------------------------------------------
    async def _loop(self, carry: Callable[[], Any]) -> None:
        while self.snap.state not in self.definition.final:
            due = self._next_timer()
            self.rearm = False
            if due is not None and due[1] <= workflow.now():
                await self._fire_timer(due)
                continue
            timeout = None if due is None else due[1] - workflow.now()
            try:
                await workflow.wait_condition(
                    lambda: self.rearm or workflow.info().is_continue_as_new_suggested(), timeout=timeout
                )
            except asyncio.TimeoutError:
                await self._fire_timer(due)
            if workflow.info().is_continue_as_new_suggested():
                # Wait for the handlers (they hold the lock) rather than loop: with a suggestion pending the
                # wait above returns at once, and looping while a handler held the lock never yielded
                # (TMPRL1101 deadlock). No history completed that path, so this replays as before.
                await workflow.wait_condition(workflow.all_handlers_finished)
                await archive_run("continued_as_new")
                workflow.continue_as_new(carry())
        await workflow.wait_condition(workflow.all_handlers_finished)
        await archive_run("closed")

    async def _fire_timer(self, due: tuple[str, datetime] | None) -> None:
        async with self.lock:
            if due is None or self._next_timer() != due:  # a handler moved the process meanwhile
                return
            await self._timer_fired(due[0])

    async def _timer_fired(self, kind: str) -> None:
        """A due timer, under the lock: by default the machine's system move of that name."""
        await self._fire(kind, SYSTEM_ACTOR, self.timer_reasons.get(kind))

    # --- commands ---------------------------------------------------------------------------------
    def _check(self, command: Any) -> None:
        refusal = self.process.refusal(command.action.event, command)
        if refusal is not None:
            raise illegal(refusal)

    async def _catch_up(self) -> None:
        """Before a command, under the lock: work whose time has come but whose timer has not run yet."""

    async def _command(self, command: Any) -> None:
        async with self.lock:
            await self._catch_up()
            self._check(command)  # the state may have moved while this update waited for the lock
            action = command.action
            await self._fire(action.event, command.actor, command.reason or getattr(action, "reason", None), command)

    async def _fire(self, trigger: str, actor: str, reason: str | None, command: Any = None,
                    details: dict[str, str] | None = None) -> None:
        previous = self.snap.state
        context = await self._before(trigger, command)
        recorded = self.process.apply(trigger, command, workflow.now(), context)
        await self._record(trigger, previous, actor, reason, self.process.rule_for(trigger, previous),
                           {**recorded, **(details or {})})
        await self._after(previous, trigger, self.snap.state)
        self.rearm = True  # the next timer depends on the new state

    async def _record(self, event: str, previous: str, actor: str, reason: str | None, rule: str,
                      details: dict[str, str]) -> None:
        snap = self.snap
        record = TransitionRecord(seq=len(snap.log) + 1, at=workflow.now(), event=event, from_state=previous,
                                  to_state=snap.state, actor=actor, reason=reason, rule=rule, details=details)
        snap.log.append(record)
        await self._mirror(record)
        # Issue 11: what auditors search by, after every move (added behind a patch, as above).
        if workflow.patched("audit-search-attributes"):
            info = workflow.info()
            workflow.upsert_search_attributes(search_attributes.updates(
                info.workflow_type, business_key_of(info.workflow_id), snap))

    def _key(self, step: str) -> str:
        return f"{workflow.info().workflow_id}:{len(self.snap.log)}:{step}"

    async def _notify(self, topic: str, recipient: str, subject: str, body: str) -> None:
        await run_activity("equipment.notify", Notification(
            key=self._key(f"notify:{topic}:{recipient}"), topic=topic, recipient=recipient, subject=subject[:200],
            body=body, workflow_id=workflow.info().workflow_id, at=workflow.now()))
