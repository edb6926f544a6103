"""Benchmark (issue 23): search over the whole fleet. N devices (default 20,000) and N/4 tickets are written
straight into a fresh PostgreSQL database (bench/fleet_rows.py: register rows, no workflows); the API runs
under uvicorn on loopback (api.main:app, tokens from the local issuer). One request at a time, p50/p99 of:

- a serial number through the API (GET /devices?serial_number=…) against the bare SQL query the API makes
  (the same SELECT through SQLAlchemy on a pooled connection, rows fetched);
- the beginning of a serial number in the console's search box (GET /devices?q=…);
- words of a ticket's title (GET /tickets?q=…: full-text search, 'swedish', GIN index) against its bare SQL.

The goal: the serial-number search answers within 2x the bare SQL query's time.

Usage: python -m bench.search [devices]     (BENCH_SAMPLES, default 300; RAMFLOW_BENCH_POSTGRES: the admin URL)"""
from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select, text

from bench.fleet_rows import insert_fleet, order_of, serial_of
from bench.region import machine, p50_p99_ms
from tests.frontdoor.stack import wait_for_port

ADMIN = os.environ.get("RAMFLOW_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "300"))
PORT_BASE = int(os.environ.get("BENCH_PORT_BASE", "23300"))
ROOT = Path(__file__).resolve().parent.parent


def fresh_database() -> tuple[str, callable]:
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    name = f"ramflow_bench_search_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return ADMIN.rsplit("/", 1)[0] + f"/{name}", drop


def start_issuer(port: int):
    import uvicorn

    from scripts.local_issuer import LocalIssuer

    issuer = LocalIssuer(f"http://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(issuer.app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    wait_for_port(port, 30)
    return issuer, server


def timed(call) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def main(devices: int) -> None:
    from db.migrate import upgrade
    from db.models import Device
    from db.people_models import DeviceReturnFlag, Person
    from db.seed import load_reference_data
    from db.session import make_sessionmaker
    from db.ticket_models import Ticket

    print(f"search: {machine()}", flush=True)
    url, drop = fresh_database()
    api = None
    try:
        upgrade(url)
        sessions = make_sessionmaker(url)
        load_reference_data(sessions, 2026)
        began = time.perf_counter()
        insert_fleet(sessions, devices, tickets=devices // 4)
        with sessions() as s:
            s.execute(text("ANALYZE"))
            s.commit()
        print(f"{devices} devices, {devices // 4} tickets written in {time.perf_counter() - began:.1f} s", flush=True)
        issuer, issuer_server = start_issuer(PORT_BASE + 1)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "OIDC_ISSUER": issuer.url,
               "OIDC_AUDIENCE": issuer.audience, "RATE_LIMIT_PER_MINUTE": "1000000"}
        api = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port",
                                str(PORT_BASE), "--log-level", "warning"], cwd=ROOT, env=env)
        wait_for_port(PORT_BASE, 60)
        token = issuer.mint("bench.search", ["it-staff"], lifetime_seconds=3600)
        http = httpx.Client(base_url=f"http://127.0.0.1:{PORT_BASE}/api/v1",
                            headers={"Authorization": f"Bearer {token}"}, timeout=30)
        engine = sessions.kw["bind"]
        from api import search

        def api_get(path: str, expect: int | None, **params) -> None:
            answer = http.get(path, params=params)
            assert answer.status_code == 200, answer.text
            assert expect is None or len(answer.json()) == expect, (params, answer.text[:300])

        def bare(query) -> None:
            with engine.connect() as conn:
                conn.execute(query).all()

        # the SELECT the API makes (api/routes/devices.py: the user's name and return flag joined in)
        register = (select(Device, Person.name, DeviceReturnFlag.flagged_at)
                    .outerjoin(Person, Person.employee_ref == Device.user_ref)
                    .outerjoin(DeviceReturnFlag, DeviceReturnFlag.order_number == Device.order_number))
        for _ in range(20):  # warm both paths (connections, the planner's caches)
            api_get("/devices", 1, serial_number=serial_of(1))
            bare(select(Device).where(search.upper_exact(Device.serial_number, serial_of(1))))
        figures: dict[str, list[float]] = {k: [] for k in ("serial_api", "serial_sql", "prefix_api", "prefix_sql",
                                                          "text_api", "text_sql", "baseline")}
        for _ in range(SAMPLES):
            # what any authenticated call costs (token, the caller's employee number looked up, one small query)
            figures["baseline"].append(timed(lambda: api_get("/units", None)))
            i = random.randrange(devices)
            serial = serial_of(i).lower()  # typed in lower case: still found
            figures["serial_api"].append(timed(lambda: api_get("/devices", 1, serial_number=serial, limit=50)))
            query = (register.where(search.upper_exact(Device.serial_number, serial))
                     .order_by(Device.order_number).limit(50))
            figures["serial_sql"].append(timed(lambda: bare(query)))
            prefix = serial_of(i)[:8]
            figures["prefix_api"].append(timed(lambda: api_get("/devices", None, q=prefix, limit=50)))
            with sessions() as s:
                prefix_query = (register.where(search.device_text(s, Device.serial_number, Device.order_number,
                                                                        Device.user_ref, prefix))
                                .order_by(Device.order_number).limit(50))
            figures["prefix_sql"].append(timed(lambda: bare(prefix_query)))
            words = random.choice(("skrivaren", "outlook logga", "skärmen", "lösenord"))
            figures["text_api"].append(timed(lambda: api_get("/tickets", None, q=words, limit=50)))
            with sessions() as s:
                text_query = (select(Ticket, Person.name)
                              .outerjoin(Person, Person.employee_ref == Ticket.reporter_ref)
                              .where(search.ticket_text(s, Ticket.title, Ticket.description, words))
                              .order_by(Ticket.reported_at, Ticket.number).limit(50))
            figures["text_sql"].append(timed(lambda: bare(text_query)))
        with engine.connect() as conn:
            plan = "\n".join(r[0] for r in conn.execute(text(
                "EXPLAIN SELECT * FROM devices WHERE upper(serial_number) = :s"), {"s": serial_of(3)}))
            fts = "\n".join(r[0] for r in conn.execute(text(
                f"EXPLAIN SELECT * FROM tickets WHERE {search.TICKET_TEXT_SQL} @@ to_tsquery('swedish', 'skrivar:*')")))
        http.close()
        issuer_server.should_exit = True
        report(devices, figures, plan, fts)
        assert "ix_devices_serial_upper" in plan and "ix_tickets_text_fts" in fts, (plan, fts)
    finally:
        if api is not None:
            api.terminate()
            api.wait(10)
        drop()


def report(devices: int, figures: dict[str, list[float]], plan: str, fts: str) -> None:
    ms = {k: p50_p99_ms(v) for k, v in figures.items()}
    print(f"\nSearch at {devices} devices, {devices // 4} tickets (PostgreSQL, API under uvicorn on loopback, one "
          f"request at a time, {SAMPLES} samples)\n")
    base = ms["baseline"]
    print(f"any authenticated call (GET /units): p50/p99 {base[0]:.2f} / {base[1]:.2f} ms\n")
    print(f"{'search':<34} | {'API p50/p99 ms':>15} | {'bare SQL p50/p99 ms':>20} | API / SQL | "
          f"(API - any call) / SQL (p50)")
    for label, key in (("serial number (exact)", "serial"), ("serial number beginning (q=)", "prefix"),
                       ("ticket text (q=, full-text)", "text")):
        api, sql = ms[f"{key}_api"], ms[f"{key}_sql"]
        print(f"{label:<34} | {api[0]:6.2f} / {api[1]:<6.2f} | {sql[0]:8.2f} / {sql[1]:<8.2f} | "
              f"{api[0] / sql[0]:8.2f}x | {max(0.0, api[0] - base[0]) / sql[0]:.2f}x")
    print(f"\nplan (serial): {plan.splitlines()[0].strip()}\nplan (text): {fts.splitlines()[0].strip()}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
