"""The worker's `/metrics`: the Temporal SDK's own Prometheus exporter (task-queue polls, schedule-to-start
latency, workflow-task and activity execution), served by the SDK's runtime on a port from Settings."""
from __future__ import annotations

from typing import Any

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig


def prometheus_runtime(bind_address: str) -> Runtime:
    """A Temporal runtime exporting its metrics at http://<bind_address>/metrics, in Prometheus' own
    conventions: counters end in `_total`, durations are seconds."""
    return Runtime(telemetry=TelemetryConfig(
        metrics=PrometheusConfig(bind_address=bind_address, counters_total_suffix=True, durations_as_seconds=True),
        global_tags={"service": "ramflow-worker"},
    ))


def worker_runtime(settings: Any) -> Runtime | None:
    """None when WORKER_METRICS_PORT is 0 (the SDK's default runtime, no exporter)."""
    if not settings.worker_metrics_port:
        return None
    return prometheus_runtime(f"{settings.worker_metrics_host}:{settings.worker_metrics_port}")
