"""Issue 13: one JSON event per line in production, with workflow id, run id, business key, actor and
the trace id; readable text on the embedded stack; no `transitions` chatter at INFO."""
from __future__ import annotations

import io
import json
import logging

import pytest

from config import Settings
from observability.logging import JsonFormatter, TextFormatter, configure_logging


@pytest.fixture
def json_lines():
    """Every event of Ramflow's loggers, formatted as production formats them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("test"))
    logger = logging.getLogger("ramflow")
    old_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield lambda: [line for line in stream.getvalue().splitlines() if line]
    logger.removeHandler(handler)
    logger.setLevel(old_level)


async def test_log_lines_are_json_with_workflow_run_business_key_actor_and_trace_id(ops_api, json_lines):
    response = await ops_api.post("/api/v1/orders", json={"order_number": "ORD-LOG-1", "model_code": "LAT-5450",
                                                          "unit_id": "UL-KS", "user_ref": "E2101"})
    assert response.status_code == 201
    events = [json.loads(line) for line in json_lines()]  # every line is one valid JSON object
    request = next(e for e in events if e["logger"] == "ramflow.api" and e.get("http_route") == "/api/v1/orders")
    assert request["actor"] == "it.anna" and request["http_status"] == 201 and len(request["trace_id"]) == 32
    moves = [e for e in events if e["logger"] == "ramflow.transition"]
    assert [(m["event"], m["from_state"], m["to_state"], m["rule"]) for m in moves] == [
        ("order", "ordered", "ordered", "EQ-1"), ("call_off", "ordered", "called_off", "EQ-2")]
    for move in moves:
        assert move["workflow_id"] == "device-ORD-LOG-1" and move["business_key"] == "ORD-LOG-1"
        assert move["run_id"] and move["level"] == "INFO" and move["ts"].endswith("+00:00")
        assert move["trace_id"] == request["trace_id"]  # the HTTP request's trace reaches the activity's log line
    assert [m["actor"] for m in moves] == ["it.anna", "ramflow"]


def test_text_lines_are_readable_with_the_fields_appended():
    record = logging.makeLogRecord({"name": "ramflow.transition", "levelno": logging.INFO, "levelname": "INFO",
                                    "msg": "ORD-1 deliver: called_off -> delivered (EQ-1)", "business_key": "ORD-1",
                                    "actor": "it.anna"})
    line = TextFormatter("worker").format(record)
    assert "worker INFO ramflow.transition: ORD-1 deliver: called_off -> delivered (EQ-1)" in line
    assert line.endswith("[business_key=ORD-1 actor=it.anna]") and "{" not in line


def test_configure_logging_formats_every_logger_and_silences_transitions():
    from temporalio import activity, workflow

    root = logging.getLogger()
    saved = (list(root.handlers), root.level, workflow.logger.workflow_info_on_message,
             activity.logger.activity_info_on_message)
    try:
        handler = configure_logging(Settings(log_format="json", log_level="INFO"), "worker")
        assert isinstance(handler.formatter, JsonFormatter) and root.handlers == [handler]
        assert not logging.getLogger("transitions").isEnabledFor(logging.INFO)  # one line per move is ours
        assert logging.getLogger("uvicorn.access").propagate and not logging.getLogger("uvicorn.access").handlers
        assert workflow.logger.workflow_info_on_message is False  # identity goes into fields in JSON
        handler = configure_logging(Settings(log_format="text"), "api")
        assert isinstance(handler.formatter, TextFormatter)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        workflow.logger.workflow_info_on_message, activity.logger.activity_info_on_message = saved[2], saved[3]


def test_log_format_is_text_or_json():
    with pytest.raises(ValueError, match="log_format"):
        Settings(log_format="xml")
