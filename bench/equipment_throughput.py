"""Benchmark: how fast the equipment lifecycle runs on a real Temporal dev server.

Measures, in one run and on one machine:
- order → called_off latency (start + registered update) and deliver latency (update), p50/p95;
- throughput of N devices ordered and delivered concurrently vs one at a time (the ratio);
- SQLite vs PostgreSQL for the same concurrent load (when PostgreSQL is reachable).
Usage: python -m bench.equipment_throughput [N]   (default 100)"""
from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from activities.audit import ensure_search_attributes
from codec import make_data_converter, new_key_spec
from config import Settings
from db.migrate import upgrade
from db.seed import load_reference_data
from db.session import make_sessionmaker
from domain.equipment import DeviceCommand, DeviceOrder, DeviceStart, Deliver, device_workflow_id
from worker import build_worker
from workflows.equipment import DeviceLifecycleWorkflow



async def one_device(client, queue: str, number: str) -> tuple[float, float]:
    started = time.perf_counter()
    handle = await client.start_workflow(
        DeviceLifecycleWorkflow.run,
        DeviceStart(order=DeviceOrder(order_number=number, model_code="LAT-5450", unit_id="TR-KS", user_ref="E1")),
        id=device_workflow_id(number), task_queue=queue)
    await handle.execute_update(DeviceLifecycleWorkflow.registered)
    ordered = time.perf_counter()
    await handle.execute_update(DeviceLifecycleWorkflow.apply,
                                DeviceCommand(actor="bench", action=Deliver(serial_number=number)))
    return ordered - started, time.perf_counter() - ordered


async def run(client, url: str, n: int, concurrent: bool) -> dict[str, float]:
    upgrade(url)
    sessions = make_sessionmaker(url)
    load_reference_data(sessions, 2026)
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    prefix = f"B{uuid.uuid4().hex[:6].upper()}"
    async with build_worker(client, sessions, Settings(database_url=url, temporal_task_queue=queue)):
        began = time.perf_counter()
        numbers = [f"{prefix}-{i:05d}" for i in range(n)]
        if concurrent:
            results = await asyncio.gather(*(one_device(client, queue, x) for x in numbers))
        else:
            results = [await one_device(client, queue, x) for x in numbers]
        elapsed = time.perf_counter() - began
    sessions.kw["bind"].dispose()
    order_ms = sorted(r[0] * 1000 for r in results)
    deliver_ms = sorted(r[1] * 1000 for r in results)
    q = lambda xs, p: xs[min(len(xs) - 1, int(p * len(xs)))]  # noqa: E731
    return {"devices/s": n / elapsed, "order p50 ms": statistics.median(order_ms), "order p95 ms": q(order_ms, 0.95),
            "deliver p50 ms": statistics.median(deliver_ms), "deliver p95 ms": q(deliver_ms, 0.95)}


def postgres_url() -> str | None:
    from bench.processes import create_postgres_database

    try:
        return create_postgres_database()
    except Exception:  # noqa: BLE001 - PostgreSQL away: the SQLite rows only
        return None


async def main(n: int) -> None:
    binary = Path(sys.executable).parent / "temporal"
    env = await WorkflowEnvironment.start_local(data_converter=make_data_converter(new_key_spec()),  # as the worker
                                                dev_server_existing_path=str(binary), ui=False)
    async with env:
        await ensure_search_attributes(env.client, "default")  # issue 11: upserted on every move
        with tempfile.TemporaryDirectory() as tmp:
            rows = {
                "sqlite, one at a time": await run(env.client, f"sqlite:///{tmp}/seq.db", max(10, n // 5), False),
                "sqlite, concurrent": await run(env.client, f"sqlite:///{tmp}/conc.db", n, True),
            }
            pg = postgres_url()
            if pg:
                from bench.processes import drop_postgres_database

                try:
                    rows["postgresql, concurrent"] = await run(env.client, pg, n, True)
                finally:
                    drop_postgres_database(pg)
    print(f"Equipment lifecycle on the Temporal dev server, N={n} (order + deliver per device)")
    header = ["run", "devices/s", "order p50 ms", "order p95 ms", "deliver p50 ms", "deliver p95 ms"]
    print(" | ".join(f"{h:>22}" if i == 0 else f"{h:>14}" for i, h in enumerate(header)))
    for name, row in rows.items():
        print(f"{name:>22} | " + " | ".join(f"{row[h]:>14.1f}" for h in header[1:]))
    base = rows["sqlite, one at a time"]["devices/s"]
    for name, row in rows.items():
        print(f"ratio {name} / one at a time: {row['devices/s'] / base:.2f}x")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100))
