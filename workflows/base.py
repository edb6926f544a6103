"""What every Ramflow process workflow shares: activities declared as `Step`s and called with one retry
policy, and `ProcessWorkflow` — a lock around transitions, Update validators asking the state machine,
timers recomputed in the main loop, the audit trail (workflows/audit.py), notifications
(workflows/notifications.py) and continue-as-new. Names no process."""
from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any, Callable, ClassVar

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from workflows import audit, notifications
from workflows.audit import archive_run
from workflows.steps import ACTIVITY_TIMEOUT, BUSINESS_ERRORS, RETRY, Step, run_activity

__all__ = ["ACTIVITY_TIMEOUT", "BUSINESS_ERRORS", "RETRY", "SEPARATION_OF_DUTIES", "ProcessWorkflow", "Step", "archive_run",
           "command_update", "illegal", "ready_update", "refuse", "run_activity", "start_child_once"]

with workflow.unsafe.imports_passed_through():
    from domain.common import LOCAL_TZ, SYSTEM_ACTOR
    from domain.process import ProcessDefinition, TransitionRecord


def refuse(message: str) -> ApplicationError:
    return ApplicationError(message, type="InvalidCommand", non_retryable=True)


def illegal(message: str) -> ApplicationError:
    """The current state does not allow the command (the API answers 409)."""
    return ApplicationError(message, type="IllegalTransition", non_retryable=True)


async def start_child_once(run: Any, arg: Any, workflow_id: str) -> bool:
    """Start a child that outlives this workflow, once per ID; False when that ID already ran."""
    try:
        await workflow.start_child_workflow(run, arg, id=workflow_id,
                                            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                                            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
    except WorkflowAlreadyStartedError:
        return False
    return True


COMMANDS_WAIT_FOR_REGISTRATION = "commands-wait-for-registration"
RECORDED_DATES_NOT_IN_THE_FUTURE = "recorded-dates-not-in-the-future"
# AG-4, GV-2: the workflow itself refuses one person acting for two parties or two bodies (issue 20)
SEPARATION_OF_DUTIES = "separation-of-duties-in-the-workflow"
# The dates of a meeting held or a decision taken: recorded once it has taken place, never ahead of it.
RECORDED_DATES = ("held_on", "decided_on")


def command_update(command_type: type, view_type: type) -> Any:
    """The `apply` Update of a process, typed for its command and view (the payload converter and the
    API's client read these types): the validator asks the machine (`_validate`), the handler runs the
    command under the lock (`_command`) after `_on_command` (where a process asks `workflow.patched`)."""

    async def apply(self: ProcessWorkflow, command: Any) -> Any:
        self._on_command(command)
        # commands from before the date check replay as they ran
        self.checks_recorded_dates = workflow.patched(RECORDED_DATES_NOT_IN_THE_FUTURE)
        if not self.is_registered and workflow.patched(COMMANDS_WAIT_FOR_REGISTRATION):
            # Accepted while the process still took its opening steps (a child another process just started,
            # e.g. a renewal's replacement being called off): checked once they are done, so the event is
            # judged in the state a caller reading the parent's answer expects, never in a passing one.
            await workflow.wait_condition(lambda: self.is_registered)
            self._validate(command)
        await self._command(command)
        return self.view()

    def _validate_apply(self: ProcessWorkflow, command: Any) -> None:
        if self.is_registered:  # before that, `apply` checks once the opening steps are done
            self._validate(command)

    apply.__annotations__ = {"command": command_type, "return": view_type}
    _validate_apply.__annotations__ = {"command": command_type, "return": None}
    update = workflow.update(apply)
    update.validator(_validate_apply)
    return update


def ready_update(view_type: type, name: str = "ready") -> Any:
    """The Update the API awaits after starting a process: answers once `_ready()` holds."""

    async def ready(self: ProcessWorkflow) -> Any:
        await workflow.wait_condition(self._ready)
        return self.view()

    ready.__name__ = ready.__qualname__ = name
    ready.__annotations__ = {"return": view_type}
    return workflow.update(ready)


class ProcessWorkflow:
    """Shared mechanics. Subclasses set `definition`, call `_setup(start, fresh, machine)` in their
    @workflow.init, and override `_mirror`, `_next_timer`, `_before`, `_after` (and, where timers
    are not moves of the machine, `_timer_fired`; where due timers must be caught up before a
    command, `_catch_up`). `apply = command_update(Command, View)` and `ready = ready_update(View)`
    give the API its Updates; `_open` is the first step `_run` takes, once."""

    definition: ClassVar[ProcessDefinition]
    timer_reasons: ClassVar[dict[str, str]] = {}
    checks_recorded_dates = True  # see `command_update`
    start: Any

    def _setup(self, start: Any, fresh: Callable[[], Any], machine: Callable[[Any], Any]) -> None:
        """From @workflow.init: the snapshot carried across continue-as-new, or a `fresh()` one, and
        the process's machine over it."""
        self.start = start
        self.snap = start.snapshot or fresh()
        self.process = machine(self.snap)
        self.lock = asyncio.Lock()  # one transition at a time: handlers await activities
        self.rearm = False
        self.is_registered = self._opened()  # its opening steps are done (in an earlier run, if continued)

    def view(self) -> Any:
        raise NotImplementedError

    def _view_data(self, **extra: Any) -> dict[str, Any]:
        """The snapshot with the workflow id and the events allowed now, for a view model."""
        return {**self.snap.model_dump(), "workflow_id": workflow.info().workflow_id,
                "allowed_events": self.process.allowed_events(), **extra}

    def _opened(self) -> bool:
        """Whether `_open` has run (by default: the audit log has a line)."""
        return bool(self.snap.log)

    def _ready(self) -> bool:
        return self._opened() and not self.lock.locked()

    async def _open(self) -> None:
        """The process's first step, under the lock."""

    async def _run(self) -> Any:
        """The body of `@workflow.run`: open once, then the main loop, then the final view."""
        if not self._opened():
            async with self.lock:
                await self._open()
        self.is_registered = True
        await self._loop(lambda: self.start.model_copy(update={"snapshot": self.snap}))
        return self.view()

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
                # An Update accepted while the archive step ran must finish before the run ends, or its
                # caller gets "workflow completed before the Update completed" (no command: replays as before).
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(carry())
        await workflow.wait_condition(workflow.all_handlers_finished)
        await archive_run("closed")
        await workflow.wait_condition(workflow.all_handlers_finished)

    async def _fire_timer(self, due: tuple[str, datetime] | None) -> None:
        async with self.lock:
            if due is None or self._next_timer() != due:  # a handler moved the process meanwhile
                return
            await self._timer_fired(due[0])

    async def _timer_fired(self, kind: str) -> None:
        """A due timer, under the lock: by default the machine's system move of that name."""
        await self._fire(kind, SYSTEM_ACTOR, self.timer_reasons.get(kind))

    # --- commands ---------------------------------------------------------------------------------
    def _on_command(self, command: Any) -> None:
        """First thing the `apply` Update does, before it waits for the lock."""

    def _validate(self, command: Any) -> None:
        """The `apply` validator: refuses (409) what the machine does not allow now."""
        self._check(command)

    def _check(self, command: Any) -> None:
        refusal = self.process.refusal(command.action.event, command)
        if refusal is not None:
            raise illegal(refusal)
        if self.checks_recorded_dates:
            self._check_recorded_dates(command.action)

    def _check_recorded_dates(self, action: Any) -> None:
        """A meeting (AG-4, AG-8, FC-1) or a decision (AG-7, AG-8, GV-2, GV-3) is recorded once it has taken
        place: its date is not after today, in local time."""
        today = workflow.now().astimezone(LOCAL_TZ).date()
        for field in RECORDED_DATES:
            value = getattr(action, field, None)
            if isinstance(value, date) and value > today:
                rule = self.process.rule_for(action.event)
                raise illegal(f"action.{field}: rule {rule}: {value.isoformat()} is in the future; a meeting or a "
                              f"decision is recorded once it has taken place")

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
        audit.upsert_search_attributes(snap)

    def _key(self, step: str) -> str:
        return f"{workflow.info().workflow_id}:{len(self.snap.log)}:{step}"

    async def _notify(self, topic: str, recipient: str, subject: str, body: str,
                      data: dict[str, str] | None = None) -> None:
        await notifications.notify(self._key(f"notify:{topic}:{recipient}"), topic, recipient, subject, body, data)
