"""The embedded stack the fleet-scale benchmarks (issue 15) run on: a Temporal dev server persisted to its
database file, a fresh PostgreSQL database for Ramflow (127.0.0.1:5432, user postgres), one worker process
serving Ramflow's task queue and the skeleton's (bench/front_door.py), the API (uvicorn) validating tokens
of a local OpenID Connect issuer. Ports from BENCH_PORT_BASE (default 23100). Everything stops on exit."""
from __future__ import annotations

import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx

from bench.processes import ROOT, Children, create_postgres_database, drop_postgres_database, wait_for_pollers, \
    wait_for_port

PORT_BASE = int(os.environ.get("BENCH_PORT_BASE", "23100"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "1"))


def machine() -> str:
    """nproc, memory and CPU model: the line every figure in docs/benchmarks.md is printed under."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines()
                          if l.startswith("MemTotal")).split()[1])
    except (OSError, StopIteration, ValueError):
        mem_kb = 0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{os.cpu_count()} cores ({model}), {mem_kb / 1024 / 1024:.1f} GiB RAM, "
            f"Python {platform.python_version()}, "
            f"load average {load:.1f} at start, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def p50_p99_ms(values: list[float]) -> tuple[float, float]:
    return statistics.median(values) * 1000, percentile(values, 0.99) * 1000


class Region:
    """`async with Region(**settings) as region:` the whole stack; `region.http` calls the API with a token.
    `workers` worker processes (default BENCH_WORKERS or 1) share Ramflow's task queue, as in production.
    Payloads are encrypted (PAYLOAD_ENCRYPTION_KEYS, a fresh key) for the worker, the API and the bench's own
    client alike (codec.make_data_converter)."""

    def __init__(self, api: bool = True, workers: int = WORKERS, **settings: str) -> None:
        # BENCH_TMP_PREFIX: a name of its own when several sessions run benchmarks on one box
        self.tmp = Path(tempfile.mkdtemp(prefix=os.environ.get("BENCH_TMP_PREFIX", "ramflow-region-")))
        self.temporal_port, self.api_port, self.issuer_port = PORT_BASE, PORT_BASE + 1, PORT_BASE + 2
        self.queue = f"region-{uuid.uuid4().hex[:8]}"
        self.with_api, self.workers = api, workers
        self.settings = settings
        self.database_url = ""

    # --- lifecycle ---------------------------------------------------------------------------------
    async def __aenter__(self) -> "Region":
        from temporalio.client import Client

        from activities.audit import ensure_search_attributes
        from codec import make_data_converter, new_key_spec
        from db.migrate import upgrade
        from db.seed import load_reference_data
        from db.session import make_sessionmaker

        self.keys = new_key_spec("bench")
        self.children = Children(self.tmp, {})
        try:
            self.database_url = create_postgres_database()
            upgrade(self.database_url)
            maker = make_sessionmaker(self.database_url)
            load_reference_data(maker, datetime.now(timezone.utc).year)
            maker.kw["bind"].dispose()
            self.issuer = self._start_issuer()
            self.address = f"127.0.0.1:{self.temporal_port}"
            self.children.env = self.env = {
                **os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": self.database_url,
                "TEMPORAL_ADDRESS": self.address, "TEMPORAL_TASK_QUEUE": self.queue,
                "SCHEDULES_ENABLED": "false", "UPDATE_WAIT_SECONDS": "60", "PAYLOAD_ENCRYPTION_KEYS": self.keys,
                "OIDC_ISSUER": self.issuer.url, "OIDC_AUDIENCE": self.issuer.audience,
                "RATE_LIMIT_PER_MINUTE": "100000000", **{k.upper(): v for k, v in self.settings.items()}}
            self.children.start_temporal(self.temporal_port)
            self.client = await Client.connect(self.address, data_converter=make_data_converter(self.keys))
            await ensure_search_attributes(self.client, "default")  # as worker.py does at start
            for n in range(1, self.workers + 1):
                self.start_worker(n)
            if self.with_api:
                self.children.start_api("api", self.api_port)
                wait_for_port(self.api_port, 120)
            await self.wait_for_workers()
            token = self.issuer.mint("bench.region", ["it-staff", "it-admin"], lifetime_seconds=6 * 3600)
            self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.api_port}/api/v1", timeout=120,
                                          headers={"Authorization": f"Bearer {token}"},
                                          limits=httpx.Limits(max_connections=200, max_keepalive_connections=200))
        except BaseException:
            self.stop()
            raise
        return self

    async def __aexit__(self, *exc) -> None:
        if hasattr(self, "http"):
            await self.http.aclose()
        self.stop()

    async def wait_for_workers(self, seconds: float = 300) -> float:
        return await wait_for_pollers(self.client, self.queue, self.workers, seconds,
                                      lambda: self.children.check_alive(*self.worker_names()))

    def worker_names(self) -> list[str]:
        return [name for name in self.children.running if name.startswith("worker-")]

    def start_worker(self, n: int = 1) -> None:
        self.children.spawn(f"worker-{n}", [sys.executable, "-m", "bench.front_door", "--worker", self.address,
                                            self.queue, self.database_url])

    def signal_workers(self, signum: int) -> None:
        for name in self.worker_names():
            self.children.running[name].send_signal(signum)

    def stop_worker(self, n: int = 1) -> None:
        self.children.kill(f"worker-{n}", signal.SIGTERM)

    def stop(self) -> None:
        if hasattr(self, "children"):
            self.children.stop()
        if hasattr(self, "issuer_server"):
            self.issuer_server.should_exit = True
        if self.database_url:
            drop_postgres_database(self.database_url)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _start_issuer(self):
        import threading

        import uvicorn

        from scripts.local_issuer import LocalIssuer

        issuer = LocalIssuer(f"http://127.0.0.1:{self.issuer_port}")
        self.issuer_server = uvicorn.Server(uvicorn.Config(issuer.app, host="127.0.0.1", port=self.issuer_port,
                                                           log_level="warning"))
        threading.Thread(target=self.issuer_server.run, daemon=True).start()
        wait_for_port(self.issuer_port, 30)
        return issuer

    # --- measurements ------------------------------------------------------------------------------
    def worker_rss_mib(self) -> float:
        """Resident memory of the worker processes, summed."""
        return sum(rss_mib(self.children.running[name].pid) for name in self.worker_names())

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) so far of each child (the dev server, each worker, the API) and of the
        PostgreSQL backends serving this run's database: where the time of a benchmark goes, by process."""
        tick = os.sysconf("SC_CLK_TCK")

        def cpu(pid: int) -> float:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return 0.0
            return (int(fields[11]) + int(fields[12])) / tick

        times = {name: cpu(child.pid) for name, child in self.children.running.items()}
        database = self.database_url.rsplit("/", 1)[1].encode()
        postgres = 0.0
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if database in (entry / "cmdline").read_bytes():
                        postgres += cpu(int(entry.name))
                except OSError:
                    continue
        times["postgres"] = postgres
        return times

    async def wait_until(self, count, total: int, seconds: float, what: str) -> float:
        """Poll `count()` (a blocking query, run in a thread) until it reaches `total`; seconds taken."""
        import asyncio
        import time

        began = time.perf_counter()
        while (done := await asyncio.to_thread(count)) < total:
            if time.perf_counter() - began > seconds:
                raise TimeoutError(f"only {done} of {total} {what} after {seconds:.0f} s")
            await asyncio.sleep(0.5)
        return time.perf_counter() - began

    def temporal_db_bytes(self) -> int:
        """The dev server's SQLite file with its write-ahead log."""
        return sum(p.stat().st_size for p in self.tmp.glob("temporal.db*"))

    async def task_queue_backlog(self) -> tuple[int, float]:
        """(approximate backlog, age of its oldest task in s) of Ramflow's workflow and activity queues."""
        from temporalio.api.enums.v1 import TaskQueueType
        from temporalio.api.taskqueue.v1 import TaskQueue
        from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

        count, age = 0, 0.0
        for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
            answer = await self.client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
                namespace="default", task_queue=TaskQueue(name=self.queue), task_queue_type=kind,
                report_stats=True))
            count += answer.stats.approximate_backlog_count
            age = max(age, answer.stats.approximate_backlog_age.ToTimedelta().total_seconds())
        return count, age


def run(main) -> None:
    """asyncio.run(main) where SIGINT or SIGTERM cancels the benchmark, so the stack stops and its database
    is dropped (a bare asyncio.run leaves the children running when the benchmark is killed)."""
    import asyncio

    async def guarded() -> None:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, task.cancel)
        await main

    try:
        asyncio.run(guarded())
    except asyncio.CancelledError:
        sys.exit("benchmark cancelled; the stack is stopped")
