"""Child processes of a whole Ramflow stack on one box, shared by the fleet-scale benchmarks (bench/region.py)
and the production-topology test (tests/topology): the Temporal dev server on its database file, worker and
API processes, each killable; readiness waits on real signals (a port that accepts, the workers' pollers
seen by the server), bounded."""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ADMIN_URL = os.environ.get("RAMFLOW_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with socket.socket() as sock:
            sock.settimeout(0.3)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"port {port} did not open within {seconds} s")


def create_postgres_database(prefix: str = "") -> str:
    """A fresh database named BENCH_DB_PREFIX (default ramflow_bench) + a random suffix; returns its URL."""
    prefix = prefix or os.environ.get("BENCH_DB_PREFIX", "ramflow_bench")
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres_database(url: str) -> None:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


class Children:
    """Named child processes with their logs in `directory`; stopped in reverse order of start."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.dir, self.env = directory, env
        self.running: dict[str, subprocess.Popen] = {}

    def spawn(self, name: str, args: list[str], **env: str) -> subprocess.Popen:
        """`env`: settings of this child alone, over the shared environment (e.g. its own metrics port)."""
        log = open(self.dir / f"{name}.log", "ab")
        self.running[name] = subprocess.Popen(args, cwd=ROOT, env={**self.env, **env}, stdout=log,
                                              stderr=subprocess.STDOUT, start_new_session=True)
        return self.running[name]

    def start_temporal(self, port: int, seconds: float = 120) -> str:
        """The dev server persisted to `temporal.db` in the directory; returns its address once it listens."""
        binary = shutil.which("temporal", path=str(Path(sys.executable).parent)) or "temporal"
        self.spawn("temporal", [binary, "server", "start-dev", "--db-filename", str(self.dir / "temporal.db"),
                                "--ip", "127.0.0.1", "--port", str(port), "--headless", "--log-level", "error"])
        wait_for_port(port, seconds)
        return f"127.0.0.1:{port}"

    def start_api(self, name: str, port: int) -> None:
        self.spawn(name, [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port",
                          str(port), "--log-level", "warning", "--timeout-keep-alive", "75"])

    def log(self, name: str) -> str:
        path = self.dir / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def check_alive(self, *names: str) -> None:
        for name in names:
            child = self.running.get(name)
            if child is not None and child.poll() is not None:
                raise RuntimeError(f"{name} exited with {child.returncode}:\n{self.log(name)}")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        child = self.running.pop(name)
        child.send_signal(sig)
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    def stop(self, grace: float = 15) -> None:
        for name in reversed(list(self.running)):
            child = self.running.pop(name)
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(grace)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()


async def wait_for_pollers(client, queue: str, workers: int, seconds: float, alive=lambda: None) -> float:
    """Until `workers` distinct worker identities poll both the workflow and the activity queue (what the
    server itself sees: a worker process that imported, connected and started polling); seconds taken.
    `alive()` raises when a child died meanwhile, so a crash fails at once instead of at the bound."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    began = time.monotonic()
    seen: dict[int, set[str]] = {}
    while time.monotonic() - began < seconds:
        alive()
        for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
            answer = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
                namespace=client.namespace, task_queue=TaskQueue(name=queue), task_queue_type=kind))
            seen[kind] = {poller.identity for poller in answer.pollers}
        if len(seen) == 2 and all(len(ids) >= workers for ids in seen.values()):
            return time.monotonic() - began
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{workers} worker(s) not polling {queue!r} within {seconds} s: {seen}")
