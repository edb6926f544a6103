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
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

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


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        if os.environ.get("BENCH_PROFILE"):
            profiled(f"{os.environ['BENCH_PROFILE']}.{os.getpid()}", lambda: asyncio.run(serve_workers(*sys.argv[2:5])))
        else:
            asyncio.run(serve_workers(*sys.argv[2:5]))
    else:
        asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2))
