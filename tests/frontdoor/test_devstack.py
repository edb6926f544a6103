"""Issue 7: the embedded stack supervises its children — a crashed worker or API is restarted with backoff
and logged, the others keep running; Ctrl-C stops all within seconds. The worker's log has no INFO line
from `transitions` per move."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.frontdoor.stack import ROOT, Stack, free_port, wait_for_port


def children_of(pid: int) -> dict[str, int]:
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        child, args = line.strip().split(" ", 1)
        found["worker" if "worker.py" in args else "api" if "uvicorn" in args else args] = int(child)
    return found


def until(predicate, seconds: float):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError


def test_devstack_restarts_a_killed_worker_and_api_and_stops_on_ctrl_c(tmp_path: Path, migrated_template: Path,
                                                                      issuer):
    server = Stack(tmp_path, migrated_template, issuer)  # OIDC_ISSUER set: devstack starts no issuer of its own
    server.start_temporal()  # an external server: devstack supervises the worker and the API
    api_port = free_port()
    env = {**server.env, "API_PORT": str(api_port)}
    log_path = tmp_path / "devstack.log"
    devstack = subprocess.Popen([sys.executable, "-m", "scripts.devstack"], cwd=ROOT, env=env,
                                stdout=open(log_path, "wb"), stderr=subprocess.STDOUT)
    try:
        wait_for_port(api_port, 90)
        base = f"http://127.0.0.1:{api_port}"
        ready = lambda: (r := httpx.get(f"{base}/ready", timeout=5)).status_code == 200 \
            and (r.json()["worker"]["pollers"] or 0) > 0  # noqa: E731
        until(ready, 60)
        with httpx.Client(base_url=f"{base}/api/v1", headers=server.bearer("it.anna"), timeout=30) as http:
            assert http.post("/orders", json={"order_number": "ORD-DEV-1", "model_code": "LAT-5450",
                                              "unit_id": "UL-KS", "user_ref": "E2101"}).status_code == 201
            assert http.post("/devices/ORD-DEV-1/events", json={
                "action": {"event": "deliver", "serial_number": "S1"}}).json()["state"] == "in_use"

        first = children_of(devstack.pid)
        os.kill(first["worker"], signal.SIGKILL)
        os.kill(first["api"], signal.SIGKILL)
        until(lambda: (c := children_of(devstack.pid)).get("worker", first["worker"]) != first["worker"]
              and c.get("api", first["api"]) != first["api"], 30)
        until(lambda: _up(base) and ready(), 60)
        assert httpx.get(f"{base}/api/v1/devices/ORD-DEV-1", headers=server.bearer("it.anna"),
                         timeout=10).json()["state"] == "in_use"
        log = log_path.read_text()
        assert "worker exited with code -9; restarting in 1 s" in log and "api exited with code -9" in log

        stopping = time.monotonic()
        devstack.send_signal(signal.SIGINT)
        assert devstack.wait(timeout=20) == 0
        assert time.monotonic() - stopping < 15
        assert children_of(devstack.pid) == {}
        log = log_path.read_text()
        # transitions.core logs "Finished processing state … callbacks." at INFO for every move
        assert "polling task queue" in log and "Finished processing state" not in log
    finally:
        if devstack.poll() is None:
            devstack.kill()
        server.stop()


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
