"""Today's workflow code must replay the histories of devices started by earlier versions."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.equipment import DeviceLifecycleWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("device_*.json"))


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_eq5_eq11_eq12_stored_device_history_replays(path: Path):
    history = WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))
    replayer = Replayer(workflows=[DeviceLifecycleWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def test_stored_histories_exist():
    assert HISTORIES, "record one with: python -m scripts.record_history tests/workflows/histories/device_x.json"
