"""The production topology on one box (issue 15): one Temporal dev server, two worker processes, two API
processes (two uvicorns), a fresh PostgreSQL database; all on free ports, each child killable."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from db.migrate import upgrade
from db.seed import load_reference_data
from db.session import make_sessionmaker
from tests.conftest import SEED_YEAR
from tests.db_backends import postgres_database
from tests.frontdoor.stack import ROOT, free_port, wait_for_port

WORKERS = ("worker-a", "worker-b")
APIS = ("api-a", "api-b")


class Topology:
    def __init__(self, directory: Path, database_url: str, issuer) -> None:
        self.dir, self.database_url, self.issuer = directory, database_url, issuer
        self.temporal_port = free_port()
        self.api_ports = {name: free_port() for name in APIS}
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url,
                    "TEMPORAL_ADDRESS": f"127.0.0.1:{self.temporal_port}",
                    "TEMPORAL_TASK_QUEUE": f"topology-{uuid.uuid4()}", "SCHEDULES_ENABLED": "false",
                    "OIDC_ISSUER": issuer.url, "OIDC_AUDIENCE": issuer.audience,
                    "RATE_LIMIT_PER_MINUTE": "1000000"}
        self.children: dict[str, subprocess.Popen] = {}

    def base(self, api: str) -> str:
        return f"http://127.0.0.1:{self.api_ports[api]}/api/v1"

    def bearer(self, user: str, *roles: str) -> dict[str, str]:
        token = self.issuer.mint(user, roles or ("it-staff", "it-admin"), lifetime_seconds=3600)
        return {"Authorization": f"Bearer {token}"}

    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.dir / f"{name}.log", "ab")
        self.children[name] = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                               start_new_session=True)

    def start(self) -> "Topology":
        binary = shutil.which("temporal", path=str(Path(sys.executable).parent)) or "temporal"
        self._spawn("temporal", [binary, "server", "start-dev", "--db-filename", str(self.dir / "temporal.db"),
                                 "--ip", "127.0.0.1", "--port", str(self.temporal_port), "--headless",
                                 "--log-level", "error"])
        wait_for_port(self.temporal_port, 60)
        for name in WORKERS:
            self._spawn(name, [sys.executable, "worker.py"])
        for name in APIS:
            self._spawn(name, [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
                               "--port", str(self.api_ports[name]), "--log-level", "warning"])
        for name in APIS:
            wait_for_port(self.api_ports[name], 60)
        self.wait_ready()
        return self

    def wait_ready(self, seconds: float = 60) -> None:
        import time

        end = time.monotonic() + seconds
        for name in APIS:
            while True:
                try:
                    answer = httpx.get(self.base(name).removesuffix("/api/v1") + "/ready", timeout=5)
                    if answer.status_code == 200 and (answer.json().get("worker", {}).get("pollers") or 0) > 0:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > end:
                    raise TimeoutError(f"{name} is not ready")
                time.sleep(0.2)

    def kill(self, name: str) -> None:
        child = self.children.pop(name)
        child.send_signal(signal.SIGKILL)
        child.wait(30)

    def stop(self) -> None:
        for name in reversed(list(self.children)):
            child = self.children.pop(name)
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()


@pytest.fixture
def topology(tmp_path: Path, issuer) -> Iterator[Topology]:
    for url in postgres_database():  # a fresh database per run, dropped afterwards
        upgrade(url)
        maker = make_sessionmaker(url)
        load_reference_data(maker, SEED_YEAR)
        maker.kw["bind"].dispose()
        running = Topology(tmp_path, url, issuer)
        try:
            yield running.start()
        finally:
            running.stop()
