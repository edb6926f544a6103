"""Benchmark (issue 15): stored histories (tests/workflows/histories) replayed per second, so a release check
over every workflow type's histories stays fast. Two ways: one Replayer over all histories in one stream
(`replay_workflows`, what a release check over many histories does) and one Replayer per history (what the
replay test does); the limit is parsing the same histories without replaying them, in the same run.

Usage: python -m bench.replay [seconds]   (default 10 per way)"""
from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from bench.region import machine

ROOT = Path(__file__).resolve().parents[1]
HISTORIES = sorted((ROOT / "tests" / "workflows" / "histories").glob("*.json"))


def load() -> list[WorkflowHistory]:
    return [WorkflowHistory.from_json(p.stem, json.loads(p.read_text())) for p in HISTORIES]


async def main(seconds: float) -> None:
    from workflows.equipment import DeviceLifecycleWorkflow
    from workflows.tickets import TicketWorkflow

    print(f"replay: {machine()}", flush=True)
    workflows = [DeviceLifecycleWorkflow, TicketWorkflow]
    histories = load()
    events = sum(len(h.events) for h in histories)

    began, parsed = time.perf_counter(), 0
    while time.perf_counter() - began < min(seconds, 3):
        load()
        parsed += len(HISTORIES)
    parse_rate = parsed / (time.perf_counter() - began)

    replayer = Replayer(workflows=workflows, data_converter=pydantic_data_converter)
    began, streamed = time.perf_counter(), 0
    while time.perf_counter() - began < seconds:
        batch = load() * 5
        async with replayer.workflow_replay_iterator(_aiter(batch)) as results:
            async for result in results:
                assert result.replay_failure is None, result.replay_failure
                streamed += 1
    stream_rate = streamed / (time.perf_counter() - began)

    began, single = time.perf_counter(), 0
    while time.perf_counter() - began < seconds:
        for history in load():
            result = await Replayer(workflows=workflows, data_converter=pydantic_data_converter).replay_workflow(
                history, raise_on_replay_failure=True)
            assert result.replay_failure is None
            single += 1
    single_rate = single / (time.perf_counter() - began)

    per_history = events / len(histories)
    print(f"\nReplay of {len(histories)} stored histories ({per_history:.0f} events each on average)")
    print(f"one Replayer, streamed: {stream_rate:.1f} histories/s ({stream_rate * per_history:.0f} events/s)")
    print(f"one Replayer per history: {single_rate:.1f} histories/s ({single_rate / stream_rate:.0%} of streamed)")
    print(f"limit (parsing only, no replay): {parse_rate:.0f} histories/s; replay / parse = "
          f"{stream_rate / parse_rate:.1%}")
    print(f"a release check over 1,000 stored histories: about {1000 / stream_rate:.0f} s streamed")


async def _aiter(items):
    for item in items:
        yield item


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 10))
