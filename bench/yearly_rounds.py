"""Benchmark (issue 15): the yearly agreement revision round (rule AG-4) fanning out over N agreements.

N active agreements are loaded into PostgreSQL the way the seed loads its two (one approved version each);
then IT runs the round (POST /agreement-revisions/rounds, what the yearly Schedule starts). Measured: the
time until every revision waits for its meeting (state `convened` in the register), against the skeleton of
the same fan-out (bench/skeleton.py: a parent starting one child per agreement, each reading, mirroring and
notifying before it waits) measured in the same run, and against the bare SQL of the candidate query.

Usage: python -m bench.yearly_rounds [agreements]   (default 500)"""
from __future__ import annotations

import asyncio
import sys
import time
from datetime import date, datetime, timezone

from sqlalchemy import create_engine, func, select

from bench.region import Region, run, machine


def load_agreements(database_url: str, count: int, year: int) -> None:
    """`count` agreements shaped like the seed's integration agreement, each with one approved version."""
    from db.agreement_models import AgreementRow, AgreementVersionRow
    from db.seed import SAMPLE_AGREEMENTS
    from db.session import make_sessionmaker
    from domain.agreements import AgreementContent

    template = SAMPLE_AGREEMENTS[1]
    now = datetime.now(timezone.utc)
    maker = make_sessionmaker(database_url)
    with maker.begin() as s:
        for i in range(count):
            agreement_id = f"BENCH-AG-{i:05d}"
            content = {**template, "agreement_id": agreement_id, "application": f"Integration {i}"}
            parsed = AgreementContent.model_validate(content)
            s.add(AgreementRow(id=agreement_id, application=parsed.application,
                               application_kind=parsed.application_kind.value, variant=parsed.variant.value,
                               unit_id=parsed.unit_id, system_owner_ref=parsed.system_owner_ref, status="active",
                               created_at=now, current_version=1))
            s.flush()
            s.add(AgreementVersionRow(agreement_id=agreement_id, version=1, for_year=year,
                                      effective_from=date(year, 1, 1), price_year=year, total=0,
                                      content=parsed.model_dump(mode="json"), approved_by={}, created_at=now))
    maker.kw["bind"].dispose()


async def main(count: int) -> None:
    from bench.skeleton import SkeletonRoundWorkflow
    from db.agreement_models import AgreementRow, AgreementVersionRow, GovernanceProcessRow

    print(f"yearly rounds: {machine()}", flush=True)
    year = datetime.now(timezone.utc).year
    async with Region() as region:
        load_agreements(region.database_url, count, year)
        engine = create_engine(region.database_url)
        total = count + 2  # the seed's two agreements are in the round too

        began = time.perf_counter()
        with engine.connect() as conn:  # the bare SQL limit: the candidate query of agreements.revision_candidates
            revised = select(AgreementVersionRow.agreement_id).where(AgreementVersionRow.for_year >= year + 1)
            conn.execute(select(AgreementRow.id).where(AgreementRow.status == "active",
                                                       AgreementRow.id.not_in(revised)).order_by(AgreementRow.id)).all()
        bare = time.perf_counter() - began

        began = time.perf_counter()
        parent = await region.client.start_workflow(SkeletonRoundWorkflow.run, total, id="skeleton-round",
                                                    task_queue=f"{region.queue}-skeleton")
        await parent.result()
        skeleton_started = time.perf_counter() - began
        print(f"skeleton round: {total} children started in {skeleton_started:.1f} s", flush=True)

        def convened() -> int:
            with engine.connect() as conn:
                return conn.scalar(select(func.count()).select_from(GovernanceProcessRow).where(
                    GovernanceProcessRow.process == "agreement", GovernanceProcessRow.state == "convened"))

        began = time.perf_counter()
        round_done_at = None
        while True:
            answer = await region.http.post("/agreement-revisions/rounds", json={"year": year})
            if answer.status_code == 201:
                round_done_at = time.perf_counter() - began
                break
            assert answer.status_code in (202, 503), answer.text
            await asyncio.sleep(0.5)
        while (waiting := await asyncio.to_thread(convened)) < total:
            if time.perf_counter() - began > 1200:
                raise TimeoutError(f"{waiting} of {total} revisions convened after 20 min")
            await asyncio.sleep(0.5)
        all_waiting = time.perf_counter() - began
        engine.dispose()
    print(f"\nYearly revision round over {total} agreements ({count} loaded + the seed's 2)")
    print(f"every revision waits for its meeting after {all_waiting:.1f} s ({total / all_waiting:.1f} revisions/s); "
          f"the round answered 201 after {round_done_at:.1f} s")
    print(f"skeleton fan-out limit: {skeleton_started:.1f} s for {total} children; round / skeleton = "
          f"{all_waiting / skeleton_started:.2f}x; bare SQL candidate query {bare * 1000:.1f} ms")


if __name__ == "__main__":
    run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
