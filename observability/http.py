"""The API's operations surface: request metrics by route template and status, one log event per request,
and `GET /metrics` (Prometheus text format; it names no person and no business key). Issue 20: /metrics answers only the bearer METRICS_TOKEN (Prometheus' `authorization`),
or without a token set only callers on loopback (the embedded stack); and one page is computed at most
every METRICS_CACHE_SECONDS, however many scrape at once, so scrapes cannot crowd out the API's reads."""
from __future__ import annotations

import hmac
import logging
import threading
import time
from typing import Any

from anyio import to_thread
from fastapi import FastAPI, Request, Response
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

    page = CachedPage(lambda: generate_latest(registry), app.state.settings.metrics_cache_seconds)

    @app.get(METRICS_PATH, include_in_schema=False)
    async def metrics(request: Request) -> Response:
        refusal = metrics_refusal(request, app.state.settings)
        if refusal is not None:
            limiter = getattr(app.state, "rate_limiter", None)  # a guesser is throttled like any caller without a token
            if limiter is not None:
                await limiter.hit(f"address {request.client.host if request.client else 'unknown'}")
            return refusal
        # the business gauges read the database: in a thread, never on the event loop
        return Response(await to_thread.run_sync(page.get), media_type=CONTENT_TYPE_LATEST)

    return registry


LOOPBACK = frozenset({"127.0.0.1", "::1"})


def metrics_refusal(request: Request, settings: Any) -> Response | None:
    """None when the caller may read /metrics: the bearer METRICS_TOKEN, or (no token set) a loopback caller."""
    token = settings.metrics_token
    if token is None:
        if request.client is not None and request.client.host in LOOPBACK:
            return None
        return Response("metrics: only on loopback while METRICS_TOKEN is unset\n", status_code=403,
                        media_type="text/plain")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.get_secret_value().encode()):
        return None
    return Response("metrics: the bearer METRICS_TOKEN is required\n", status_code=401, media_type="text/plain",
                    headers={"WWW-Authenticate": 'Bearer realm="ramflow-metrics"'})


class CachedPage:
    """The page, computed at most once per `seconds`; concurrent callers wait for the one computing it."""

    def __init__(self, compute: Any, seconds: float, clock: Any = time.monotonic) -> None:
        self.compute, self.seconds, self.clock = compute, seconds, clock
        self._lock = threading.Lock()
        self._page: tuple[float, bytes] | None = None

    def get(self) -> bytes:
        with self._lock:
            if self._page is None or self.clock() - self._page[0] >= self.seconds:
                self._page = (self.clock(), self.compute())
            return self._page[1]
