"""Benchmark (issue 15): the fleet — N live device workflows and N/4 open tickets on the embedded stack (dev
server persisted to its file, PostgreSQL), grown step by step to each size given. At each size: start rate
(devices ordered + delivered per second, against the skeleton's rate measured in the same run), the Temporal
database's bytes per open workflow, the worker's resident memory, p50/p99 of a device's view (GET
/devices/{n}: a live Query) and of a register search (GET /devices?unit_id&state), against the bare SQL of
that search.

The bulk of the fleet is built through the SDK directly (the same workflow, the same Update-with-Start +
`apply(deliver)` calls and the same inputs as the API gives: DeviceStart with the default 30-day lead time),
devices and tickets in parallel: through the API (≈ 5 starts/s on 2 cores) 20,000 devices take over an hour.
The API's own start rate (POST /orders + POST /devices/{n}/events) is measured on a sample (BENCH_API_SAMPLE,
default 200) at the start; those devices are part of the fleet. BENCH_WORKERS worker processes (default 1).

Usage: python -m bench.fleet [size ...]   (default 1000 5000; the issue's region is 20000)"""
from __future__ import annotations

import asyncio
import os
import random
import sys
import time

import httpx
from sqlalchemy import create_engine, select

from bench.region import Region, run, load_average, machine, p50_p99_ms

CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "50"))
API_SAMPLE = int(os.environ.get("BENCH_API_SAMPLE", "200"))
TICKET_CONCURRENCY = int(os.environ.get("BENCH_TICKET_CONCURRENCY", "20"))
SKELETON_DEVICES = int(os.environ.get("BENCH_SKELETON_DEVICES", "300"))
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "200"))
UNITS = ("TR-KS", "TR-BUF", "TR-SOC", "TR-SBF", "UL-KS", "UL-BUF", "UL-VOF", "UL-SBF")


async def device(region: Region, number: str, unit: str, lead_days: int = 30) -> None:
    """Order + delivery through the SDK, the same calls as the API (Update-with-Start, then `apply`)."""
    from temporalio.client import WithStartWorkflowOperation
    from temporalio.common import WorkflowIDConflictPolicy

    from domain.equipment import Deliver, DeviceCommand, DeviceOrder, DeviceStart, device_workflow_id
    from workflows.equipment import DeviceLifecycleWorkflow

    def start() -> WithStartWorkflowOperation:  # one per attempt: the SDK does not reuse an operation
        return WithStartWorkflowOperation(
            DeviceLifecycleWorkflow.run, DeviceStart(order=DeviceOrder(
                order_number=number, model_code="LAT-5450", unit_id=unit, user_ref=user),
                ordered_by="bench", renewal_lead_days=lead_days),
            id=device_workflow_id(number), task_queue=region.queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)

    user = f"E{random.randint(1000, 9999)}"
    await patiently(lambda: region.client.execute_update_with_start_workflow(
        DeviceLifecycleWorkflow.registered, start_workflow_operation=start()))
    await patiently(lambda: region.client.get_workflow_handle(device_workflow_id(number)).execute_update(
        DeviceLifecycleWorkflow.apply, DeviceCommand(actor="bench", action=Deliver(serial_number=f"S-{number}")),
        id=f"deliver-{number}"))


async def api_call(region: Region, method: str, path: str, body: dict, key: str | None = None) -> None:
    """One call as a well-behaved client makes it: a 503 or a timeout is asked again, which is safe (the
    business key or the Idempotency-Key)."""
    while True:
        try:
            answer = await region.http.request(method, path, json=body,
                                               headers={"Idempotency-Key": key} if key else None)
        except httpx.TimeoutException:
            continue
        if answer.status_code != 503:
            assert answer.status_code in (200, 201), answer.text
            return
        await asyncio.sleep(1)


async def api_device(region: Region, number: str, unit: str) -> None:
    """Order + delivery through the HTTP API, as a person's client does it (rules EQ-1, EQ-2, EQ-3)."""
    await api_call(region, "POST", "/orders", {"order_number": number, "model_code": "LAT-5450", "unit_id": unit,
                                               "user_ref": f"E{random.randint(1000, 9999)}"})
    await api_call(region, "POST", f"/devices/{number}/events",
                   {"action": {"event": "deliver", "serial_number": f"S-{number}"}}, key=f"deliver-{number}")


async def patiently(call, attempts: int = 30):
    """An Update whose wait outlasts the server's long poll on loaded cores is asked again: safe, the start
    reuses the running workflow (business key) and the delivery has its Update ID."""
    from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
    from temporalio.service import RPCError, RPCStatusCode

    for attempt in range(attempts):
        try:
            return await call()
        except (WorkflowUpdateRPCTimeoutOrCancelledError, RPCError) as error:
            # on the loaded box the server also answers UNAVAILABLE / DEADLINE_EXCEEDED, or aborts an Update
            # whose workflow task timed out; only a refusal of the request itself is final
            if attempt == attempts - 1 or (isinstance(error, RPCError) and error.status in (
                    RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.NOT_FOUND, RPCStatusCode.PERMISSION_DENIED)):
                raise
            print(f"  an Update outlasted the server's long poll or was aborted ({error}); asked again", flush=True)
            await asyncio.sleep(1)


async def gather_limited(count: int, make, concurrency: int = CONCURRENCY) -> float:
    """Run make(i) for i in range(count), at most `concurrency` at a time; seconds taken."""
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await make(i)

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return time.perf_counter() - began


async def skeleton_device(region: Region, number: str, deliver: bool = True) -> None:
    """The skeleton's order (+ delivery), asked again like `device` when the loaded server's long poll ends."""
    from temporalio.client import WithStartWorkflowOperation
    from temporalio.common import WorkflowIDConflictPolicy

    from bench.skeleton import SkeletonWorkflow

    await patiently(lambda: region.client.execute_update_with_start_workflow(
        SkeletonWorkflow.registered, start_workflow_operation=WithStartWorkflowOperation(
            SkeletonWorkflow.run, number, id=f"skeleton-{number}", task_queue=f"{region.queue}-skeleton",
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)))
    if deliver:
        await patiently(lambda: region.client.get_workflow_handle(f"skeleton-{number}").execute_update(
            SkeletonWorkflow.deliver, f"S-{number}", id=f"deliver-{number}"))


async def skeleton_rate(region: Region, count: int) -> float:
    seconds = await gather_limited(count, lambda i: skeleton_device(region, f"SK-{i:05d}"))
    return count / seconds


async def ticket(region: Region, i: int) -> None:
    body = {"unit_id": UNITS[i % len(UNITS)], "reporter_ref": f"E{1000 + i % 9000}", "title": f"Fleet ticket {i}"}
    await api_call(region, "POST", "/tickets", body, key=f"fleet-ticket-{i}")


async def timed(call) -> float:
    began = time.perf_counter()
    answer = await call()
    assert answer.status_code == 200, answer.text
    return time.perf_counter() - began


async def measure_reads(region: Region, devices: int, engine) -> dict[str, tuple[float, float]]:
    from db.models import Device

    views, searches, bare = [], [], []
    for _ in range(SAMPLES):  # one at a time: the latency a person sees, not a load test
        number = f"FL-{random.randrange(devices):06d}"
        views.append(await timed(lambda: region.http.get(f"/devices/{number}")))
        unit, offset = random.choice(UNITS), random.randrange(max(1, devices // len(UNITS) - 50))
        searches.append(await timed(lambda: region.http.get(
            "/devices", params={"unit_id": unit, "state": "in_use", "limit": 50, "offset": offset})))
        query = (select(Device).where(Device.unit_id == unit, Device.state == "in_use")
                 .order_by(Device.order_number).limit(50).offset(offset))
        began = time.perf_counter()
        with engine.connect() as conn:
            conn.execute(query).all()
        bare.append(time.perf_counter() - began)
    return {"view": p50_p99_ms(views), "search": p50_p99_ms(searches), "bare_sql": p50_p99_ms(bare)}


async def main(sizes: list[int]) -> None:
    print(f"fleet: {machine()}", flush=True)
    sizes = [size for size in sizes if size > API_SAMPLE]
    rows = []
    async with Region() as region:
        await asyncio.sleep(2)
        baseline_bytes = region.temporal_db_bytes()
        skeleton = await skeleton_rate(region, SKELETON_DEVICES)
        print(f"skeleton limit: {skeleton:.1f} devices/s ({SKELETON_DEVICES} order + delivery, c={CONCURRENCY})",
              flush=True)
        engine = create_engine(region.database_url)
        api_seconds = await gather_limited(API_SAMPLE, lambda i: api_device(
            region, f"FL-{i:06d}", UNITS[i % len(UNITS)]), concurrency=20)
        api_rate = API_SAMPLE / api_seconds
        print(f"API start rate: {api_rate:.1f} devices/s ({API_SAMPLE} order + delivery through the API, c=20; "
              f"{load_average()})", flush=True)
        have_devices, have_tickets = API_SAMPLE, 0
        for size in sizes:
            tickets = size // 4  # the issue's region: 20,000 devices and 5,000 open tickets
            began = time.perf_counter()
            both = await asyncio.gather(
                gather_limited(size - have_devices, lambda i, base=have_devices: device(
                    region, f"FL-{base + i:06d}", UNITS[(base + i) % len(UNITS)])),
                gather_limited(tickets - have_tickets, lambda i, base=have_tickets: ticket(region, base + i),
                               concurrency=TICKET_CONCURRENCY))
            rate = (size - have_devices) / both[0]
            ticket_rate = (tickets - have_tickets) / both[1]
            build_seconds = time.perf_counter() - began
            have_devices, have_tickets = size, tickets
            await asyncio.sleep(3)  # let the worker settle (the last mirror writes) before reading
            open_workflows = size + tickets + SKELETON_DEVICES
            per_workflow = (region.temporal_db_bytes() - baseline_bytes) / open_workflows
            reads = await measure_reads(region, size, engine)
            row = dict(size=size, tickets=tickets, rate=rate, ticket_rate=ticket_rate, per_wf=per_workflow,
                       rss=region.worker_rss_mib(), db_mib=region.temporal_db_bytes() / 2**20, **reads)
            rows.append(row)
            print(f"  {size} devices + {tickets} tickets (built in {build_seconds:.0f} s, {load_average()}): "
                  f"{rate:.1f} devices/s ({rate / skeleton:.0%} of skeleton), "
                  f"{ticket_rate:.1f} tickets/s, {per_workflow / 1024:.1f} KiB per open workflow "
                  f"(file {row['db_mib']:.0f} MiB), worker(s) "
                  f"{row['rss']:.0f} MiB, view p50/p99 {reads['view'][0]:.0f}/{reads['view'][1]:.0f} ms, search "
                  f"{reads['search'][0]:.0f}/{reads['search'][1]:.0f} ms, bare SQL {reads['bare_sql'][0]:.1f}/"
                  f"{reads['bare_sql'][1]:.1f} ms", flush=True)
        engine.dispose()
    report(rows, skeleton, api_rate, region.workers)


def report(rows: list[dict], skeleton: float, api_rate: float, region_workers: int) -> None:
    print(f"\nFleet on the embedded stack (dev server on its file, PostgreSQL), {region_workers} worker process(es); "
          f"skeleton limit {skeleton:.1f} devices/s measured in the same run; API start rate {api_rate:.1f}/s")
    print(f"{'devices':>8} | {'tickets':>7} | {'dev/s':>6} | {'vs skel':>7} | {'KiB/wf':>6} | {'RSS MiB':>7} | "
          f"{'view p50/p99 ms':>15} | {'search p50/p99 ms':>17} | {'bare SQL p50/p99':>16}")
    for r in rows:
        print(f"{r['size']:>8} | {r['tickets']:>7} | {r['rate']:6.1f} | {r['rate'] / skeleton:7.0%} | "
              f"{r['per_wf'] / 1024:6.1f} | {r['rss']:7.0f} | {r['view'][0]:7.0f}/{r['view'][1]:<7.0f} | "
              f"{r['search'][0]:8.0f}/{r['search'][1]:<8.0f} | {r['bare_sql'][0]:7.1f}/{r['bare_sql'][1]:<8.1f}")
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        growth = last["size"] / first["size"]
        print(f"\ngrowth {first['size']} -> {last['size']} devices (x{growth:.0f}): worker RSS "
              f"x{last['rss'] / first['rss']:.2f}, bytes per workflow x{last['per_wf'] / first['per_wf']:.2f}, "
              f"view p50 x{last['view'][0] / first['view'][0]:.2f} p99 x{last['view'][1] / first['view'][1]:.2f}, "
              f"search p50 x{last['search'][0] / first['search'][0]:.2f}, start rate "
              f"x{last['rate'] / first['rate']:.2f}")
        per_device_mib = (last["rss"] - first["rss"]) / (last["size"] - first["size"])
        print(f"worker memory per added device: {per_device_mib * 1024:.0f} KiB")


if __name__ == "__main__":
    run(main([int(a) for a in sys.argv[1:]] or [1000, 5000]))
