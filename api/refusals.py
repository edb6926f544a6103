"""Refused attempts (issue 11): an illegal or forbidden command never enters Temporal's history, so the
API keeps the trace. `record_refusal` is called where errors become answers (api.errors); the
`RefusalRecorder` middleware knows the request (method, path, actor, event) and writes the refusals
after the answer is made, in a worker thread: no database work on the event loop, none across a
Temporal call, and a refusal is recorded even though the request's own transaction was rolled back."""
from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import anyio
from sqlalchemy.exc import IntegrityError
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
]


def workflow_of_path(path: str) -> str | None:
    for pattern, template in _WORKFLOW_OF_PATH:
        match = pattern.search(path)
        if match:
            return template.format(**match.groupdict())
    return None


@dataclass
class _Request:
    method: str
    path: str
    actor: str | None
    body: bytearray = field(default_factory=bytearray)
    refusals: list[dict[str, Any]] = field(default_factory=list)


_current: ContextVar[_Request | None] = ContextVar("ramflow_refusal_request", default=None)


def record_refusal(status: int, message: str, *, workflow_id: str | None = None, event: str | None = None,
                   actor: str | None = None) -> None:
    """Note that the current request's command was refused; written once the answer is made. Outside a
    request (tests calling a route function directly) it does nothing."""
    request = _current.get()
    if request is not None:
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


def store_refusals(sessions: sessionmaker[Session], request: _Request) -> None:
    event = _event_of(bytes(request.body))
    for refusal in request.refusals:
        values = dict(at=datetime.now(timezone.utc), method=request.method, path=request.path[:300],
                      workflow_id=refusal["workflow_id"] or workflow_of_path(request.path),
                      actor=(refusal["actor"] or request.actor or None), event=refusal["event"] or event,
                      status=refusal["status"], message=refusal["message"])
        for _attempt in range(5):  # a concurrent refusal may take the chain's end first
            with sessions() as s:
                append_refusal(s, **values)
                try:
                    s.commit()
                    break
                except IntegrityError:
                    s.rollback()
        else:
            log.error("refused attempt not recorded: %s", values)


class RefusalRecorder:
    """Pure ASGI middleware around commands (POST, PUT, PATCH, DELETE). A 403 or 409 answer to a command
    on a process that no `record_refusal` call described is recorded too."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode(errors="replace") for k, v in scope.get("headers", [])}
        # the acting user: the X-Actor header today; with bearer tokens, the route passes actor= itself
        request = _Request(scope["method"], scope["path"], headers.get("x-actor"))

        async def teeing_receive() -> dict:
            message = await receive()
            if message["type"] == "http.request" and len(request.body) < 65536:
                request.body.extend(message.get("body", b""))
            return message

        answer: dict[str, Any] = {"status": 0, "body": bytearray()}

        async def watching_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            elif message["type"] == "http.response.body" and answer["status"] in (403, 409):
                answer["body"].extend(message.get("body", b"")[:8192])
            await send(message)

        token = _current.set(request)
        try:
            await self.app(scope, teeing_receive, watching_send)
        finally:
            _current.reset(token)
            if not request.refusals and answer["status"] in (403, 409) and workflow_of_path(request.path):
                # refused before reaching the translation point (e.g. the role policy): kept all the same
                request.refusals.append({"status": answer["status"], "message": _detail(bytes(answer["body"])),
                                         "workflow_id": None, "event": None, "actor": None})
            if request.refusals:
                sessions = scope["app"].state.sessions
                await anyio.to_thread.run_sync(store_refusals, sessions, request)
