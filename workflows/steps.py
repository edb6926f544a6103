"""Activities as workflows see them: each declared once as a `Step` (its registered name and whether it
runs as a local activity), called by `run_activity` with one retry policy; business refusals are never
retried. Names no process."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, TypeVar

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.errors import BUSINESS_ERRORS  # the one table of business errors (also the API's)

# Transient failures (database busy, an external system down) are retried with backoff.
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=list(BUSINESS_ERRORS),
)
ACTIVITY_TIMEOUT = timedelta(seconds=60)
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Step:
    """An activity, declared once: the name workflows call and the worker registers (`@STEP.defn` on its
    implementation in activities/), and how it runs. `local=True`: the step only writes Ramflow's own
    database, so it runs as a local activity (no round trip through the server per step;
    bench/equipment_throughput.py: 2.6x faster one device at a time); calls to external systems stay
    ordinary activities with server-side retries. Never switch a step that stored histories ran: a local
    activity leaves a marker where a remote one leaves scheduled/completed events (replay breaks)."""

    name: str
    local: bool = False
    timeout: timedelta = ACTIVITY_TIMEOUT  # start to close, per attempt
    heartbeat: timedelta | None = None  # a long step reports progress; a silent attempt is retried from it

    def defn(self, fn: F) -> F:
        """Register `fn` as this step's implementation (the worker collects `local` from it)."""
        setattr(fn, "__ramflow_step__", self)
        return activity.defn(name=self.name)(fn)


async def run_activity(step: Step, arg: Any, result_type: type | None = None) -> Any:
    """Run a step; a business refusal surfaces as its own ApplicationError (type, message)."""
    execute = workflow.execute_local_activity if step.local else workflow.execute_activity
    heartbeat = {} if step.heartbeat is None else {"heartbeat_timeout": step.heartbeat}
    try:
        return await execute(step.name, arg, result_type=result_type, start_to_close_timeout=step.timeout,
                             retry_policy=RETRY, **heartbeat)
    except ActivityError as error:
        cause = error.cause
        if isinstance(cause, ApplicationError) and cause.type in BUSINESS_ERRORS:
            raise ApplicationError(cause.message, type=cause.type, non_retryable=True) from error
        raise
