"""Traces from the HTTP request through the workflow's update to its activities and the database.

OpenTelemetry SDK; Temporal's own `TracingInterceptor` carries the context across the server.
Spans are exported over OTLP/HTTP only when `OTLP_ENDPOINT` is set (off by default)."""
from __future__ import annotations

import logging
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from temporalio.contrib.opentelemetry import TracingInterceptor

log = logging.getLogger(__name__)
_configured: TracerProvider | None = None


def setup_tracing(settings: Any, service: str) -> TracerProvider:
    """The process's tracer provider (set once, globally); exports over OTLP when configured.
    Without an exporter spans still exist, so trace ids reach the log lines."""
    global _configured
    if _configured is not None:
        return _configured
    provider = TracerProvider(resource=Resource.create({"service.name": service, "service.namespace": "ramflow"}))
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        log.info("exporting traces over OTLP to %s", endpoint)
    trace.set_tracer_provider(provider)
    _configured = provider
    return provider


def tracing_interceptor(provider: trace.TracerProvider | None = None) -> TracingInterceptor:
    """Client and worker interceptor: a client's interceptors apply to workers built on it too."""
    tracer = (provider or trace.get_tracer_provider()).get_tracer("ramflow.temporal")
    return TracingInterceptor(tracer)


def instrument_database(sessions: Any, provider: trace.TracerProvider | None = None) -> None:
    """A client span per SQL statement, child of the activity or request that runs it (the trace's last hop).
    Takes a (async_)sessionmaker or an engine. SQLAlchemy's own cursor events, so no instrumentation package
    whose supported-version range lags SQLAlchemy releases."""
    from sqlalchemy import event

    engine = getattr(sessions, "kw", {}).get("bind", sessions)
    engine = getattr(engine, "sync_engine", engine)  # AsyncEngine → its Engine
    if not hasattr(engine, "dialect") or getattr(engine, "_ramflow_traced", False):
        return
    tracer = (provider or trace.get_tracer_provider()).get_tracer("ramflow.db")
    system = engine.dialect.name

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        verb = statement.lstrip().split(" ", 1)[0].upper()
        span = tracer.start_span(f"{verb} {system}", kind=trace.SpanKind.CLIENT, attributes={
            "db.system": system, "db.statement": statement[:2000]})  # parameters (personal data) never recorded
        context._ramflow_span = span

    @event.listens_for(engine, "after_cursor_execute")
    def _end(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        span = getattr(context, "_ramflow_span", None)
        if span is not None:
            span.end()

    @event.listens_for(engine, "handle_error")
    def _error(exception_context) -> None:  # noqa: ANN001
        span = getattr(exception_context.execution_context, "_ramflow_span", None)
        if span is not None:
            span.record_exception(exception_context.original_exception)
            span.set_status(trace.Status(trace.StatusCode.ERROR))
            span.end()

    engine._ramflow_traced = True
