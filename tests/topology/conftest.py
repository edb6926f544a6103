"""The production topology on one box (issue 15): one Temporal dev server, two worker processes, two API
processes (two uvicorns), a fresh PostgreSQL database; all on free ports, each child killable. The processes
are launched by bench/processes.py, as the fleet benchmarks launch theirs.

Ready means what the burst needs, each waited for on its own signal and bounded generously (on a 2-core box
shared with other test runs, four Python processes importing at once took over 60 s): both API processes
answer /ready (Temporal and the database reachable), and the Temporal server sees both workers polling the
task queue (two distinct worker identities on the workflow and the activity queue). A child that dies while
starting fails the fixture at once, with its log."""
from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bench.processes import (ROOT, Children, create_postgres_database, drop_postgres_database, free_port,
                             wait_for_pollers, wait_for_port)
from codec import make_data_converter, new_key_spec
from db.migrate import upgrade
from db.seed import load_reference_data
from db.session import make_sessionmaker
from tests.conftest import SEED_YEAR

WORKERS = ("worker-a", "worker-b")
APIS = ("api-a", "api-b")
START_SECONDS = 240.0  # bound on the start of all five processes together (typically 10-40 s)


class Topology:
    def __init__(self, directory: Path, database_url: str, issuer) -> None:
        self.dir, self.database_url, self.issuer = directory, database_url, issuer
        self.temporal_port = free_port()
        self.api_ports = {name: free_port() for name in APIS}
        self.keys = new_key_spec("topology")  # payloads encrypted, as in production (issue 11)
        self.queue = f"topology-{uuid.uuid4()}"
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url,
                    "TEMPORAL_ADDRESS": f"127.0.0.1:{self.temporal_port}", "TEMPORAL_TASK_QUEUE": self.queue,
                    "SCHEDULES_ENABLED": "false", "PAYLOAD_ENCRYPTION_KEYS": self.keys,
                    "OIDC_ISSUER": issuer.url, "OIDC_AUDIENCE": issuer.audience, "RATE_LIMIT_PER_MINUTE": "1000000"}
        self.children = Children(directory, self.env)
        self.data_converter = make_data_converter(self.keys)
        self.start_seconds = 0.0

    def base(self, api: str) -> str:
        return f"http://127.0.0.1:{self.api_ports[api]}/api/v1"

    def bearer(self, user: str, *roles: str) -> dict[str, str]:
        token = self.issuer.mint(user, roles or ("it-staff", "it-admin"), lifetime_seconds=3600)
        return {"Authorization": f"Bearer {token}"}

    async def start(self) -> "Topology":
        from temporalio.client import Client

        began = time.monotonic()
        address = self.children.start_temporal(self.temporal_port, START_SECONDS)
        for name in WORKERS:
            # each worker its own /metrics port: two on one box cannot share the default 9464
            self.children.spawn(name, [sys.executable, "worker.py"], WORKER_METRICS_PORT=str(free_port()))
        for name in APIS:
            self.children.start_api(name, self.api_ports[name])
        client = await Client.connect(address, data_converter=self.data_converter)
        remaining = START_SECONDS - (time.monotonic() - began)
        await wait_for_pollers(client, self.queue, len(WORKERS), remaining,
                               lambda: self.children.check_alive(*WORKERS, *APIS))
        for name in APIS:
            self.wait_ready(name, START_SECONDS - (time.monotonic() - began))
        self.start_seconds = time.monotonic() - began
        print(f"\ntopology ready after {self.start_seconds:.0f} s")
        return self

    def wait_ready(self, name: str, seconds: float) -> None:
        """The API process answers /ready with 200: it reaches Temporal and the database."""
        end = time.monotonic() + max(seconds, 5)
        wait_for_port(self.api_ports[name], max(seconds, 5))
        body: object = None
        while time.monotonic() < end:
            self.children.check_alive(name)
            try:
                answer = httpx.get(self.base(name).removesuffix("/api/v1") + "/ready", timeout=5)
                if answer.status_code == 200:
                    return
                body = answer.text
            except httpx.HTTPError as error:
                body = error
            time.sleep(0.3)
        raise TimeoutError(f"{name} not ready within {seconds:.0f} s: {body}\n{self.children.log(name)}")

    def kill(self, name: str) -> None:
        self.children.kill(name)

    def stop(self) -> None:
        self.children.stop(grace=10)


@pytest.fixture
async def topology(tmp_path: Path, issuer) -> AsyncIterator[Topology]:
    url = create_postgres_database(os.environ.get("BENCH_DB_PREFIX", "ramflow_test"))  # dropped afterwards
    running = None
    try:
        upgrade(url)
        maker = make_sessionmaker(url)
        load_reference_data(maker, SEED_YEAR)
        maker.kw["bind"].dispose()
        running = Topology(tmp_path, url, issuer)
        yield await running.start()
    finally:
        if running is not None:
            running.stop()
        drop_postgres_database(url)
