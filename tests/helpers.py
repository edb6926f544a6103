"""The act/view/until pattern every process's tests share: start a workflow, send it an event (the Update
`apply` with the process's command), read its view (the Query `view`), and wait until the work of a fired
timer or a child has landed. Per-process modules (tests/<process>/helpers.py) add only what differs."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.support_calendar import LOCAL_TIMEZONE

T = TypeVar("T")
LIFETIME = timedelta(days=3650)  # longer than any process lives on the time-skipping clock
LOCAL = ZoneInfo(LOCAL_TIMEZONE)


async def eventually(fetch: Callable[[], Awaitable[T]], predicate: Callable[[T], bool], seconds: float = 15.0) -> T:
    """Fetch until `predicate` holds or `seconds` passed; the last answer either way (the test asserts on it).
    A fired timer's work lands a moment after the clock moved, a child starts after its parent's move."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while True:
        current = await fetch()
        if predicate(current) or loop.time() > end:
            return current
        await asyncio.sleep(0.05)


async def start(client: Client, run: Any, arg: Any, workflow_id: str, task_queue: str,
                ready: Any = None) -> WorkflowHandle:
    """Start a process's workflow; with `ready` (its registration Update), wait until it is registered."""
    handle = await client.start_workflow(run, arg, id=workflow_id, task_queue=task_queue, execution_timeout=LIFETIME)
    if ready is not None:
        await handle.execute_update(ready)
    return handle


async def until(handle: WorkflowHandle, query: Any, predicate: Callable[[Any], bool], seconds: float = 15.0) -> Any:
    """Query `query` until `predicate` holds."""
    return await eventually(lambda: handle.query(query), predicate, seconds)


async def poll(http: Any, path: str, predicate: Callable[[dict], bool], seconds: float = 15.0) -> dict:
    """GET `path` through the API until `predicate(body)` holds."""
    async def body() -> dict:
        return (await http.get(path)).json()

    return await eventually(body, predicate, seconds)


@dataclass(frozen=True)
class Process:
    """One process's workflow as its tests drive it: the Update `apply`, the command class that carries an
    action (actor, reason, action) and the Query `view`."""

    apply: Any
    command: type
    view_query: Any
    actor: str = "it.anna"  # the default caller of `act`

    async def act(self, handle: WorkflowHandle, action: Any, actor: str | None = None,
                  reason: str | None = None) -> Any:
        return await handle.execute_update(self.apply, self.command(actor=actor or self.actor, reason=reason,
                                                                    action=action))

    async def view(self, handle: WorkflowHandle) -> Any:
        return await handle.query(self.view_query)

    async def until(self, handle: WorkflowHandle, predicate: Callable[[Any], bool], seconds: float = 15.0) -> Any:
        return await until(handle, self.view_query, predicate, seconds)


# --- the time-skipping clock ----------------------------------------------------------------------

async def local_now(env: WorkflowEnvironment) -> datetime:
    """Now on the test's time-skipping clock, in local time."""
    return (await env.get_current_time()).astimezone(LOCAL)


async def sleep_until(env: WorkflowEnvironment, at: datetime, extra: timedelta = timedelta(hours=1)) -> None:
    """Skip the test's clock to `extra` past `at` (the timers due at `at` have fired by then)."""
    await env.sleep(at - await env.get_current_time() + extra)
