"""The Temporal SDK runtime of a Ramflow process: the worker's `/metrics` from the SDK's own Prometheus
exporter (task-queue polls, schedule-to-start latency, workflow-task and activity execution) on a port from
Settings, and the SDK core's log lines forwarded into Python logging (so they share the process's format)."""
from __future__ import annotations

import logging
from typing import Any

from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

CORE_LOGGER = "temporalio.core"


def prometheus_runtime(bind_address: str | None, service: str = "ramflow-worker") -> Runtime:
    """A Temporal runtime exporting its metrics at http://<bind_address>/metrics (None: no exporter), in
    Prometheus' own conventions: counters end in `_total`, durations are seconds."""
    metrics = None
    if bind_address:
        metrics = PrometheusConfig(bind_address=bind_address, counters_total_suffix=True, durations_as_seconds=True)
    return Runtime(telemetry=TelemetryConfig(
        logging=LoggingConfig(filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                              forwarding=LogForwardingConfig(logger=logging.getLogger(CORE_LOGGER))),
        metrics=metrics,
        global_tags={"service": service},
    ))


def worker_runtime(settings: Any) -> Runtime:
    """The worker's runtime; WORKER_METRICS_PORT=0 turns the exporter off."""
    address = f"{settings.worker_metrics_host}:{settings.worker_metrics_port}" if settings.worker_metrics_port else None
    return prometheus_runtime(address)


def api_runtime() -> Runtime:
    """The API's client runtime: no exporter (the API has its own /metrics), logs forwarded."""
    return prometheus_runtime(None, service="ramflow-api")
