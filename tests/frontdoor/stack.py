"""A whole Ramflow stack for the load, crash, restart and fuzz tests: a Temporal dev server on its own
database file, the worker and the API (uvicorn) as subprocesses, a migrated SQLite database; all on free
ports. Each child can be killed and restarted."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from bench.processes import free_port, wait_for_port  # noqa: F401 - shared with the topology test and bench

ROOT = Path(__file__).resolve().parents[2]


class Stack:
    def __init__(self, directory: Path, template: Path, issuer=None, **settings: str) -> None:
        self.dir = directory
        self.db = directory / "ramflow.db"
        shutil.copy(template, self.db)
        self.temporal_port, self.api_port = free_port(), free_port()
        self.env = {
            **os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{self.db}",
            "TEMPORAL_ADDRESS": f"127.0.0.1:{self.temporal_port}", "TEMPORAL_TASK_QUEUE": f"stack-{uuid.uuid4()}",
            "SCHEDULES_ENABLED": "false", "API_HOST": "127.0.0.1", "API_PORT": str(self.api_port),
            # the API validates tokens of the tests' local issuer over HTTP (issue 8); load is not throttled here
            **({"OIDC_ISSUER": issuer.url, "OIDC_AUDIENCE": issuer.audience} if issuer else {}),
            "RATE_LIMIT_PER_MINUTE": "1000000",
            # the worker's /metrics on a free port: two stacks at once (a shared one and a test's own, or another
            # session's) would otherwise both bind 9464 and the second worker would exit at start
            "WORKER_METRICS_PORT": str(free_port()),
            **{name.upper(): value for name, value in settings.items()},
        }
        self.issuer = issuer
        self.children: dict[str, subprocess.Popen] = {}
        self.base = f"http://127.0.0.1:{self.api_port}"

    def bearer(self, user: str, *roles: str) -> dict[str, str]:
        """The Authorization header of a token from the tests' issuer (default roles: IT staff and admin)."""
        token = self.issuer.mint(user, roles or ("it-staff", "it-admin"), lifetime_seconds=4 * 3600)
        return {"Authorization": f"Bearer {token}"}

    # --- children ---------------------------------------------------------------------------------
    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.dir / f"{name}.log", "ab")
        self.children[name] = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                               start_new_session=True)

    def start_temporal(self) -> None:
        binary = shutil.which("temporal", path=str(Path(sys.executable).parent)) or "temporal"
        self._spawn("temporal", [binary, "server", "start-dev", "--db-filename", str(self.dir / "temporal.db"),
                                 "--ip", "127.0.0.1", "--port", str(self.temporal_port), "--headless",
                                 "--log-level", "error"])
        wait_for_port(self.temporal_port, 60)

    def start_worker(self) -> None:
        self._spawn("worker", [sys.executable, "worker.py"])

    def start_api(self) -> None:
        self._spawn("api", [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
                            "--port", str(self.api_port), "--log-level", "warning", "--timeout-keep-alive", "75"])
        wait_for_port(self.api_port, 60)

    def start(self) -> "Stack":
        self.start_temporal()
        self.start_worker()
        self.start_api()
        self.wait_ready(worker=True)
        return self

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        child = self.children.pop(name)
        child.send_signal(sig)
        child.wait(timeout=30)

    def wait_ready(self, worker: bool = False, seconds: float = 180) -> dict:
        end = time.monotonic() + seconds
        body: dict = {}
        while time.monotonic() < end:
            try:
                response = httpx.get(f"{self.base}/ready", timeout=5)
                body = response.json()
                if response.status_code == 200 and (not worker or (body.get("worker", {}).get("pollers") or 0) > 0):
                    return body
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"the stack is not ready: {body}")

    def stop(self) -> None:
        for name in reversed(list(self.children)):  # API, worker, then the server they talk to
            child = self.children.pop(name)
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
