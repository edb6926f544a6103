"""Issue 11: a closed process's Temporal history is archived in Ramflow's database, replays against
today's code, and the process carries typed search attributes (no personal data)."""
from __future__ import annotations

import gzip
import json

from sqlalchemy import select
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from activities.audit import AuditActivities
from db.audit_chain import verify
from db.audit_models import HistoryArchive
from domain.audit import ArchiveRequest
from domain.equipment import Cancel
from tests.equipment_helpers import act, order_device
from worker import WORKFLOWS
from workflows.search_attributes import BUSINESS_KEY, MUNICIPALITY, PROCESS_TYPE, STATE, UNIT


async def replay(row: HistoryArchive) -> None:
    history = WorkflowHistory.from_json(row.workflow_id, json.loads(gzip.decompress(row.history_gz)))
    result = await Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter).replay_workflow(
        history, raise_on_replay_failure=True)
    assert result.replay_failure is None


async def test_closed_device_history_is_archived_once_and_replays(client, worker, settings, sessions):
    handle = await order_device(client, settings.temporal_task_queue, "ORD-AUD-1")
    await act(handle, Cancel(), reason="ordered twice")
    await handle.result()
    with sessions() as s:
        [row] = s.scalars(select(HistoryArchive)).all()
    assert (row.workflow_id, row.workflow_type, row.business_key, row.reason) == (
        "device-ORD-AUD-1", "DeviceLifecycle", "ORD-AUD-1", "closed")
    assert row.run_id == handle.result_run_id and row.first_event_at <= row.last_event_at and row.event_count > 10
    await replay(row)
    # idempotent: archiving the same run again (a retried activity) adds nothing
    request = ArchiveRequest(workflow_id=row.workflow_id, run_id=row.run_id, workflow_type=row.workflow_type,
                             reason="closed")
    assert await AuditActivities(client, sessions).archive_history(request) is False
    with sessions() as s:
        assert len(s.scalars(select(HistoryArchive)).all()) == 1
        assert verify(s)["intact"]


async def test_search_attributes_follow_every_move_without_personal_data(client, worker, settings):
    handle = await order_device(client, settings.temporal_task_queue, "ORD-AUD-2", user_ref="E5001")
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(STATE) == "called_off"
    assert (attributes.get(PROCESS_TYPE), attributes.get(BUSINESS_KEY), attributes.get(UNIT),
            attributes.get(MUNICIPALITY)) == ("DeviceLifecycle", "ORD-AUD-2", "TR-KS", "tranemo")
    await act(handle, Cancel())
    await handle.result()
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(STATE) == "cancelled"
    assert "E5001" not in {str(pair.value) for pair in attributes}
