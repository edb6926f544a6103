"""Benchmark (issue 7): Ramflow's front door against the limit of the Temporal server it runs on.

On one Temporal dev server, in one run, interleaved round by round, at 1, 10, 50 and 200 concurrent:
- skeleton: bench/skeleton.py through the SDK — a device's order + delivery whose activities do nothing;
- sdk:      Ramflow's device workflow through the SDK (start + `registered`, then `apply(deliver)`);
- api:      the same through Ramflow's HTTP API (uvicorn): POST /orders, POST /devices/{n}/events.
Both workers (Ramflow's, with a real SQLite database, and the skeleton's) run in one worker process;
the API in its own. Prints latency (order + delivery of one device) and throughput, and the ratios:
goal api latency <= 1.25x skeleton one at a time, api throughput >= 85 % of the skeleton at every concurrency.

Usage: python -m bench.front_door [rounds]   (default 2; BENCH_CONCURRENCY=1,10 limits the concurrencies)"""
from __future__ import annotations

import asyncio
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.processes import free_port, wait_for_port
from codec import make_data_converter

ROOT = Path(__file__).resolve().parents[1]
CONCURRENCY = tuple(int(c) for c in os.environ.get("BENCH_CONCURRENCY", "1,10,50,200").split(","))
FAIL = WorkflowIDConflictPolicy.FAIL
MODES = ("skeleton", "sdk", "api")


def devices_at(concurrency: int) -> int:
    return max(20, 2 * concurrency) if concurrency < 200 else 200


# --- the worker process -------------------------------------------------------------------------------
async def serve_workers(address: str, queue: str, database_url: str) -> None:
    """Ramflow's worker as worker.py builds it (payload codec from PAYLOAD_ENCRYPTION_KEYS in the environment,
    as the API's) and the skeleton's. BENCH_WORKFLOW_TASKS / BENCH_POLLERS / BENCH_CACHED_WORKFLOWS tune the
    SDK's workflow-task slots, pollers per queue and workflow cache (defaults: the SDK's, as in production)."""
    from bench.skeleton import SkeletonRevisionWorkflow, SkeletonRoundWorkflow, SkeletonWorkflow, step
    from codec import make_data_converter, settings_keys
    from config import Settings
    from db.session import make_sessionmaker
    from worker import build_worker

    settings = Settings(database_url=database_url, temporal_task_queue=queue)
    client = await Client.connect(address, data_converter=make_data_converter(settings_keys(settings)))
    sessions = make_sessionmaker(database_url)
    ramflow = build_worker(client, sessions, settings)
    tuning = {}
    if os.environ.get("BENCH_POLLERS"):
        polls = int(os.environ["BENCH_POLLERS"])
        tuning.update(max_concurrent_workflow_task_polls=polls, max_concurrent_activity_task_polls=polls)
    if os.environ.get("BENCH_WORKFLOW_TASKS"):
        tuning.update(max_concurrent_workflow_tasks=int(os.environ["BENCH_WORKFLOW_TASKS"]))
    if os.environ.get("BENCH_CACHED_WORKFLOWS"):
        tuning.update(max_cached_workflows=int(os.environ["BENCH_CACHED_WORKFLOWS"]))
    if tuning:
        ramflow = Worker(client, **{**ramflow.config(), **tuning})
    skeleton = Worker(client, task_queue=f"{queue}-skeleton", activities=[step],
                      workflows=[SkeletonWorkflow, SkeletonRoundWorkflow, SkeletonRevisionWorkflow])
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    async with ramflow, skeleton:
        await stop.wait()


def profiled(path: str, run) -> None:
    """BENCH_PROFILE=<file>: cProfile in every thread of the worker process (the event loop, the workflow
    and activity threads). SIGUSR2 clears what was gathered, SIGUSR1 writes it, merged, to one pstats file:
    the benchmark brackets the part it measures (bench/renewal_wave.py: the wave)."""
    import cProfile
    import pstats
    import threading

    profiles: list[cProfile.Profile] = []

    def start_thread_profile(*_):
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()  # replaces this hook in this thread only; later threads get their own

    def clear(*_):
        for profile in profiles:
            profile.clear()

    def dump(*_):
        stats = pstats.Stats()
        for profile in profiles:
            profile.snapshot_stats()
            stats.add(profile)
        stats.dump_stats(path)

    threading.setprofile(start_thread_profile)
    main = cProfile.Profile()
    profiles.append(main)
    signal.signal(signal.SIGUSR2, clear)
    signal.signal(signal.SIGUSR1, dump)
    main.enable()
    run()


# --- one device, three ways ---------------------------------------------------------------------------
async def skeleton_device(client: Client, queue: str, number: str) -> None:
    from bench.skeleton import SkeletonWorkflow

    # the same client pattern as the API: start + registration in one call (Update-with-Start), then the event
    start = WithStartWorkflowOperation(SkeletonWorkflow.run, number, id=f"skeleton-{number}",
                                       task_queue=f"{queue}-skeleton", id_conflict_policy=FAIL)
    await client.execute_update_with_start_workflow(SkeletonWorkflow.registered, start_workflow_operation=start)
    await client.get_workflow_handle(f"skeleton-{number}").execute_update(SkeletonWorkflow.deliver, f"S-{number}")


async def sdk_device(client: Client, queue: str, number: str) -> None:
    from domain.equipment import Deliver, DeviceCommand, DeviceOrder, DeviceStart, device_workflow_id
    from workflows.equipment import DeviceLifecycleWorkflow

    start = WithStartWorkflowOperation(
        DeviceLifecycleWorkflow.run, DeviceStart(order=DeviceOrder(
            order_number=number, model_code="LAT-5450", unit_id="TR-KS", user_ref="E1"), ordered_by="bench"),
        id=device_workflow_id(number), task_queue=queue, id_conflict_policy=FAIL)
    await client.execute_update_with_start_workflow(DeviceLifecycleWorkflow.registered, start_workflow_operation=start)
    await client.get_workflow_handle(device_workflow_id(number)).execute_update(
        DeviceLifecycleWorkflow.apply, DeviceCommand(actor="bench", action=Deliver(serial_number=f"S-{number}")))


async def api_device(http: httpx.AsyncClient, number: str) -> None:
    async def until_done(method: str, path: str, body: dict) -> None:
        while True:  # a well-behaved client: 503 → wait as told, repeat (safe: business key, Idempotency-Key)
            response = await http.request(method, path, json=body, headers={"Idempotency-Key": f"{path}-{number}"})
            if response.status_code != 503:
                assert response.status_code < 300, response.text
                return
            await asyncio.sleep(min(float(response.headers.get("retry-after", "1")), 1.0))

    await until_done("POST", "/api/v1/orders", {"order_number": number, "model_code": "LAT-5450", "unit_id": "TR-KS",
                                                 "user_ref": "E1"})
    await until_done("POST", f"/api/v1/devices/{number}/events",
                     {"action": {"event": "deliver", "serial_number": f"S-{number}"}})


async def round_of(mode: str, concurrency: int, client: Client, http: httpx.AsyncClient,
                   queue: str) -> tuple[float, list[float]]:
    """(seconds for the round, latency of each device) with at most `concurrency` devices in flight."""
    prefix = f"{mode[:2].upper()}{uuid.uuid4().hex[:6].upper()}"
    numbers = [f"{prefix}-{i:04d}" for i in range(devices_at(concurrency))]
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(number: str) -> None:
        async with gate:
            started = time.perf_counter()
            if mode == "skeleton":
                await skeleton_device(client, queue, number)
            elif mode == "sdk":
                await sdk_device(client, queue, number)
            else:
                await api_device(http, number)
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(one(n) for n in numbers))
    return time.perf_counter() - began, latencies


async def main(rounds: int) -> None:
    from db.migrate import upgrade
    from db.seed import load_reference_data
    from db.session import make_sessionmaker

    binary = shutil.which("temporal", path=str(Path(sys.executable).parent)) or "temporal"
    env = await WorkflowEnvironment.start_local(
        data_converter=make_data_converter(os.environ.get("PAYLOAD_ENCRYPTION_KEYS")),  # as the API and worker
        dev_server_existing_path=binary, ui=False)
    children: list[subprocess.Popen] = []
    async with env:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/ramflow.db"
            upgrade(url)
            maker = make_sessionmaker(url)
            load_reference_data(maker, 2026)
            maker.kw["bind"].dispose()
            address = env.client.service_client.config.target_host
            queue = f"bench-{uuid.uuid4().hex[:8]}"
            port = int(os.environ.get("BENCH_API_PORT", "0")) or free_port()
            issuer = _local_issuer()  # the API validates the bench's bearer tokens (issue 8)
            child_env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "TEMPORAL_ADDRESS": address,
                         "TEMPORAL_TASK_QUEUE": queue, "SCHEDULES_ENABLED": "false", "UPDATE_WAIT_SECONDS": "60",
                         "OIDC_ISSUER": issuer.url, "OIDC_AUDIENCE": issuer.audience,
                         "RATE_LIMIT_PER_MINUTE": "1000000"}
            try:
                children.append(subprocess.Popen([sys.executable, "-m", "bench.front_door", "--worker", address,
                                                  queue, url], cwd=ROOT, env=child_env))
                children.append(subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(port),
                                                  "--log-level", "warning", "--timeout-keep-alive", "75"],
                                                 cwd=ROOT, env=child_env))
                wait_for_port(port, 60)
                results = await measure(env.client, port, queue, rounds,
                                        issuer.mint("bench", ["it-staff", "it-admin"], lifetime_seconds=6 * 3600))
            finally:
                for child in children:
                    child.terminate()
                    child.wait(10)
    report(results, rounds)


def _local_issuer():
    """The local OpenID Connect issuer, served from a thread of this process on a free port."""
    import threading

    import uvicorn

    from scripts.local_issuer import LocalIssuer

    port = free_port()
    issuer = LocalIssuer(f"http://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(issuer.app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    wait_for_port(port, 30)
    return issuer


async def measure(client: Client, port: int, queue: str, rounds: int, token: str) -> dict:
    limits = httpx.Limits(max_connections=250, max_keepalive_connections=250)
    results: dict[tuple[str, int], dict[str, list[float]]] = {}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=120,
                                 headers={"Authorization": f"Bearer {token}"}) as http:
        await round_of("skeleton", 1, client, http, queue)  # warm-up: both workers, the API, the caches
        await round_of("api", 1, client, http, queue)
        for concurrency in CONCURRENCY:
            for r in range(rounds):
                order = MODES if r % 2 == 0 else tuple(reversed(MODES))  # interleaved, alternating order
                for mode in order:
                    seconds, latencies = await round_of(mode, concurrency, client, http, queue)
                    entry = results.setdefault((mode, concurrency), {"seconds": [], "latencies": [], "devices": []})
                    entry["seconds"].append(seconds)
                    entry["latencies"].extend(latencies)
                    entry["devices"].append(len(latencies))
                    print(f"  c={concurrency:>3} {mode:>8}: {len(latencies)} devices in {seconds:5.1f} s", flush=True)
    return results


def report(results: dict, rounds: int) -> None:
    def stats(mode: str, concurrency: int) -> tuple[float, float, float]:
        entry = results[(mode, concurrency)]
        lat = sorted(entry["latencies"])
        return (sum(entry["devices"]) / sum(entry["seconds"]), statistics.median(lat) * 1000,
                lat[min(len(lat) - 1, int(0.95 * len(lat)))] * 1000)

    print(f"\nFront door vs skeleton on one Temporal dev server ({platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}); {rounds} interleaved rounds per cell; latency = order + delivery")
    print(f"{'c':>4} | {'mode':>8} | {'devices/s':>9} | {'p50 ms':>8} | {'p95 ms':>8}")
    for concurrency in CONCURRENCY:
        for mode in MODES:
            rate, p50, p95 = stats(mode, concurrency)
            print(f"{concurrency:>4} | {mode:>8} | {rate:9.1f} | {p50:8.0f} | {p95:8.0f}")
    _, skeleton_one, _ = stats("skeleton", 1)
    print(f"\nlatency one at a time: api / skeleton = {stats('api', 1)[1] / skeleton_one:.2f}x (goal <= 1.25x), "
          f"sdk / skeleton = {stats('sdk', 1)[1] / skeleton_one:.2f}x, api / sdk = "
          f"{stats('api', 1)[1] / stats('sdk', 1)[1]:.2f}x")
    for concurrency in CONCURRENCY:
        skeleton_rate = stats("skeleton", concurrency)[0]
        api_rate, sdk_rate = stats("api", concurrency)[0], stats("sdk", concurrency)[0]
        print(f"throughput c={concurrency:>3}: api / skeleton = {api_rate / skeleton_rate:5.0%} (goal >= 85 %), "
              f"sdk / skeleton = {sdk_rate / skeleton_rate:5.0%}, api / sdk = {api_rate / sdk_rate:5.0%}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        if os.environ.get("BENCH_PROFILE"):
            profiled(f"{os.environ['BENCH_PROFILE']}.{os.getpid()}", lambda: asyncio.run(serve_workers(*sys.argv[2:5])))
        else:
            asyncio.run(serve_workers(*sys.argv[2:5]))
    else:
        asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2))
