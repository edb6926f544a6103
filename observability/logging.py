"""One log event per line: JSON in production (`LOG_FORMAT=json`), readable text on the embedded stack.

Every line carries what is known where it was written: the trace id of the current OpenTelemetry span,
the workflow id and run id (from Temporal's workflow and activity loggers, or the activity context),
the business key (order or ticket number: the part of the workflow id after its kind) and the actor.
"""
from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any

from opentelemetry import trace

# The acting user of the request being served (set by the API's middleware).
current_actor: contextvars.ContextVar[str | None] = contextvars.ContextVar("ramflow_actor", default=None)

# Loggers that say too much at INFO: `transitions` logs every callback of every move.
QUIET_LOGGERS = ("transitions", "httpx", "httpcore", "urllib3")
TRANSITION_LOGGER = "ramflow.transition"
TEMPORAL_EXTRAS = ("temporal_workflow", "temporal_activity", "temporal_log")  # read above or already in the message
_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def business_key(workflow_id: str | None) -> str | None:
    """`device-ORD-2026-0001` → `ORD-2026-0001`, `ticket-T2026-00001` → `T2026-00001`."""
    if not workflow_id or "-" not in workflow_id:
        return None
    return workflow_id.split("-", 1)[1]


def _temporal_identity() -> dict[str, Any]:
    """Workflow id and run id when the line is written inside an activity (also local activities)."""
    try:
        from temporalio import activity

        if activity.in_activity():
            info = activity.info()
            return {"workflow_id": info.workflow_id, "run_id": info.workflow_run_id,
                    "activity": info.activity_type}
    except Exception:  # noqa: BLE001 - never let logging fail a caller
        pass
    return {}


def event_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields of one record, shared by both formats."""
    fields: dict[str, Any] = {}
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        fields["trace_id"] = format(context.trace_id, "032x")
        fields["span_id"] = format(context.span_id, "016x")
    fields.update(_temporal_identity())
    wf = getattr(record, "temporal_workflow", None)  # temporalio's workflow.logger
    if isinstance(wf, dict):
        fields.update(workflow_id=wf.get("workflow_id"), run_id=wf.get("run_id"), workflow_type=wf.get("workflow_type"))
    act = getattr(record, "temporal_activity", None)  # temporalio's activity.logger
    if isinstance(act, dict):
        fields.update(workflow_id=act.get("workflow_id"), run_id=act.get("workflow_run_id"),
                      activity=act.get("activity_type"))
    for key, value in record.__dict__.items():  # extra={...} of the caller
        if key not in _RESERVED and not key.startswith("_") and key not in TEMPORAL_EXTRAS:
            fields[key] = value
    fields.setdefault("business_key", business_key(fields.get("workflow_id")))
    actor = current_actor.get()
    if actor and "actor" not in fields:
        fields["actor"] = actor
    return {key: value for key, value in fields.items() if value is not None}


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        event = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "service": self.service,
            "message": record.getMessage(),
            **event_fields(record),
        }
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Readable lines for the embedded stack, the structured fields appended as key=value."""

    SHOWN = ("business_key", "actor", "workflow_id", "trace_id")

    def __init__(self, service: str) -> None:
        super().__init__(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = event_fields(record)
        tail = " ".join(f"{key}={fields[key]}" for key in self.SHOWN if key in fields)
        return f"{line} [{tail}]" if tail else line


def configure_logging(settings: Any, service: str) -> logging.Handler:
    """Route every logger (Ramflow, Temporal, uvicorn) through one stdout handler in the chosen format."""
    json_format = settings.log_format == "json"
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service) if json_format else TextFormatter(service))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # one format for the whole process
        uv = logging.getLogger(name)
        uv.handlers.clear()
        uv.propagate = True
    if json_format:  # the identity goes into fields, not appended to the message text
        from temporalio import activity, workflow

        workflow.logger.workflow_info_on_message = False
        activity.logger.activity_info_on_message = False
    return handler


def log_transition(process_key: str, record: Any) -> None:
    """One event per move of a process (written where the move is mirrored to the database)."""
    logging.getLogger(TRANSITION_LOGGER).info(
        "%s %s: %s -> %s (%s)", process_key, record.event, record.from_state, record.to_state, record.rule,
        extra={"business_key": process_key, "actor": record.actor, "event": record.event, "seq": record.seq,
               "from_state": record.from_state, "to_state": record.to_state, "rule": record.rule},
    )
