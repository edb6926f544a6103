"""The one HTTP→process path (issue 7), used by every route that drives a process (devices, tickets,
service requests, agreements, governance):

- `start`: start a process by its business key (the workflow ID) once, and answer its view when it is
  registered; a repeated call answers 200 with the same process. A process that ends at once (a TK-7
  hand-back at registration) answers its final view.
- `apply`: an event as a Temporal Update, with a deadline.
- `view`: the live view (a Query with a deadline); when the process cannot answer in time (the worker or
  Temporal away) or has ended, the database mirror answers, and the response says so
  (`X-Ramflow-View: mirror`).
- `db`: every database call of an async endpoint, in a worker thread with a short session: the event loop
  never blocks and no connection is held across an await on Temporal.

And what the routes of every process share: the event body (`EventRequest`), a unit named in a request
(`known_unit`), the yearly rounds (`RoundRequest`, `round_running`), and the process register that the
agreement and governance processes mirror into (`ProcessRow`, `process_rows`, `process_mirror`,
`mirrored_view`).

Every Temporal call has a deadline; a dependency that is away becomes 503 with Retry-After (api/errors.py).
"""
from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from anyio import to_thread
from fastapi import HTTPException, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.deliveries import HistoryEntry, with_deliveries
from api.errors import Unavailable, business_cause, http_error, transient
from api.repeats import Repeat
from config import Settings
from db.idempotency import KeyReused, claim, request_hash
from db.agreement_models import GovernanceProcessRow, GovernanceTransitionRow
from db.models import Unit
from domain.common import LOCAL_TZ
from domain.process import TransitionRecord

T = TypeVar("T")
ALLOCATION_ATTEMPTS = 20  # allocated numbers skip IDs a workflow already has (e.g. a restored database)
_multi_operation = [True]  # False once the server refuses Update-with-Start: start, then update
VIEW_SOURCE = "X-Ramflow-View"  # "live" (the process answered) or "mirror" (the database answered)


@dataclass(frozen=True)
class ProcessPath:
    client: Client
    settings: Settings
    sessions: sessionmaker[Session]

    # --- bounded waits ----------------------------------------------------------------------------
    @property
    def rpc_timeout(self) -> timedelta:
        return timedelta(seconds=self.settings.temporal_rpc_timeout_seconds)

    @property
    def update_timeout(self) -> timedelta:
        """An Update's RPC waits for the worker to apply it: its deadline is the update wait."""
        return timedelta(seconds=self.settings.update_wait_seconds)

    async def _bounded(self, call: Awaitable[T], seconds: float, what: str) -> T:
        try:
            return await asyncio.wait_for(call, seconds)
        except asyncio.TimeoutError as error:
            raise Unavailable(f"{what}: no answer within {seconds:g} s") from error

    # --- the database, off the event loop ---------------------------------------------------------
    async def db(self, work: Callable[..., T], *args: Any) -> T:
        """Run `work(session, *args)` in a worker thread with its own short-lived session."""
        def run() -> T:
            with self.sessions() as session:
                return work(session, *args)
        return await to_thread.run_sync(run)

    # --- start by business key --------------------------------------------------------------------
    async def start_ready(self, run: Callable, arg: Any, workflow_id: str, ready: Callable,
                          not_found: str) -> tuple[bool, Any]:
        """Start a new process and wait for it to be registered, in one call (Update-with-Start): (True, view);
        (False, None) if a process with this ID exists or existed (IDs are never reused). The Update reaches
        the process in its first task, so even a process that ends at once (a TK-7 hand-back at
        registration) answers it: no "update aborted by closing workflow"."""
        if not _multi_operation[0]:
            return await self._start_then_ready(run, arg, workflow_id, ready, not_found)
        operation = WithStartWorkflowOperation(
            run, arg, id=workflow_id, task_queue=self.settings.temporal_task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
        try:
            return True, await self._bounded(self.client.execute_update_with_start_workflow(
                ready, start_workflow_operation=operation, rpc_timeout=self.update_timeout),
                self.settings.update_wait_seconds, "the worker (registration)")
        except WorkflowAlreadyStartedError:
            return False, None
        except Unavailable:
            raise
        except Exception as error:  # noqa: BLE001
            if isinstance(error, RPCError) and error.status == RPCStatusCode.ALREADY_EXISTS:
                return False, None
            if isinstance(error, RPCError) and error.status in (RPCStatusCode.UNIMPLEMENTED,
                                                                RPCStatusCode.PERMISSION_DENIED):
                # a server without Update-with-Start (Temporal < 1.28 without frontend.enableExecuteMultiOperation)
                _multi_operation[0] = False
                return await self._start_then_ready(run, arg, workflow_id, ready, not_found)
            raise _raise(http_error(error, not_found), error) from error
        finally:
            _settle(operation)

    async def _start_then_ready(self, run: Callable, arg: Any, workflow_id: str, ready: Callable,
                                not_found: str) -> tuple[bool, Any]:
        """The same in two calls: start, then the registration Update (whose fallback reads the result of a
        process that has already ended)."""
        try:
            await self._bounded(self.client.start_workflow(
                run, arg, id=workflow_id, task_queue=self.settings.temporal_task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE, rpc_timeout=self.rpc_timeout,
            ), self.settings.temporal_rpc_timeout_seconds, "Temporal (start)")
        except WorkflowAlreadyStartedError:
            return False, None
        except Unavailable:
            raise
        except Exception as error:  # noqa: BLE001
            raise _raise(http_error(error, not_found), error) from error
        return True, await self.ready(run, workflow_id, ready, not_found)

    async def start(self, run: Callable, arg: Any, workflow_id: str, ready: Callable, response: Response,
                    not_found: str | None = None, *, repeat: Repeat) -> Any:
        """Start once by business key; a repeated call answers 200 with the process's state when the caller
        may see it and sent the same body, else 409 (`repeat`, issue 20)."""
        not_found = not_found or f"workflow {workflow_id!r}"
        created, view = await self.start_ready(run, arg, workflow_id, ready, not_found)
        if created:
            return view
        view = repeat.check(await self.ready(run, workflow_id, ready, not_found))
        response.status_code = status.HTTP_200_OK
        return view

    async def ready(self, run: Callable, workflow_id: str, ready: Callable, not_found: str) -> Any:
        """The view once the process is registered. A process that has already ended (handed back at
        registration, TK-7) cannot take the Update: its result is its final view."""
        handle = self.client.get_workflow_handle_for(run, workflow_id)  # type: ignore[arg-type]
        try:
            return await self._bounded(handle.execute_update(ready, rpc_timeout=self.update_timeout),
                                       self.settings.update_wait_seconds, "the worker (registration)")
        except Unavailable:
            raise
        except WorkflowUpdateFailedError as error:
            if business_cause(error.cause) is not None:  # the process refused: its status from the table
                raise _raise(http_error(error, not_found), error) from error
            first: Exception = error
        except Exception as error:  # noqa: BLE001
            # ABORTED here is "update aborted by closing workflow": the process has ended, read its result
            if transient(error) and not (isinstance(error, RPCError) and error.status == RPCStatusCode.ABORTED):
                raise Unavailable(f"Temporal: {error}") from error
            first = error
        try:  # the Update could not reach the process because it has ended: its result is its final view
            return await self._bounded(handle.result(rpc_timeout=self.rpc_timeout),
                                       self.settings.update_wait_seconds, "Temporal (result)")
        except Unavailable:
            raise
        except Exception as error:  # noqa: BLE001
            raise _raise(http_error(error, not_found), error) from first

    async def start_numbered(self, number: str | None, repeated: bool, allocate: Callable[[], str],
                             start_of: Callable[[str], Any], run: Callable, ready: Callable,
                             workflow_id_of: Callable[[str], str], what: str, response: Response,
                             repeat: Repeat) -> Any:
        """Start a process under its number: the given one, or allocated ones (`allocate`, in a worker
        thread) until one has no process yet. `repeated`: the number is known from an earlier request
        (the same Idempotency-Key): the answer is 200 with that process. A given number whose process exists
        answers as `repeat` says (issue 20)."""
        given = number is not None
        for _ in range(1 if given else ALLOCATION_ATTEMPTS):
            if not given:
                number = await to_thread.run_sync(allocate)
            assert number is not None
            not_found = f"number: no {what} {number!r}"
            created, view = await self.start_ready(run, start_of(number), workflow_id_of(number), ready, not_found)
            if not created and not given:
                continue  # an allocated number whose workflow exists (e.g. a restored database): the next one
            if created and not repeated:
                return view
            if not created:
                view = await self.ready(run, workflow_id_of(number), ready, not_found)
                if given:
                    view = repeat.check(view)
            response.status_code = status.HTTP_200_OK  # a repeated call, possibly while the first still registers
            return view
        raise HTTPException(409, f"number: could not allocate a free {what.replace(' ', '-')} number")

    # --- short processes the API waits for (yearly rounds) -----------------------------------------
    async def run_once(self, run: Callable, arg: Any, workflow_id: str, not_found: str) -> tuple[bool, Any]:
        """Start the process (or join the one running under this ID) and wait for its result within the
        update deadline: (True, result), or (False, None) while it still runs (the API answers 202)."""
        try:
            handle = await self._bounded(self.client.start_workflow(
                run, arg, id=workflow_id, task_queue=self.settings.temporal_task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE, rpc_timeout=self.rpc_timeout,
            ), self.settings.temporal_rpc_timeout_seconds, "Temporal (start)")
        except WorkflowAlreadyStartedError:
            handle = self.client.get_workflow_handle_for(run, workflow_id)  # type: ignore[arg-type]
        except Unavailable:
            raise
        except Exception as error:  # noqa: BLE001
            raise _raise(http_error(error, not_found), error) from error
        try:
            return True, await asyncio.wait_for(handle.result(rpc_timeout=self.rpc_timeout),
                                                self.settings.update_wait_seconds)
        except asyncio.TimeoutError:
            return False, None
        except Exception as error:  # noqa: BLE001
            raise _raise(http_error(error, not_found), error) from error

    async def job_status(self, workflow_id: str, not_found: str) -> str:
        """A job's Temporal status in lower case (running, completed, failed, …); 404 if it never ran."""
        try:
            described = await self._bounded(self.client.get_workflow_handle(workflow_id).describe(
                rpc_timeout=self.rpc_timeout), self.settings.temporal_rpc_timeout_seconds, "Temporal (describe)")
        except Unavailable:
            raise
        except Exception as error:  # noqa: BLE001
            raise _raise(http_error(error, not_found), error) from error
        return described.status.name.lower() if described.status is not None else "unknown"

    # --- events -----------------------------------------------------------------------------------
    async def apply(self, workflow_id: str, update: Callable, command: Any, not_found: str,
                    ended: Callable[[Session], str | None] | None = None, update_id: str | None = None) -> Any:
        """An event as an Update with a deadline. `ended(session)` names the final state of a process that
        has ended (409); `update_id` (from Idempotency-Key) makes a retried event apply once."""
        handle = self.client.get_workflow_handle(workflow_id)
        if update_id is not None:  # the same key with another event is another Update, never a stale answer
            update_id = f"{update_id}:{hashlib.sha256(command.model_dump_json().encode()).hexdigest()[:16]}"
        try:
            return await self._bounded(
                handle.execute_update(update, command, id=update_id, rpc_timeout=self.update_timeout),
                self.settings.update_wait_seconds, "the worker (event)")
        except Unavailable:
            raise
        except Exception as error:  # noqa: BLE001
            mapped = http_error(error, not_found)
            if mapped is error:
                raise
            if ended is not None and isinstance(error, RPCError) and isinstance(mapped, HTTPException):
                # not there (not merely unreachable): has its process ended?
                detail = await self.db(ended)
                if detail is not None:
                    raise HTTPException(409, detail) from error
            raise mapped from error

    async def event(self, workflow_id: str, update: Callable, command: type, request: Any, actor: str,
                    not_found: str, person: str | None = None, **options: Any) -> Any:
        """An event route's body: the process's `command` for the request's action (who, why, what), applied
        as an Update (`options`: `apply`'s `ended` and `update_id`); `person`: the actor's employee number,
        where the process compares people (AG-4, GV-2)."""
        return await self.apply(workflow_id, update, command(actor=actor, reason=request.reason, person=person,
                                                             action=request.action), not_found, **options)

    # --- views ------------------------------------------------------------------------------------
    async def view(self, workflow_id: str, query: Callable, not_found: str, response: Response | None = None,
                   mirror: Callable[[Session], Any | None] | None = None) -> Any:
        """The live view; the database mirror when the process cannot answer in time or has ended."""
        handle = self.client.get_workflow_handle(workflow_id)
        seconds = self.settings.query_wait_seconds
        try:
            answer = await self._bounded(handle.query(query, rpc_timeout=timedelta(seconds=seconds)), seconds,
                                         "the worker (view)")
        except Exception as error:  # noqa: BLE001
            mapped = error if isinstance(error, Unavailable) else http_error(error, not_found)
            if mirror is not None and (isinstance(mapped, Unavailable)
                                       or (isinstance(mapped, HTTPException) and mapped.status_code in (404, 409))):
                answer = await self.db(mirror)
                if answer is not None:
                    if response is not None:
                        response.headers[VIEW_SOURCE] = "mirror"
                        if isinstance(mapped, Unavailable):
                            response.headers["Warning"] = '110 - "the process did not answer in time: ' \
                                                          'view from the database mirror"'
                    return answer
            if mapped is error and not isinstance(error, Unavailable):
                raise
            raise mapped from error
        if response is not None:
            response.headers[VIEW_SOURCE] = "live"
        return answer


def _settle(operation: WithStartWorkflowOperation) -> None:
    """Mark the start operation's own outcome as seen, so that a failed call logs no "Future exception was
    never retrieved" (its error is the call's, already handled)."""
    future = getattr(operation, "_workflow_handle", None)
    if isinstance(future, asyncio.Future) and future.done() and not future.cancelled():
        future.exception()


def _raise(mapped: Exception, error: Exception) -> Exception:
    """What to raise for a Temporal error: its HTTP translation, or the error itself if it has none."""
    return mapped if mapped is not error else error


def audit_log(session: Session, table: type, column: Any, key: str, limit: int | None = 1000,
              offset: int = 0) -> list[TransitionRecord]:
    """A process's audit log as its register mirrors it: who, when (UTC, with offset), why, which rule."""
    rows = session.scalars(select(table).where(column == key).order_by(table.seq).limit(limit).offset(offset))
    return [TransitionRecord(seq=r.seq, at=r.at, event=r.event, from_state=r.from_state, to_state=r.to_state,
                             actor=r.actor, reason=r.reason, rule=r.rule, details=r.details or {}) for r in rows]


def history_of(session: Session, register: type, transitions: type, key: str, not_found: str,
               limit: int | None = 1000, offset: int = 0) -> list[HistoryEntry]:
    """A history route's answer: the audit log of the process `key` from its register's transition table
    (keyed by its `__audit_key__` column); 404 when the register has no such process."""
    row = session.get(register, key)
    if row is None:
        raise HTTPException(404, not_found)
    records = audit_log(session, transitions, getattr(transitions, transitions.__audit_key__), key, limit, offset)
    return with_deliveries(session, getattr(row, "workflow_id", None) or key, records)  # issue 21: each line's mail


# --- what the routes of every process share -------------------------------------------------------------
def ended_in_register(model: type, key: str, what: str) -> Callable[[Session], str | None]:
    """For an event on a process that has ended (`apply`'s `ended`): its final state, from the register."""
    def work(session: Session) -> str | None:
        row = session.get(model, key)
        return None if row is None else f"{what} {key} is {row.state}: its process has ended"
    return work


class EventRequest(BaseModel):  # an event's why (the audit log); each process adds its `action`
    reason: str | None = Field(None, max_length=500)


class RoundRequest(BaseModel):
    year: int | None = Field(None, ge=2000, le=2100, description="the year the round runs in; default this year")


class RoundRunning(BaseModel):
    workflow_id: str
    status: str = "running"


class ProcessRow(BaseModel):  # a row of the register of agreement and governance processes
    workflow_id: str
    process: str
    subject: str
    state: str
    started_at: datetime
    updated_at: datetime
    model_config = {"from_attributes": True}


def this_year() -> int:
    return datetime.now(LOCAL_TZ).year


def known_unit(session: Session, unit_id: str, field: str = "unit_id") -> Unit:
    """The unit a request names; 422 naming the field when the unit register does not know it."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise HTTPException(422, f"{field}: unknown unit {unit_id!r}")
    return unit


def claimed_number(session: Session, scope: str, idempotency_key: str, actor: str, body: Any, given: str | None,
                   allocate: Callable[[], str]) -> tuple[str, bool]:
    """The number an Idempotency-Key stands for: the given one or one allocated now, and whether an earlier
    request claimed it; 422 when the key was used for another request."""
    try:
        number, new = claim(session, scope, idempotency_key, request_hash(actor, body), lambda _: given or allocate(),
                            caller=actor)
    except KeyReused as error:
        raise HTTPException(422, str(error)) from error
    return number, not new


def registered_number(session: Session, register: type, number: str | None, series: str,
                      in_series: Callable[[str], bool]) -> bool:
    """Whether the number a request gives is in the register already (a repeated call); 422 naming the field
    when it has the form of the server's own numbers (`series`), which are kept out of the allocator's way."""
    if number is None:
        return False
    if session.get(register, number) is not None:
        return True
    if in_series(number):
        raise HTTPException(422, f"number: {number!r} has the form of the server's numbers ({series}); leave it "
                                 "out to get one, or choose another form")
    return False


def round_running(workflow_id: str) -> JSONResponse:
    """202: the round runs on; the same call again answers its result when it is done."""
    return JSONResponse(RoundRunning(workflow_id=workflow_id).model_dump(), status_code=202,
                        headers={"Location": f"/api/v1/governance-processes/{workflow_id}/history"})


def process_rows(session: Session, process: str | None, state: str | None, limit: int, offset: int,
                 *conditions: Any) -> list[GovernanceProcessRow]:
    """The process register, filtered, in workflow-id order."""
    query = select(GovernanceProcessRow).where(*conditions).order_by(GovernanceProcessRow.workflow_id)
    if process is not None:
        query = query.where(GovernanceProcessRow.process == process)
    if state is not None:
        query = query.where(GovernanceProcessRow.state == state)
    return list(session.scalars(query.limit(limit).offset(offset)))


def process_mirror(view: type, workflow_id: str) -> Callable[[Session], Any]:
    """A process as the register mirrors it (state, its data, the audit log), for when the process cannot
    answer in time; None if there is no row or the view needs more than the row keeps."""
    def work(session: Session) -> Any:
        row = session.get(GovernanceProcessRow, workflow_id)
        if row is None:
            return None
        try:
            return view.model_validate({
                **(row.data or {}), "workflow_id": workflow_id, "state": row.state, "allowed_events": [],
                "log": audit_log(session, GovernanceTransitionRow, GovernanceTransitionRow.workflow_id, workflow_id)})
        except ValidationError:
            return None
    return work


async def mirrored_view(path: ProcessPath, workflow_id: str, query: Callable, view: type, not_found: str,
                        response: Response) -> Any:
    """The live view of a process of the register; its mirror when the process cannot answer."""
    return await path.view(workflow_id, query, not_found, response, mirror=process_mirror(view, workflow_id))
