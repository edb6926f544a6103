"""The API's operations surface: request metrics by route template and status, one log event per request, and `GET /metrics` (Prometheus text format, unauthenticated like /health:
it names no person and no business key)."""
from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy.orm import Session, sessionmaker

from observability.business import BusinessCollector
from observability.logging import current_actor

log = logging.getLogger("ramflow.api")
METRICS_PATH = "/metrics"
UNTRACED = frozenset({METRICS_PATH, "/health"})  # scrapes and health checks make no spans
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class RequestMetrics:
    """Pure ASGI middleware: counts and times every request under its route template (never the raw
    path: order and ticket numbers would make a series per business key)."""

    def __init__(self, app: Any, requests: Counter, latency: Histogram) -> None:
        self.app, self.requests, self.latency = app, requests, latency

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}
        # the actor is the validated token's subject (api.auth.authenticate sets it once it knows the caller,
        # and keeps the principal on the request state): never a header the caller chooses
        state = scope.setdefault("state", {})
        token = current_actor.set(None)

        async def send_status(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            took = time.perf_counter() - started
            template = route_template(scope)
            labels = {"method": scope["method"], "route": template, "status": str(status["code"])}
            self.requests.labels(**labels).inc()
            self.latency.labels(**labels).observe(took)
            principal = state.get("principal")
            current_actor.set(getattr(principal, "subject", None))
            log.info("%s %s %s %.1f ms", scope["method"], template, status["code"], took * 1000,
                     extra={"http_method": scope["method"], "http_route": template, "http_status": status["code"],
                            "duration_ms": round(took * 1000, 1)})
            current_actor.reset(token)


def route_template(scope: dict) -> str:
    """`/api/v1/devices/{order_number}/events`: the matched route's full template (FastAPI keeps the one with
    the router's prefix in its effective route context; routes of the app itself carry it on `route`)."""
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    template = getattr(context, "path_format", None) or getattr(scope.get("route"), "path_format", None)
    return template or "<unmatched>"


def untraced(scope: dict) -> bool:
    """FastAPI's native request spans skip scrapes and health checks (`FastAPI(telemetry={"exclude": ...})`)."""
    return scope.get("path") in UNTRACED


def _sync_sessions(app: FastAPI) -> sessionmaker[Session]:
    """The business gauges read with a synchronous session: the app's own when it has one, else one of
    their own on DATABASE_URL (built once, on the first scrape)."""
    sessions = getattr(app.state, "sessions", None)
    if isinstance(sessions, sessionmaker):  # an async_sessionmaker is not one
        return sessions
    if getattr(app.state, "metrics_sessions", None) is None:
        from db.session import make_sessionmaker

        app.state.metrics_sessions = make_sessionmaker(app.state.settings.database_url)
    return app.state.metrics_sessions


def instrument_app(app: FastAPI) -> CollectorRegistry:
    """Metrics and request logs for `app`; one registry per app (tests build many apps). Request spans are
    FastAPI's own (native OpenTelemetry telemetry, on once a tracer provider is set: `setup_tracing`)."""
    registry = CollectorRegistry()
    requests = Counter("ramflow_http_requests", "HTTP requests answered, by method, route template and status",
                       ["method", "route", "status"], registry=registry)
    latency = Histogram("ramflow_http_request_duration_seconds", "HTTP request latency by method, route template and status",
                        ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=registry)
    registry.register(BusinessCollector(lambda: _sync_sessions(app), app.state.settings.renewal_lead_days))
    app.add_middleware(RequestMetrics, requests=requests, latency=latency)
    app.state.metrics_registry = registry

    @app.get(METRICS_PATH, include_in_schema=False)
    def metrics() -> Response:  # sync: FastAPI runs it in a thread, the DB queries never block the loop
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return registry
