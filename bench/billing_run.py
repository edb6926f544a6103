"""Benchmark: one billing run over N active rentals (default 20,000) against one SQL query that
computes the same rent totals per unit, in one run, on one machine (goal: run ≤ 3× the query).

Measures:
- the SQL query alone (per unit: Σ round(monthly × active days / days of the month, 2));
- the run's work without Temporal (collect + one basis per unit: lines, change section, store);
- the whole BillingRun workflow on Temporal's (time-skipping) test server with a real worker;
and checks that the three give the same rent totals.
Also prints where the run's time goes: the SELECT of the rent lines alone (what the run computes, in SQL),
and the same rows stored (INSERT … SELECT into invoice_lines), for all units, in one transaction.
The floor of the workflow: an empty workflow with the same activities in the same shape (collect, one per
unit, 8 at a time, publish) doing nothing, on the same server and worker setup: the Temporal round trips alone.
Usage: python -m bench.billing_run [N] [--postgres] [--repeat K]  (K runs on fresh copies; medians printed)
(PostgreSQL at RAMFLOW_TEST_POSTGRES or 127.0.0.1:5432; databases named BENCH_PG_PREFIX + a suffix)"""
from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, func, insert, make_url, select, text
from statistics import median

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.billing import store_basis
from bench.billing_floor import FloorWorkflow, noop
from config import Settings
from db import billing_queries as q
from db.billing_models import InvoiceBasisRow, InvoiceLineRow
from db.billing_rent_sql import rent_select, insert_rent_lines, year_prices
from db.migrate import upgrade
from db.models import Charge, Device
from db.seed import load_reference_data
from db.session import make_sessionmaker
from domain.billing import BillingRunStart, UnitBasisRequest, billing_workflow_id, parse_period
from worker import build_worker
from workflows.billing import BillingRunWorkflow

PERIOD = "2026-03"
UNITS = ["UL-KS", "UL-BUF", "UL-VOF", "UL-SBF", "UL-IT"]
MODELS = [("LAT-5450", "workstation", "420.00"), ("OPT-7020", "workstation", "360.00"),
          ("TP-E14", "teacher_computer", "310.00"), ("CB-314", "student_computer", "120.00"),
          ("IPAD-10", "tablet", "150.00"), ("P2425", "screen", "45.00")]
AT = datetime(2026, 1, 1, tzinfo=timezone.utc)
SQL_TOTALS = {"sqlite": text("""
SELECT unit_id, SUM(ROUND(amount * (MIN(julianday(COALESCE(ends_on, :end)), julianday(:end))
                                   - MAX(julianday(starts_on), julianday(:start))) / :days, 2))
FROM charges
WHERE recurring = 1 AND starts_on < :end AND (ends_on IS NULL OR ends_on > :start)
GROUP BY unit_id ORDER BY unit_id"""), "postgresql": text("""
SELECT unit_id, SUM(ROUND(amount * (LEAST(COALESCE(ends_on, CAST(:end AS DATE)), CAST(:end AS DATE))
                                   - GREATEST(starts_on, CAST(:start AS DATE))) / CAST(:days AS NUMERIC), 2))
FROM charges
WHERE recurring AND starts_on < CAST(:end AS DATE) AND (ends_on IS NULL OR ends_on > CAST(:start AS DATE))
GROUP BY unit_id ORDER BY unit_id""")}


def fleet(sessions, n: int) -> None:
    """N rentals in Ulricehamn: most active all March, a tenth delivered or returned mid-March."""
    rng = random.Random(12)
    devices, charges = [], []
    for i in range(n):
        model, category, amount = MODELS[i % len(MODELS)]
        unit = UNITS[i % len(UNITS)]
        starts = date(2024, 1, 1) + timedelta(days=rng.randrange(700 if i % 10 == 0 else 800))
        ends = date(2026, 3, 1) + timedelta(days=rng.randrange(1, 31)) if i % 10 == 0 else None
        order = f"B{i:06d}"
        devices.append(dict(order_number=order, workflow_id=f"device-{order}", model_code=model, category=category,
                            agreement_ref="ADDA", municipality="ulricehamn", unit_id=unit, cost_bearer_unit_id=unit,
                            state="in_use", ordered_at=AT, updated_at=AT, renewal_months=48,
                            delivered_at=datetime.combine(starts, datetime.min.time(), timezone.utc)))
        charges.append(dict(order_number=order, unit_id=unit, kind="rent", amount=Decimal(amount), recurring=True,
                            starts_on=starts, ends_on=ends))
    with sessions.begin() as s:
        s.execute(insert(Device), devices)
        s.execute(insert(Charge), charges)


def fresh_db(template: Path, name: str) -> str:
    path = template.with_name(name)
    path.write_bytes(template.read_bytes())
    return f"sqlite:///{path}"


def sql_totals(sessions) -> tuple[float, dict[str, Decimal]]:
    period = parse_period(PERIOD)
    with sessions() as s:
        started = time.perf_counter()
        rows = s.execute(SQL_TOTALS[s.get_bind().dialect.name],
                         dict(start=period.start.isoformat(), end=period.end.isoformat(), days=31.0)).all()
        elapsed = time.perf_counter() - started
    return elapsed, {unit: Decimal(str(round(total, 2))).quantize(Decimal("0.01")) for unit, total in rows}


def rent_totals(sessions) -> dict[str, Decimal]:
    with sessions() as s:
        rows = s.execute(select(InvoiceBasisRow.unit_id, func.sum(InvoiceLineRow.amount)).join(InvoiceLineRow)
                         .where(InvoiceLineRow.kind == "rent").group_by(InvoiceBasisRow.unit_id)).all()
    return {unit: Decimal(total).quantize(Decimal("0.01")) for unit, total in rows}


def direct_run(sessions) -> float:
    """collect + store_basis per unit, as the workflow's activities do, without Temporal in between."""
    started = time.perf_counter()
    with sessions() as s:
        units = q.unit_ids(s, "ulricehamn")
    for unit in units:
        with sessions.begin() as s:
            store_basis(s, UnitBasisRequest(run_id="direct", municipality="ulricehamn", period=PERIOD,
                                            kind="regular", unit_id=unit), datetime.now(timezone.utc))
    return time.perf_counter() - started


async def workflow_run(url: str) -> tuple[float, float]:
    """The BillingRun workflow with a real worker, and the floor (the same activities doing nothing)."""
    sessions = make_sessionmaker(url)
    from tests.conftest import binary

    env = await WorkflowEnvironment.start_time_skipping(data_converter=pydantic_data_converter,
                                                        test_server_existing_path=binary("temporal-test-server"))
    try:
        settings = Settings(database_url=url, temporal_task_queue=f"bench-{uuid.uuid4()}")
        async with build_worker(env.client, sessions, settings):
            started = time.perf_counter()
            await env.client.execute_workflow(BillingRunWorkflow.run,
                                              BillingRunStart(municipality="ulricehamn", period=PERIOD),
                                              id=billing_workflow_id("ulricehamn", PERIOD),
                                              task_queue=settings.temporal_task_queue)
            workflow_s = time.perf_counter() - started
        queue = f"bench-floor-{uuid.uuid4()}"
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=8) as executor:
            async with Worker(env.client, task_queue=queue, workflows=[FloorWorkflow], activities=[noop],
                              activity_executor=executor):
                started = time.perf_counter()
                await env.client.execute_workflow(FloorWorkflow.run, len(UNITS), id=f"floor-{uuid.uuid4()}",
                                                  task_queue=queue)
                floor_s = time.perf_counter() - started
        return workflow_s, floor_s
    finally:
        await env.shutdown()


def breakdown(sessions) -> tuple[float, float, float]:
    """Where a run's time goes, without Temporal or Python lines: the rent lines SELECTed (computed in SQL,
    fetched), then stored with INSERT … SELECT, then the commit; all units, one transaction."""
    period = parse_period(PERIOD)
    with sessions() as s:
        units, prices = q.unit_ids(s, "ulricehamn"), year_prices(s, period.year)
        sql, params = rent_select(s.get_bind().dialect.name, period, prices)
        started = time.perf_counter()
        for unit in units:
            s.execute(text(sql), {**params, "unit_id": unit}).all()
        selected = time.perf_counter()
        for unit in units:
            basis = InvoiceBasisRow(municipality="ulricehamn", period=PERIOD, kind="regular", unit_id=unit,
                                    run_id="breakdown", total=Decimal(0), changes={}, created_at=AT)
            s.add(basis)
            s.flush()
            insert_rent_lines(s, basis.id, unit, period, prices)
        inserted = time.perf_counter()
        s.commit()
        committed = time.perf_counter()
    return selected - started, inserted - selected, committed - inserted


class SQLiteCopies:
    """A seeded template database file and fresh copies of it."""

    def __init__(self, tmp: Path) -> None:
        self.template = tmp / "template.db"
        self.url = f"sqlite:///{self.template}"

    def copy(self, name: str) -> str:
        return fresh_db(self.template, f"{name}.db")

    def close(self) -> None:
        pass


class PostgresCopies:
    """A seeded template database on the local PostgreSQL and fresh copies (CREATE DATABASE … TEMPLATE)."""

    def __init__(self) -> None:
        from tests.db_backends import POSTGRES_ADMIN_URL

        self.admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        self.base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
        self.prefix = f"{os.environ.get('BENCH_PG_PREFIX', 'ramflow_bench')}_{uuid.uuid4().hex[:8]}"
        self.names = [f"{self.prefix}_template"]
        self._run(f'CREATE DATABASE "{self.names[0]}"')
        self.url = f"{self.base}/{self.names[0]}"

    def _run(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(sql))

    def copy(self, name: str) -> str:
        self.names.append(f"{self.prefix}_{name}")
        self._run(f'CREATE DATABASE "{self.names[-1]}" TEMPLATE "{self.names[0]}"')
        return f"{self.base}/{self.names[-1]}"

    def close(self) -> None:
        for name in self.names:
            self._run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.dispose()


def measure(copies, n: int, repeat: int = 1) -> None:
    upgrade(copies.url)
    seed = make_sessionmaker(copies.url)
    load_reference_data(seed, 2026)
    fleet(seed, n)
    seed.kw["bind"].dispose()
    rows = []
    for i in range(repeat):
        rows.append(measure_once(copies, i))
        print_row(rows[-1], f"run {i + 1}/{repeat}")
    print(f"database: {make_url(copies.url).get_backend_name()}; active rentals: {n} in {len(UNITS)} units, "
          f"period {PERIOD}; {repeat} runs; load average {os.getloadavg()[0]:.1f}")
    med = {key: median(row[key] for row in rows) for key in rows[0] if key != "same"}
    print_row(med, "MEDIANS (ratios: median of the per-run ratios)",
              {key: median(row[key] / row["query"] for row in rows) for key in med})
    print("goal ≤ 3x the query:", "met" if med["workflow"] <= 3 * med["query"] else "NOT met")
    print("same rent totals (query, run, workflow) in every run:", all(row["same"] for row in rows))


def measure_once(copies, i: int) -> dict:
    sql_sessions = make_sessionmaker(copies.copy(f"sql{i}"))
    sql_totals(sql_sessions)  # warm the page cache like the runs below get it warm
    query_s, expected = sql_totals(sql_sessions)
    select_s, insert_s, commit_s = breakdown(sql_sessions)
    sql_sessions.kw["bind"].dispose()

    direct_sessions = make_sessionmaker(copies.copy(f"direct{i}"))
    direct_s = direct_run(direct_sessions)
    direct = rent_totals(direct_sessions)
    direct_sessions.kw["bind"].dispose()

    wf_url = copies.copy(f"workflow{i}")
    workflow_s, floor_s = asyncio.run(workflow_run(wf_url))
    wf_sessions = make_sessionmaker(wf_url)
    via_workflow = rent_totals(wf_sessions)
    wf_sessions.kw["bind"].dispose()
    same = expected == direct == via_workflow
    if not same:
        for unit in sorted(expected):
            print(f"  {unit}: query {expected.get(unit)} run {direct.get(unit)} workflow {via_workflow.get(unit)}")
    return dict(query=query_s, select=select_s, insert=insert_s, commit=commit_s, direct=direct_s,
                workflow=workflow_s, floor=floor_s, load=os.getloadavg()[0], same=same)


def print_row(row: dict, title: str, ratios: dict | None = None) -> None:
    ratio = ratios or {key: row[key] / row["query"] for key in row if key not in ("same", "load")}
    print(f"{title} (load average {row['load']:.1f})")
    print(f"  one SQL query (rent totals per unit):        {row['query'] * 1000:8.1f} ms")
    for key, label in (("select", "rent lines SELECTed in SQL (all units)"),
                       ("insert", "the same stored, INSERT … SELECT"), ("commit", "commit"),
                       ("direct", "billing run, activities without Temporal"),
                       ("workflow", "billing run, BillingRun workflow (Temporal)"),
                       ("floor", "floor: empty workflow, same activities")):
        print(f"  {label + ':':45s}{row[key] * 1000:8.1f} ms  ({ratio[key]:5.1f}x)")


def main() -> None:
    argv = sys.argv[1:]
    repeat = int(argv.pop(argv.index("--repeat") + 1)) if "--repeat" in argv else 1
    args = [a for a in argv if not a.startswith("--")]
    n = int(args[0]) if args else 20_000
    with tempfile.TemporaryDirectory() as tmp:
        copies = PostgresCopies() if "--postgres" in sys.argv else SQLiteCopies(Path(tmp))
        try:
            measure(copies, n, repeat)
        finally:
            copies.close()


if __name__ == "__main__":
    main()
