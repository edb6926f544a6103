"""Today's workflow code must replay the stored histories of workflows started by earlier versions.
Record them with scripts/record_history.py; the file's prefix names its workflow."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.conftest import TEST_DATA_CONVERTER
from workflows.equipment import DeviceLifecycleWorkflow
from workflows.governance import FrameworkChangeWorkflow
from workflows.people import PersonLeaverWorkflow
from workflows.premises import PremisesProjectWorkflow
from workflows.tickets import TicketWorkflow

WORKFLOW_BY_PREFIX = {"device": DeviceLifecycleWorkflow, "ticket": TicketWorkflow, "premises": PremisesProjectWorkflow,
                      "framework": FrameworkChangeWorkflow, "leaver": PersonLeaverWorkflow}
HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_stored_history_replays_eq5_eq8_eq11_eq12_tk2_tk5_gv2_fc1(path: Path):
    history = WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))
    workflow_class = WORKFLOW_BY_PREFIX[path.stem.split("_", 1)[0]]
    # through the payload codec, as a worker replays: histories from before encryption pass it unchanged
    replayer = Replayer(workflows=[workflow_class], data_converter=TEST_DATA_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def test_every_long_lived_process_has_a_stored_history():
    assert {p.stem.split("_", 1)[0] for p in HISTORIES} == set(WORKFLOW_BY_PREFIX)
