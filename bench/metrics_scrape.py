"""Benchmark: what a Prometheus scrape of the business gauges (issue 13) costs the database.

Fills a migrated database with a fleet of both municipalities' size (devices, tickets, outbox, governance
processes) and times `BusinessCollector.collect()`, for a tenth of the fleet and the whole fleet, in one run.
Usage: python -m bench.metrics_scrape [DEVICES] [--postgres]   (default 10000; PostgreSQL at 127.0.0.1:5432)"""
from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, insert, text

from db.migrate import upgrade
from db.models import Device, OutboxMessage
from db.seed import load_reference_data
from db.session import make_sessionmaker
from db.ticket_models import Ticket
from domain.tickets import OPEN_STATES
from observability.business import BusinessCollector

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
UNITS = {"TR-KS": "tranemo", "UL-KS": "ulricehamn"}


def fill(sessions, devices: int) -> None:
    rng = random.Random(13)
    now = datetime.now(timezone.utc)
    states = ["in_use"] * 80 + ["renewal_due", "returned", "awaiting_erasure", "called_off"] * 5
    with sessions.begin() as s:
        s.execute(insert(Device), [dict(
            order_number=f"ORD-B-{i}", workflow_id=f"device-ORD-B-{i}", model_code="LAT-5450", category="workstation",
            agreement_ref="A", municipality=UNITS[unit], unit_id=unit, state=rng.choice(states), ordered_at=now,
            delivered_at=now - timedelta(days=rng.randint(0, 48 * 30)), renewal_months=48, updated_at=now)
            for i, unit in ((i, rng.choice(list(UNITS))) for i in range(devices))])
        s.execute(insert(Ticket), [dict(
            number=f"T-B-{i}", workflow_id=f"ticket-T-B-{i}", unit_id="TR-KS", municipality="tranemo", reporter_ref="E1",
            title="t", line=rng.choice(["first_line", "second_line", "infrastruktur"]),
            state=rng.choice([*OPEN_STATES, "closed", "closed", "closed"]), function=rng.choice([None, "office"]),
            reported_at=now, warned_at=rng.choice([None, now]), breached=rng.random() < 0.05, updated_at=now)
            for i in range(devices // 2)])
        s.execute(insert(OutboxMessage), [dict(created_at=now, topic="t", recipient="r", subject="s", body="b",
                                               sent_at=rng.choice([None, now])) for _ in range(devices // 5)])


def time_scrapes(sessions, rounds: int = 20) -> list[float]:
    collector = BusinessCollector(lambda: sessions, 30)
    took = []
    for _ in range(rounds):
        started = time.perf_counter()
        families = list(collector.collect())
        took.append(time.perf_counter() - started)
        assert any(f.name == "ramflow_business_metrics_up" and f.samples[0].value == 1 for f in families)
    return took


def database(postgres: bool, tmp: Path, name: str) -> str:
    if not postgres:
        return f"sqlite:///{tmp / name}.db"
    db = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    with create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f"CREATE DATABASE {db}"))
    return POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{db}"


def main() -> None:
    devices = int(next((a for a in sys.argv[1:] if a.isdigit()), 10000))
    postgres = "--postgres" in sys.argv
    backend = "PostgreSQL" if postgres else "SQLite"
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in (devices // 10, devices):
            url = database(postgres, Path(tmp), f"n{size}")
            upgrade(url)
            sessions = make_sessionmaker(url)
            load_reference_data(sessions, datetime.now().year)
            fill(sessions, size)
            took = sorted(time_scrapes(sessions))
            results[size] = (statistics.median(took), took[int(len(took) * 0.95) - 1])
            sessions.kw["bind"].dispose()
            if postgres:  # leave the shared server as it was
                with create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT").connect() as conn:
                    conn.execute(text(f"DROP DATABASE {url.rsplit('/', 1)[1]}"))
            print(f"{backend}, {size:>6} devices, {size // 2:>5} tickets, {size // 5:>5} outbox rows: "
                  f"scrape p50 {results[size][0] * 1000:.1f} ms, p95 {results[size][1] * 1000:.1f} ms", flush=True)
    small, large = results[devices // 10][0], results[devices][0]
    print(f"10x the data costs {large / small:.1f}x the scrape time (p50)")


if __name__ == "__main__":
    main()
