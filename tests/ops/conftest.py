"""Fixtures of the operations tests (issue 13): a Temporal test server whose runtime exports the SDK's
Prometheus metrics on a free port, traced clients with an in-memory span exporter, and the API over them."""
from __future__ import annotations

import asyncio
import socket
import urllib.request
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from dataclasses import dataclass

import pytest
import pytest_asyncio
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families
from temporalio.testing import WorkflowEnvironment

from observability.temporal_metrics import prometheus_runtime
from observability.tracing import tracing_interceptor
from activities.audit import ensure_search_attributes
from tests.clock import run_day, skip_server_to
from tests.conftest import TEST_DATA_CONVERTER, binary
from tests.helpers import poll


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _WhileRecording(SimpleSpanProcessor):
    """Exports only while a test that asked for `spans` runs (the global provider outlives it)."""

    recording = False

    def on_end(self, span) -> None:  # noqa: ANN001
        if self.recording:
            super().on_end(span)


@pytest.fixture(scope="session")
def _span_processor() -> _WhileRecording:
    """The global tracer provider is set once per process; its processor records into memory."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    processor = _WhileRecording(InMemorySpanExporter())
    provider.add_span_processor(processor)
    return processor


@pytest.fixture
def spans(_span_processor: _WhileRecording) -> Iterator[InMemorySpanExporter]:
    """The spans finished during this test."""
    exporter = _span_processor.span_exporter
    exporter.clear()
    _span_processor.recording = True
    yield exporter
    _span_processor.recording = False
    exporter.clear()


@dataclass
class OpsEnv:
    env: WorkflowEnvironment
    metrics_url: str


@pytest_asyncio.fixture
async def ops_env(_span_processor: _WhileRecording, clock) -> AsyncIterator[OpsEnv]:  # noqa: ANN001
    """A time-skipping server reached through a runtime with the Prometheus exporter and a traced client,
    as worker.main() builds them; on RAMFLOW_TEST_TODAY's day like `env` (tests/clock.py)."""
    address = f"127.0.0.1:{free_port()}"
    environment = await WorkflowEnvironment.start_time_skipping(
        data_converter=TEST_DATA_CONVERTER, test_server_existing_path=binary("temporal-test-server"),
        runtime=prometheus_runtime(address), interceptors=[tracing_interceptor()],
    )
    if run_day() is not None:
        await skip_server_to(environment, datetime.now(timezone.utc))
    await ensure_search_attributes(environment.client, "default")  # issue 11: upserted on every move
    yield OpsEnv(environment, f"http://{address}/metrics")
    await environment.shutdown()


@pytest_asyncio.fixture
async def ops_api(ops_env: OpsEnv, sessions, settings, executor, bearer):
    """The API (with its /metrics) over a real worker on the instrumented client."""
    import httpx

    from api.main import create_app
    from worker import build_worker

    async with build_worker(ops_env.env.client, sessions, settings, executor=executor):
        app = create_app(settings=settings, client=ops_env.env.client, sessions=sessions)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ramflow.test",
                                     headers=bearer("it.anna", "it-staff", "it-admin", team="användarstöd"),
                                     timeout=30) as http:
            yield http


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Exposition text → {(sample name, labels): value}."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(parsed: dict, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, l), v in parsed.items() if n == name and wanted <= set(l))


async def scrape(url: str) -> str:
    return await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=10).read().decode())


async def move_a_ticket_and_a_device(http) -> None:
    """Through the API: a laptop ordered, delivered and put on a 3-month renewal period (its renewal, EQ-5, is
    then due in 59-62 days); an intefunktion ticket reported two weeks ago (breached at once) and a fresh one."""
    from datetime import datetime, timedelta, timezone

    ordered = await http.post("/api/v1/orders", json={"order_number": "ORD-OPS-1", "model_code": "LAT-5450",
                                                      "unit_id": "UL-KS", "user_ref": "E2101"})
    assert ordered.status_code == 201, ordered.text
    delivered = await http.post("/api/v1/devices/ORD-OPS-1/events",
                                json={"action": {"event": "deliver", "serial_number": "OPS0001"}})
    assert delivered.status_code == 200 and delivered.json()["state"] == "in_use", delivered.text
    period = await http.put("/api/v1/devices/ORD-OPS-1/renewal-period", json={"renewal_months": 3})
    assert period.status_code == 200, period.text
    refused = await http.post("/api/v1/devices/ORD-OPS-1/events", json={"action": {"event": "sell", "buyer": "x",
                                                                                   "price": "1"}})
    assert refused.status_code == 409
    reported = (datetime.now(timezone.utc) - timedelta(days=14)).replace(microsecond=0)
    late = await http.post("/api/v1/tickets", json={"number": "T-OPS-LATE", "unit_id": "TR-KS", "reporter_ref": "E5001",
                                                    "title": "Outlook does not start", "function": "email_calendar",
                                                    "reported_at": reported.isoformat()})
    assert late.status_code == 201, late.text
    fresh = await http.post("/api/v1/tickets", json={"number": "T-OPS-NEW", "unit_id": "TR-KS", "reporter_ref": "E5002",
                                                     "title": "New screen please"})
    assert fresh.status_code == 201, fresh.text
    breached = await poll(http, "/api/v1/tickets/T-OPS-LATE", lambda t: t["breached"])
    assert breached["breached"]
