"""The Ramflow HTTP API (OpenAPI at /docs)."""
from __future__ import annotations

import asyncio
import re
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, AsyncIterator

from anyio import to_thread
from fastapi import Depends, FastAPI, HTTPException
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, GetSystemInfoRequest
from temporalio.client import Client

from api import security
from api.auth import Jwks
from api.errors import COMMON_RESPONSES, install_error_handlers, reject_lone_surrogates
from api.policy import ACCESS_RESPONSES, documented_bearer, enforce
from api.ratelimit import RateLimiter, trusted_proxy_headers
from api.refusals import RefusalRecorder
from api.strict_bodies import refuse_unknown_fields
from api.routes import (agreements, audit, billing, billing_ledger, calendar, catalogue, cloud_moves, codec, devices,
                        erasure_reports, feeds, files, governance, imports, incidents, mail, orders, outbox,
                        payroll_files, people, people_moves, premises, reference, reorganisations, reports,
                        service_requests, services, survey_links, ticket_messages, tickets)
from config import Settings, get_settings
from db.session import api_sessionmaker
from observability.http import instrument_app, untraced


ATTACHMENT_PATHS = re.compile(r"^/(api/v1|console)/tickets/[^/]+/messages$|^/console/tickets/report$")


class BodyLimit:
    """Refuse a request body over `limit` bytes with 413, before it is read whole (issue 7)."""

    def __init__(self, app: ASGIApp, limit: int, attachment_limit: int | None = None) -> None:
        self.app, self.limit = app, limit
        self.attachment_limit = max(limit, attachment_limit or 0)

    def limit_of(self, path: str) -> int:
        """Issue 23: a ticket message or report may carry a file (one, up to mail_attachment_max_bytes, as
        base64 or multipart); every other body keeps the small limit."""
        return self.attachment_limit if ATTACHMENT_PATHS.match(path) else self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope.get("path", ""))
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._too_large(send)
                return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, f"request body larger than {limit} bytes")
            return message

        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, watch)
        except HTTPException as error:
            if error.status_code != 413 or started:
                raise
            await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        response = JSONResponse({"detail": f"request body larger than {self.limit} bytes"}, status_code=413)
        await response({"type": "http"}, _no_body, send)


class CodecCors:
    """CORS (with credentials) for the payload codec only: the Temporal Web UI, another origin, decodes through
    /api/v1/codec (issue 11); no other route answers a cross-origin browser request (issue 20)."""

    PREFIX = "/api/v1/codec"

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=origins, allow_methods=["POST"],
                                   allow_headers=["Content-Type", "Authorization", "X-Namespace"],
                                   allow_credentials=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        codec = path == self.PREFIX or path.startswith(self.PREFIX + "/")
        await (self.cors if codec else self.app)(scope, receive, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, once; wall-clock times (support hours, service windows) carry no offset, so
    they are RFC 3339 `partial-time`, not `time` (which requires one)."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if node.get("format") == "time" and node.get("type") == "string":
                    node["format"] = "partial-time"
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(schema)
        app.openapi_schema = schema
    return app.openapi_schema


def create_app(settings: Settings | None = None, client: Client | None = None,
               sessions: sessionmaker[Session] | None = None) -> FastAPI:
    """Build the app; tests pass their own client and database, production connects in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.client is None:  # one client per process, not per request; lazy: up while Temporal is away
            from observability.logging import configure_logging
            from observability.temporal_metrics import api_runtime
            from observability.tracing import instrument_database, setup_tracing
            from worker import connect

            configure_logging(app.state.settings, "api")  # issue 13: production logging and tracing
            instrument_database(app.state.sessions, setup_tracing(app.state.settings, "ramflow-api"))
            app.state.client = await connect(app.state.settings, api_runtime(), lazy=True)
        yield

    settings = settings or get_settings()
    settings.check_api_production()  # production: an explicit https issuer, or no start (issue 20)
    docs = settings.api_docs_enabled
    app = FastAPI(
        title="Ramflow",
        version="0.1.0",
        description="Workflow orchestration for the joint IT unit of Tranemo and Ulricehamn (Ramuppdrag IT). "
        "Every call but /health and /ready needs an OpenID Connect bearer token (`Authorization: Bearer …`); "
        "its subject is the acting user in every audit record, its roles decide what it may do "
        "(docs/security.md). "
        "While Temporal, the worker or the database is away the API answers 503 with `Retry-After`; "
        "creating POSTs are safe to retry (business key, or the `Idempotency-Key` header).",
        lifespan=lifespan,
        # one access policy for every route (api.policy): 401 without a valid token, 403 without the role
        # then (issue 20) a body field the route's model does not have is 422, never silently dropped
        dependencies=[Depends(enforce), Depends(refuse_unknown_fields)],
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        telemetry={"exclude": untraced},  # issue 13: request spans (native), none for /metrics and /health
    )
    app.state.settings = settings
    app.state.client = client
    app.state.sessions = sessions or api_sessionmaker(settings)
    app.state.jwks = Jwks(settings)
    # issue 20: counted in the shared database, so the limit holds across API processes
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute, app.state.sessions)
    install_error_handlers(app)
    # one record per refused request: every 401/403, and commands a process refused (api.refusals)
    app.add_middleware(RefusalRecorder)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes,  # one file as base64, and the message itself
                       attachment_limit=settings.mail_attachment_max_bytes * 4 // 3 + 64_000)
    app.add_middleware(security.SecurityHeaders)  # every answer, 413 included
    # issue 11: the Temporal Web UI (another origin) decodes payloads through /codec/decode, and only there
    app.add_middleware(CodecCors, origins=settings.codec_cors_origins)
    # issue 20: the caller's address is the peer's unless the peer is a configured proxy (outermost: every
    # middleware and the refusal records see the same address)
    app.add_middleware(trusted_proxy_headers, trusted_proxies=settings.trusted_proxies)
    for module in (reorganisations, devices, catalogue, reference, people, people_moves, imports, outbox, tickets,
                   ticket_messages, mail, service_requests, incidents, reports, calendar, agreements, services, cloud_moves, governance,
                   premises, security, audit, codec, billing, billing_ledger, survey_links, feeds, files, payroll_files,
                   orders, erasure_reports):
        app.include_router(module.router, prefix="/api/v1", responses={**COMMON_RESPONSES, **ACCESS_RESPONSES},
                           dependencies=[Depends(reject_lone_surrogates), Depends(documented_bearer)])
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    # the web console (issue 14): its own app, outside the API's policy; it calls /api/v1 with the user's token
    from console.app import create_console

    app.mount("/console", create_console(app))
    # SCIM 2.0 for Entra ID's provisioning (issue 22): its own app and error schema, the API's access policy
    from api.scim import SCIM_PREFIX, create_scim

    app.mount(SCIM_PREFIX, create_scim(app))

    instrument_app(app)  # issue 13: GET /metrics, request metrics, spans and request logs

    @app.get("/health", tags=["health"])
    async def health() -> dict[str, str]:
        """Liveness: the process runs and its event loop answers (no dependency is asked)."""
        return {"status": "ok"}

    @app.get("/ready", tags=["health"], responses={503: {"description": "Temporal or the database is away"}})
    async def ready() -> JSONResponse:
        """Readiness: Temporal and the database, each with its own answer; the worker's pollers as
        information (without a worker, events wait and answer 503, reads come from the database)."""
        seconds = min(2.0, settings.temporal_rpc_timeout_seconds)
        checks: dict[str, Any] = {}
        try:
            await asyncio.wait_for(app.state.client.workflow_service.get_system_info(
                GetSystemInfoRequest(), timeout=timedelta(seconds=seconds)), seconds + 0.5)
            checks["temporal"] = {"ok": True, "address": settings.temporal_address}
        except Exception as error:  # noqa: BLE001
            checks["temporal"] = {"ok": False, "address": settings.temporal_address,
                                  "error": (str(error) or type(error).__name__)[:200]}
        try:
            def ping() -> None:
                with app.state.sessions() as session:
                    session.execute(text("SELECT 1"))
            await asyncio.wait_for(to_thread.run_sync(ping), seconds + 0.5)
            checks["database"] = {"ok": True}
        except Exception as error:  # noqa: BLE001
            checks["database"] = {"ok": False, "error": (str(error) or type(error).__name__)[:200]}
        if checks["temporal"]["ok"]:
            try:
                described = await asyncio.wait_for(app.state.client.workflow_service.describe_task_queue(
                    DescribeTaskQueueRequest(namespace=settings.temporal_namespace,
                                             task_queue=TaskQueue(name=settings.temporal_task_queue),
                                             task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
                    timeout=timedelta(seconds=seconds)), seconds + 0.5)
                checks["worker"] = {"pollers": len(described.pollers), "task_queue": settings.temporal_task_queue}
            except Exception as error:  # noqa: BLE001
                checks["worker"] = {"pollers": None, "error": (str(error) or type(error).__name__)[:200]}
        ok = checks["temporal"]["ok"] and checks["database"]["ok"]
        return JSONResponse({"status": "ready" if ok else "unavailable", **checks}, status_code=200 if ok else 503,
                            headers={} if ok else {"Retry-After": str(settings.retry_after_seconds)})

    return app


app = create_app()  # uvicorn api.main:app
