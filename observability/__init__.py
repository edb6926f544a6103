"""Operating Ramflow (issue 13): structured logs, traces and metrics for the API and the worker.

- `observability.logging`: JSON events (production) or readable text (embedded stack), trace id and
  workflow identity on every line.
- `observability.tracing`: OpenTelemetry provider, OTLP export behind one setting, Temporal's TracingInterceptor.
- `observability.http`: the API's request metrics, request spans and `/metrics`.
- `observability.business`: gauges read from Ramflow's database at scrape time.
- `observability.temporal_metrics`: the worker's Temporal SDK runtime with its Prometheus exporter.
"""
