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
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ADMIN_URL = os.environ.get("RAMFLOW_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PORT_BASE = int(os.environ.get("BENCH_PORT_BASE", "23100"))


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


def wait_for_port(port: int, seconds: float) -> None:
    import socket

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with socket.socket() as sock:
            sock.settimeout(0.3)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"port {port} did not open within {seconds} s")


def create_postgres_database() -> str:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"ramflow_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres_database(url: str) -> None:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


class Region:
    """`async with Region(**settings) as region:` the whole stack; `region.http` calls the API with a token."""

    def __init__(self, api: bool = True, **settings: str) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="ramflow-region-"))
        self.temporal_db = self.tmp / "temporal.db"
        self.temporal_port, self.api_port, self.issuer_port = PORT_BASE, PORT_BASE + 1, PORT_BASE + 2
        self.address = f"127.0.0.1:{self.temporal_port}"
        self.queue = f"region-{uuid.uuid4().hex[:8]}"
        self.with_api = api
        self.settings = settings
        self.children: dict[str, subprocess.Popen] = {}
        self.database_url = ""

    # --- lifecycle ---------------------------------------------------------------------------------
    async def __aenter__(self) -> "Region":
        from db.migrate import upgrade
        from db.seed import load_reference_data
        from db.session import make_sessionmaker

        try:
            self.database_url = create_postgres_database()
            upgrade(self.database_url)
            maker = make_sessionmaker(self.database_url)
            load_reference_data(maker, datetime.now(timezone.utc).year)
            maker.kw["bind"].dispose()
            self.issuer = self._start_issuer()
            self.env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": self.database_url,
                        "TEMPORAL_ADDRESS": self.address, "TEMPORAL_TASK_QUEUE": self.queue,
                        "SCHEDULES_ENABLED": "false", "UPDATE_WAIT_SECONDS": "60",
                        "OIDC_ISSUER": self.issuer.url, "OIDC_AUDIENCE": self.issuer.audience,
                        "RATE_LIMIT_PER_MINUTE": "100000000",
                        **{k.upper(): v for k, v in self.settings.items()}}
            binary = shutil.which("temporal", path=str(Path(sys.executable).parent)) or "temporal"
            self._spawn("temporal", [binary, "server", "start-dev", "--db-filename", str(self.temporal_db),
                                     "--ip", "127.0.0.1", "--port", str(self.temporal_port), "--headless",
                                     "--log-level", "error"])
            wait_for_port(self.temporal_port, 60)
            self.client = await Client.connect(self.address, data_converter=pydantic_data_converter)
            self.start_worker()
            if self.with_api:
                self._spawn("api", [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
                                    "--port", str(self.api_port), "--log-level", "warning",
                                    "--timeout-keep-alive", "75"])
                wait_for_port(self.api_port, 60)
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

    def start_worker(self) -> None:
        self._spawn("worker", [sys.executable, "-m", "bench.front_door", "--worker", self.address, self.queue,
                               self.database_url])

    def stop_worker(self) -> None:
        child = self.children.pop("worker")
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    def stop(self) -> None:
        for name in reversed(list(self.children)):
            child = self.children.pop(name)
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(15)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        if hasattr(self, "issuer_server"):
            self.issuer_server.should_exit = True
        if self.database_url:
            drop_postgres_database(self.database_url)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.tmp / f"{name}.log", "ab")
        self.children[name] = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                               start_new_session=True)

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
        return rss_mib(self.children["worker"].pid)

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
