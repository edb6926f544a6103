"""Benchmark (issue 22): importing the existing device register on the embedded stack (dev server on its file,
PostgreSQL, a worker process, the API). A register of N rows (default 10,000; delivered up to five years ago,
workstations, desktops, screens and phones across the units) is dry-run and then committed through
`POST /api/v1/imports/devices`; rows per second of each, against the fleet bench's bulk start path
(bench/fleet.py `device`: Update-with-Start + deliver through the SDK) measured on the same stack in the same run
(BENCH_FLEET_SAMPLE devices, default the same N).

Usage: python -m bench.device_import [rows]"""
from __future__ import annotations

import asyncio
import os
import random
import sys
import time

from bench.fleet import UNITS, device, gather_limited
from bench.region import Region, load_average, machine, run
from domain.catalogue import add_months

PER_DAY = os.environ.get("BENCH_RENEWALS_PER_DAY", "50")
MODELS = ("LAT-5450", "LAT-5450", "OPT-7020", "P2425", "IPHONE-15")


def register(rows: int, seed: int = 22) -> bytes:
    """A register in the template's columns (UTF-8 with BOM, `;`), delivered up to five years ago."""
    from datetime import date, timedelta

    from tests.equipment.import_helpers import register_csv, row

    rng, today = random.Random(seed), date.today()
    oldest = add_months(today, -60)
    return register_csv([row(f"IMP-{i:06d}", oldest + timedelta(days=rng.randrange((today - oldest).days)),
                             model=rng.choice(MODELS), unit=UNITS[i % len(UNITS)], user=f"E{1000 + i % 9000}")
                         for i in range(rows)])


async def main(rows: int) -> None:
    print(f"device import: {machine()}", flush=True)
    content = register(rows)
    cutover = time.strftime("%Y-%m")
    params = {"cutover": cutover, "source": f"bench-{rows}.csv"}
    async with Region(import_renewals_per_day=PER_DAY) as region:
        began = time.perf_counter()
        answer = await region.http.post("/imports/devices", content=content, params=params)
        assert answer.status_code == 200, answer.text
        dry = time.perf_counter() - began
        report = answer.json()
        print(f"dry run: {rows} rows in {dry:.1f} s = {rows / dry:.0f} rows/s ({report['would_start']} would start, "
              f"{report['errors']} errors, {report['warnings']} warnings; {load_average()})", flush=True)
        began = time.perf_counter()
        answer = await region.http.post("/imports/devices", content=content, params={**params, "dry_run": "false"})
        assert answer.status_code in (200, 202), answer.text
        import_id = answer.json()["id"]
        while True:
            progress = (await region.http.get(f"/imports/{import_id}", params={"limit": 1})).json()
            if progress["status"] == "done":
                break
            await asyncio.sleep(2)
        commit = time.perf_counter() - began
        print(f"commit: {rows} rows in {commit:.1f} s = {rows / commit:.1f} rows/s (done {progress['done']}, failed "
              f"{progress['failed']}; {load_average()})", flush=True)
        sample = int(os.environ.get("BENCH_FLEET_SAMPLE", str(rows)))
        seconds = await gather_limited(sample, lambda i: device(region, f"FL-{i:06d}", UNITS[i % len(UNITS)]))
        fleet = sample / seconds
        print(f"fleet bulk start path: {sample} devices in {seconds:.1f} s = {fleet:.1f} devices/s ({load_average()})",
              flush=True)
    print(f"\n| rows | dry run rows/s | commit rows/s | fleet bulk start devices/s | commit vs fleet |\n"
          f"|---|---|---|---|---|\n| {rows} | {rows / dry:.0f} | {rows / commit:.1f} | {fleet:.1f} | "
          f"{rows / commit / fleet:.0%} |")


if __name__ == "__main__":
    run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
