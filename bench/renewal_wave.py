"""Benchmark (issue 15): the renewal wave (rule EQ-5) — N devices whose renewal falls due at once.

Arranged through the renewal policy and the lead time, not the database: N workstations in Tranemo are
ordered and delivered within a few minutes with a lead time of exactly one calendar month (the days from
today to the same day next month), under the 48-month policy. Then IT sets the policy to one month
(PUT /renewal-policies/workstation/tranemo, re-arming running devices): every device's renewal date less
its lead time is its delivery instant, so all N are due within the same few minutes, at once. Measured:
from the first `renewal_due` until every replacement order is called off (goal: all N within 60 s), the
task-queue backlog and its age during the wave, and the limit: the same N order + call-off starts on the
skeleton workflow, all at once, in the same run.

Usage: python -m bench.renewal_wave [devices]   (default 2000)"""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from datetime import date

from sqlalchemy import create_engine, func, select

from bench.fleet import device, gather_limited, skeleton_device
from bench.region import Region, run, load_average, machine

GOAL_SECONDS = 60.0
TRANEMO_UNITS = ("TR-KS", "TR-BUF", "TR-SOC", "TR-SBF")


def one_month_in_days(today: date) -> int:
    """Lead time that makes a one-month renewal fall due on the delivery day itself (EQ-5)."""
    from domain.catalogue import add_months

    return (add_months(today, 1) - today).days


async def skeleton_wave(region: Region, count: int) -> float:
    """The limit: `count` skeleton order + call-off workflows started all at once (c=200)."""
    return await gather_limited(count, lambda i: skeleton_device(region, f"W{i}", deliver=False), concurrency=200)


async def main(count: int) -> None:
    from db.models import CallOff, Device, DeviceTransition

    print(f"renewal wave: {machine()}", flush=True)
    lead = one_month_in_days(date.today())
    async with Region() as region:
        engine = create_engine(region.database_url)
        began = time.perf_counter()
        await gather_limited(count, lambda i: device(region, f"RW-{i:05d}", TRANEMO_UNITS[i % 4], lead_days=lead))
        print(f"{count} devices ordered and delivered in {time.perf_counter() - began:.0f} s (lead time {lead} d)",
              flush=True)
        skeleton_cpu = sum(region.cpu_seconds().values())
        skeleton_seconds = await skeleton_wave(region, count)
        skeleton_cpu = sum(region.cpu_seconds().values()) - skeleton_cpu
        print(f"skeleton limit: {count} order + call-off starts in {skeleton_seconds:.1f} s "
              f"({skeleton_cpu / count * 1000:.0f} CPU ms each, {load_average()})", flush=True)
        await asyncio.sleep(3)

        backlog: list[tuple[float, int, float]] = []
        done = asyncio.Event()

        async def sample() -> None:
            while not done.is_set():
                try:
                    count_, age = await region.task_queue_backlog()
                    backlog.append((time.perf_counter(), count_, age))
                except Exception as error:  # noqa: BLE001 - a sample lost is not a failed benchmark
                    print(f"  backlog sample failed: {error}", flush=True)
                await asyncio.sleep(1)

        def called_off() -> int:
            with engine.connect() as conn:
                return conn.scalar(select(func.count()).select_from(CallOff)
                                   .where(CallOff.order_number.like("RW-%-R1")))

        async def set_policy() -> tuple[float, int]:
            """IT's PUT: 200 with the devices when the re-arm job ends within the update wait, else 202 at once
            and the job is followed at its Location until it has completed (a 503 is repeated: safe, the same
            period joins the running job). Returns the seconds until the job completed, and the running
            devices on the new period then."""
            while True:
                answer = await region.http.put("/renewal-policies/workstation/tranemo", json={
                    "renewal_months": 1, "reason": "benchmark: the renewal wave"}, timeout=120)
                if answer.status_code != 503:
                    break
                await asyncio.sleep(1)
            print(f"  policy PUT answered {answer.status_code} after {time.perf_counter() - wave_began:.1f} s",
                  flush=True)
            if answer.status_code == 200:
                return time.perf_counter() - wave_began, len(answer.json()["devices_updated"])
            assert answer.status_code == 202, answer.text
            location = answer.headers["Location"].removeprefix("/api/v1")
            while True:
                job = (await region.http.get(location, timeout=60)).json()
                if job["status"] != "running":
                    assert job["status"] == "completed", job
                    return time.perf_counter() - wave_began, job["devices_on_policy"]
                await asyncio.sleep(1)

        profiling = bool(os.environ.get("BENCH_PROFILE"))
        if profiling:
            region.signal_workers(signal.SIGUSR2)  # the profile covers the wave only
        sampler = asyncio.create_task(sample())
        cpu_before = region.cpu_seconds()
        wave_began = time.perf_counter()
        put = asyncio.create_task(set_policy())
        wall = await region.wait_until(called_off, count, 1800, "replacements called off")
        cpu = {name: seconds - cpu_before.get(name, 0.0) for name, seconds in region.cpu_seconds().items()}
        if profiling:
            region.signal_workers(signal.SIGUSR1)
            await asyncio.sleep(10)
        put_seconds, rearmed = await put
        print(f"  re-arm job completed after {put_seconds:.1f} s; {rearmed} running devices on the new period",
              flush=True)
        done.set()
        await sampler
        with engine.connect() as conn:
            first_due = conn.scalar(select(func.min(DeviceTransition.at)).where(
                DeviceTransition.event == "renewal_due", DeviceTransition.order_number.like("RW-%")))
            last_due = conn.scalar(select(func.max(DeviceTransition.at)).where(
                DeviceTransition.event == "renewal_due", DeviceTransition.order_number.like("RW-%")))
            last_call_off = conn.scalar(select(func.max(CallOff.at)).where(CallOff.order_number.like("RW-%-R1")))
            replacements = conn.scalar(select(func.count()).select_from(Device).where(Device.replaces.is_not(None)))
        engine.dispose()
        rss = region.worker_rss_mib()
        workers = region.workers
    span = (last_call_off - first_due).total_seconds()
    due_span = (last_due - first_due).total_seconds()
    max_backlog = max((b[1] for b in backlog), default=0)
    max_age = max((b[2] for b in backlog), default=0.0)
    print(f"\nRenewal wave of {count} devices (policy 48 -> 1 month, lead {lead} days), {workers} worker process(es), "
          f"{load_average()} at the end")
    print(f"first renewal_due -> last replacement called off: {span:.1f} s (goal <= {GOAL_SECONDS:.0f} s: "
          f"{'met' if span <= GOAL_SECONDS else 'MISSED'}); {count / span:.1f} replacements/s")
    print(f"renewal_due moves spread over {due_span:.1f} s (the policy's re-arm job sends 32 Updates at a time: "
          f"{put_seconds:.1f} s for {count}); wall clock from the PUT to the last call-off {wall:.1f} s")
    print(f"task-queue backlog during the wave: max {max_backlog} tasks, oldest {max_age:.1f} s "
          f"({len(backlog)} samples); worker RSS {rss:.0f} MiB; replacements registered {replacements}")
    busy = sum(cpu.values())
    print(f"CPU during the wave ({wall:.0f} s wall, {busy:.0f} CPU s = {busy / wall:.2f} cores; per replacement "
          f"{busy / count * 1000:.0f} ms): " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in cpu.items()))
    print(f"skeleton limit: {count} order + call-off starts in {skeleton_seconds:.1f} s "
          f"({count / skeleton_seconds:.1f}/s, {skeleton_cpu / count * 1000:.0f} CPU ms each); "
          f"wave / skeleton = {span / skeleton_seconds:.2f}x")


if __name__ == "__main__":
    run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
