"""Replay an auditor's export bundle against today's workflow code (issue 11).

    curl -s $API/audit/processes/device-ORD-1/bundle -o device-ORD-1.audit.json
    python -m scripts.replay_bundle device-ORD-1.audit.json      exit 0: every run replays
"""
from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer


async def replay_bundle(bundle: dict) -> list[tuple[str, str | None]]:
    """(run id, failure or None) per run of the bundle."""
    from worker import WORKFLOWS

    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    results = []
    for run in bundle["runs"]:
        history = WorkflowHistory.from_json(bundle["workflow_id"], run["history"])
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        results.append((run["run_id"], None if result.replay_failure is None else str(result.replay_failure)))
    return results


def main(argv: list[str]) -> int:
    bundle = json.loads(Path(argv[0]).read_text())
    results = asyncio.run(replay_bundle(bundle))
    for run_id, failure in results:
        print(f"{bundle['workflow_id']} run {run_id}: {'replays' if failure is None else 'FAILS: ' + failure}")
    print(f"state {bundle['current_state']}, {len(bundle['transitions'])} transitions, "
          f"{len(bundle['refused_attempts'])} refused attempts, chain {'intact' if bundle['chain']['intact'] else 'BROKEN'}")
    return 0 if results and all(failure is None for _, failure in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
