"""`make run`: the embedded stack on one machine — Temporal dev server (unless TEMPORAL_ADDRESS is set),
migrations and reference data on SQLite, the worker and the API. Ctrl-C stops everything."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Issue 11: how long Temporal keeps a closed run (the dev server's default is 24 h). Deliberately short:
# Temporal is the engine, not the record. Every run is archived in Ramflow's database when it closes or
# continues as new (hash-chained, backed up with the register), so auditors do not depend on this; 30 days
# keep recent runs in the Web UI for operations and the monthly follow-up. Same value in docker-compose.yml.
NAMESPACE_RETENTION = "720h"


def wait_for_port(host: str, port: int, seconds: float, what: str) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"{what} did not open {host}:{port} within {seconds:.0f} s")


def _stop(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM/SIGHUP stop the stack as cleanly as Ctrl-C


def main() -> int:
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    os.chdir(ROOT)
    (ROOT / "var").mkdir(exist_ok=True)
    from config import get_settings
    from db.migrate import upgrade
    from db.seed import load_reference_data
    from db.session import make_sessionmaker

    settings = get_settings()
    children: list[tuple[str, subprocess.Popen]] = []
    embedded = "TEMPORAL_ADDRESS" not in os.environ
    env = {**os.environ}
    if settings.payload_encryption_keys is None:  # issue 11: a key of this machine's own, kept in var/
        keys = ROOT / "var" / "payload-keys"
        if not keys.exists():
            from codec import new_key_spec

            keys.write_text(new_key_spec("dev1"))
            keys.chmod(0o600)
        env["PAYLOAD_ENCRYPTION_KEYS"] = keys.read_text().strip()
    try:
        if embedded:
            host, port = settings.temporal_address.rsplit(":", 1)
            server = subprocess.Popen([
                str(BIN / "temporal"), "server", "start-dev", "--db-filename", "var/temporal.db",
                "--ip", host, "--port", port, "--ui-port", "8233", "--namespace", settings.temporal_namespace,
                "--ui-codec-endpoint", f"http://{settings.api_host}:{settings.api_port}/api/v1/codec",
                "--log-level", "warn",
            ], stdout=open("var/temporal.log", "a"), stderr=subprocess.STDOUT, start_new_session=True)
            children.append(("temporal", server))
            wait_for_port(host, int(port), 60, "the Temporal dev server")
            subprocess.run([str(BIN / "temporal"), "operator", "namespace", "update", "--namespace",
                            settings.temporal_namespace, "--retention", NAMESPACE_RETENTION,
                            "--address", settings.temporal_address], check=True, stdout=subprocess.DEVNULL)
            # the search attributes (issue 11) are registered by the worker when it starts: one place
        upgrade(settings.database_url)
        loaded = load_reference_data(make_sessionmaker(settings.database_url), date.today().year)
        children.append(("worker", subprocess.Popen([sys.executable, "worker.py"], env=env, start_new_session=True)))
        children.append(("api", subprocess.Popen([
            sys.executable, "-m", "uvicorn", "api.main:app", "--host", settings.api_host,
            "--port", str(settings.api_port), "--log-level", "warning",
        ], env=env, start_new_session=True)))
        wait_for_port(settings.api_host, settings.api_port, 60, "the API")
        base = f"http://{settings.api_host}:{settings.api_port}"
        print(f"""
Ramflow is up.
  API            {base}/api/v1   (OpenAPI: {base}/docs)
  Temporal       {settings.temporal_address}  namespace {settings.temporal_namespace}, task queue {settings.temporal_task_queue}
  Temporal UI    {"http://127.0.0.1:8233" if embedded else "(external server)"}
  Database       {settings.database_url}{"  (reference data loaded)" if loaded else ""}
  Logs           var/temporal.log; worker and API print here
Ctrl-C stops everything.
""", flush=True)
        while all(child.poll() is None for _, child in children):
            time.sleep(0.5)
        dead = [name for name, child in children if child.poll() is not None]
        print(f"stopped: {', '.join(dead)} exited", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping …", flush=True)
        return 0
    finally:
        for _, child in reversed(children):
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for _, child in reversed(children):
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()


if __name__ == "__main__":
    sys.exit(main())
