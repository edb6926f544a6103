"""Refused attempts: the ONE recorder of the one store (db.audit_models.RefusedAttempt), for identity
(issue 8: every 401 and 403, who tried what) and the auditors (issue 11: an illegal or forbidden command
never enters Temporal's history, so the API keeps the trace).

`record_refusal` is called where Temporal's answers become HTTP answers (api.errors): it notes that the
command was refused by its process (and may name the workflow, event or actor). The `RefusalRecorder`
middleware knows the request (method, path, the validated token's subject or an invalid token's claimed
one, roles, event) and writes ONE record per refused request once the answer is made and before it is
sent (the caller never sees a refusal that is not recorded), with the answer's status and detail, in a
worker thread: no database work on the event loop, none across a Temporal call, and the refusal is kept
even though the request's own transaction was rolled back. Appends to the chain are
serialised (issue 20: one writer per process, and `db.audit_chain.lock_chain` across processes), so none is
lost to a concurrent one. A console page (mounted at /console) is recorded with the API's database and the
console session's user; a page that relays an API refusal already recorded inside it adds no second record.
What is recorded:
- any 401 or 403 (any method, any path);
- a command (POST, PUT, PATCH, DELETE) answered 409, or 422 by a process's rule (a `record_refusal` note);
  a 409 to a command on a process path is kept even without a note."""
from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import threading
import weakref
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import anyio
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from db.audit_chain import append_refusal

log = logging.getLogger(__name__)

# resource path of a process -> its workflow ID (domain.*.…_workflow_id)
_WORKFLOW_OF_PATH = [
    (re.compile(r"/devices/(?P<key>[^/]+)/"), "device-{key}"),
    (re.compile(r"/tickets/(?P<key>[^/]+)/"), "ticket-{key}"),
    (re.compile(r"/service-requests/(?P<key>[^/]+)/"), "request-{key}"),
    (re.compile(r"/agreements/(?P<key>[^/]+)/revisions/(?P<year>\d+)/"), "agreement-{key}-revision-{year}"),
    (re.compile(r"/agreements/(?P<key>[^/]+)/"), "agreement-{key}"),
    (re.compile(r"/services/(?P<key>[^/]+)/"), "service-{key}"),
    (re.compile(r"/cloud-moves/(?P<key>[^/]+)/"), "cloud-move-{key}"),
    (re.compile(r"/framework/proposals/(?P<key>[^/]+)/"), "framework-{key}"),
    (re.compile(r"/development-cases/(?P<key>[^/]+)/"), "devcase-{key}"),
    (re.compile(r"/premises-projects/(?P<key>[^/]+)/"), "premises-{key}"),
]


def workflow_of_path(path: str) -> str | None:
    for pattern, template in _WORKFLOW_OF_PATH:
        match = pattern.search(path)
        if match:
            return template.format(**match.groupdict())
    return None


COMMANDS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ALWAYS = frozenset({401, 403})  # not allowed: recorded whatever the method
PROCESS_REFUSALS = frozenset({409, 422})  # a command refused by its process's rules


@dataclass
class _Request:
    method: str
    path: str
    command: bool = False
    body: bytearray = field(default_factory=bytearray)
    refusals: list[dict[str, Any]] = field(default_factory=list)
    recorded_inside: bool = False  # a call to the API made while answering (the console's) was recorded


_current: ContextVar[_Request | None] = ContextVar("ramflow_refusal_request", default=None)


def record_refusal(status: int, message: str, *, workflow_id: str | None = None, event: str | None = None,
                   actor: str | None = None) -> None:
    """Note that the current request's command was refused by its process; the record is written once the
    answer is made (with the answer's status and detail). Outside a command's request it does nothing."""
    request = _current.get()
    if request is not None and request.command:
        request.refusals.append({"status": status, "message": message[:4000], "workflow_id": workflow_id,
                                 "event": event, "actor": actor})


def _event_of(body: bytes) -> str | None:
    try:
        action = json.loads(body or b"{}").get("action")
    except (ValueError, AttributeError):
        return None
    event = action.get("event") if isinstance(action, dict) else None
    return str(event)[:60] if event is not None else None


def _detail(body: bytes) -> str:
    try:
        detail = json.loads(body or b"{}").get("detail")
    except (ValueError, AttributeError):
        detail = None
    return (detail if isinstance(detail, str) else json.dumps(detail) if detail else body.decode(errors="replace"))[:4000]


def claimed_subject(headers: dict[str, str]) -> str | None:
    """An invalid token's subject, unverified: who it claimed to be (recorded, never trusted)."""
    parts = headers.get("authorization", "").partition(" ")[2].split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        subject = payload.get("oid") or payload.get("sub")
        return str(subject)[:120] if subject is not None else None
    except (ValueError, AttributeError):
        return None


_WRITER = threading.Lock()  # one writer per process; lock_chain serialises the processes
# threads of their own (per event loop): a burst of refusals never takes the threads other requests need
_THREADS: weakref.WeakKeyDictionary[Any, anyio.CapacityLimiter] = weakref.WeakKeyDictionary()


def _writer_threads() -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    if loop not in _THREADS:
        _THREADS[loop] = anyio.CapacityLimiter(2)
    return _THREADS[loop]


def store_refusal(sessions: sessionmaker[Session], values: dict[str, Any]) -> bool:
    """Append one refused attempt; True once it is committed."""
    with _WRITER:
        for _attempt in range(3):  # the chain is locked: a retry only covers a lost connection
            with sessions() as s:
                try:
                    append_refusal(s, **values)
                    s.commit()
                    return True
                except (IntegrityError, OperationalError):
                    s.rollback()
                    log.warning("retrying a refused attempt's record", exc_info=True)
    log.error("refused attempt not recorded: %s", values)
    return False


def _refused(method: str, path: str, status: int, noted: bool) -> bool:
    if status in ALWAYS:
        return True
    if method not in COMMANDS or status not in PROCESS_REFUSALS:
        return False
    return noted or (status == 409 and workflow_of_path(path) is not None)


class RefusalRecorder:
    """Pure ASGI middleware: one refused-attempt record per refused request (see the module's doc)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        command = scope["method"] in COMMANDS
        request = _Request(scope["method"], scope["path"], command)
        state = scope.setdefault("state", {})  # api.auth keeps the validated principal here
        # this app's database: read now, a mounted app (the console) puts itself in scope["app"] later
        sessions = getattr(scope["app"].state, "sessions", None)
        outer = _current.get()  # the request this one is made for (a console page calling the API)

        async def teeing_receive() -> dict:
            message = await receive()
            if command and message["type"] == "http.request" and len(request.body) < 65536:
                request.body.extend(message.get("body", b""))
            return message

        answer: dict[str, Any] = {"status": 0, "body": bytearray(), "held": None, "done": False}

        async def record() -> None:
            """Write the record (once), before the refusal reaches the caller."""
            if answer["done"] or request.recorded_inside:
                return
            answer["done"] = True
            if outer is not None:
                outer.recorded_inside = True
            try:
                await anyio.to_thread.run_sync(store_refusal, sessions, self._values(scope, state, request, answer),
                                               limiter=_writer_threads())
            except Exception:  # noqa: BLE001 - the refusal is answered even if the record cannot be written
                log.exception("could not record a refused attempt")

        async def watching_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                if _refused(request.method, request.path, message["status"], bool(request.refusals)):
                    answer["held"] = [message]  # held until the record is written (issue 20)
                    return
            elif message["type"] == "http.response.body" and answer["held"] is not None:
                answer["held"].append(message)
                if len(answer["body"]) < 8192:
                    answer["body"].extend(message.get("body", b"")[:8192])
                if message.get("more_body"):
                    return
                await record()
                held, answer["held"] = answer["held"], None
                for each in held:
                    await send(each)
                return
            await send(message)

        token = _current.set(request)
        try:
            await self.app(scope, teeing_receive, watching_send)
        finally:
            _current.reset(token)
            if answer["held"] is not None:  # the answer broke off: the refusal is still recorded
                await record()

    @staticmethod
    def _values(scope: dict, state: dict, request: _Request, answer: dict[str, Any]) -> dict[str, Any]:
        note = request.refusals[-1] if request.refusals else {}
        console = state.get("console_session")
        principal = state.get("principal") or getattr(console, "principal", None)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        client = scope.get("client")
        return dict(
            at=datetime.now(timezone.utc), method=request.method, path=request.path[:300],
            workflow_id=note.get("workflow_id") or workflow_of_path(request.path),
            actor=note.get("actor") or (principal.subject if principal else None),
            claimed_subject=None if principal else claimed_subject(headers),
            roles=sorted(principal.roles) if principal else [],
            client=str(client[0])[:80] if client else None,
            event=note.get("event") or (_event_of(bytes(request.body)) if request.command else None),
            status=answer["status"], message=_detail(bytes(answer["body"])) or note.get("message", ""))
