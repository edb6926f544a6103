"""Issue 13: one trace from the HTTP request through the workflow's update to its activities and the
database (in-memory span exporter; OTLP export stays off unless OTLP_ENDPOINT is set)."""
from __future__ import annotations

import asyncio

import pytest

from config import Settings
from observability.tracing import instrument_database


@pytest.fixture
def traced_database(sessions):
    instrument_database(sessions)  # as worker.main() does for its engine


def _trace(spans, trace_id: int) -> list:
    return [s for s in spans if s.context.trace_id == trace_id]


def _one(spans, name: str):
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, (name, sorted(s.name for s in spans))
    return found[0]


async def test_an_order_is_one_trace_from_http_through_the_workflow_to_its_activities_and_the_database(
        ops_api, spans, traced_database):
    spans.clear()
    response = await ops_api.post("/api/v1/orders", json={"order_number": "ORD-TRACE-1", "model_code": "LAT-5450",
                                                          "unit_id": "UL-KS", "user_ref": "E2101"})
    assert response.status_code == 201
    await asyncio.sleep(0.2)
    finished = spans.get_finished_spans()
    http = _one(finished, "POST /api/v1/orders")
    trace = _trace(finished, http.context.trace_id)
    names = {s.name for s in trace}
    # the front door (issue 7) starts a process and waits for its registration in one Update-with-Start
    assert {"StartUpdateWithStartWorkflow:DeviceLifecycle", "RunWorkflow:DeviceLifecycle"} <= names, names
    assert {"RunActivity:equipment.register_order", "RunActivity:equipment.call_off"} <= names, names  # EQ-1, EQ-2
    database = [s for s in trace if s.attributes.get("db.system") == "sqlite"]
    assert database, names  # the trace's last hop: SQL statements of the activities
    activity_ids = {s.context.span_id for s in trace if s.name.startswith("RunActivity:")}
    assert any(s.parent is not None and s.parent.span_id in activity_ids for s in database)


async def test_an_event_call_links_the_workflow_update_and_its_activities_to_the_http_trace(ops_api, spans):
    await ops_api.post("/api/v1/orders", json={"order_number": "ORD-TRACE-2", "model_code": "LAT-5450",
                                               "unit_id": "UL-KS", "user_ref": "E2101"})
    spans.clear()
    response = await ops_api.post("/api/v1/devices/ORD-TRACE-2/events",
                                  json={"action": {"event": "deliver", "serial_number": "TRACE02"}})
    assert response.status_code == 200
    await asyncio.sleep(0.2)
    finished = spans.get_finished_spans()
    http = _one(finished, "POST /api/v1/devices/{order_number}/events")
    assert "StartWorkflowUpdate:apply" in {s.name for s in _trace(finished, http.context.trace_id)}
    # Temporal runs the update inside the workflow's own trace and links it to the caller's span
    handled = _one(finished, "HandleUpdate:apply")
    assert http.context.trace_id in {link.context.trace_id for link in handled.links}
    inside = {s.name for s in _trace(finished, handled.context.trace_id)}
    assert {"RunActivity:equipment.mirror_transition", "RunActivity:equipment.change_cost_bearer"} <= inside  # EQ-6


def test_otlp_export_is_off_by_default_and_one_setting_turns_it_on():
    assert Settings().otlp_endpoint is None
    assert Settings(otlp_endpoint="http://otel-collector:4318").otlp_endpoint == "http://otel-collector:4318"
