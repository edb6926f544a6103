"""The yearly Schedules on a real Temporal dev server (the time-skipping server has no schedules):
they exist with their calendars after `ensure_schedules`, the function the worker calls at start
(rules AG-4, GV-1), the call is idempotent, and a scheduled round really starts the revisions."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from temporalio.client import ScheduleActionStartWorkflow, ScheduleRange

from config import Settings
from domain.agreements import agreement_workflow_id
from worker import build_worker
from workflows.schedules import AGREEMENT_REVISION_SCHEDULE, FRAMEWORK_REVISION_SCHEDULE, ensure_schedules

STOCKHOLM = ZoneInfo("Europe/Stockholm")


async def test_ag4_gv1_schedules_exist_with_yearly_calendars_after_worker_start(dev_server):
    client = dev_server.client
    settings = Settings(temporal_task_queue="ramflow-schedules")
    assert await ensure_schedules(client, settings) == [AGREEMENT_REVISION_SCHEDULE, FRAMEWORK_REVISION_SCHEDULE]

    agreements = await client.get_schedule_handle(AGREEMENT_REVISION_SCHEDULE).describe()
    spec = agreements.schedule.spec
    assert spec.time_zone_name == "Europe/Stockholm" and len(spec.calendars) == 1
    calendar = spec.calendars[0]
    assert (list(calendar.month), list(calendar.day_of_month), list(calendar.hour), list(calendar.minute)) == (
        [ScheduleRange(9)], [ScheduleRange(1)], [ScheduleRange(7)], [ScheduleRange(0)])
    assert "AG-4" in (calendar.comment or "")
    action = agreements.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert (action.workflow, action.task_queue) == ("AgreementRevisionRound", "ramflow-schedules")
    upcoming = agreements.info.next_action_times[0].astimezone(STOCKHOLM)
    assert (upcoming.month, upcoming.day, upcoming.hour, upcoming.minute) == (9, 1, 7, 0)

    framework = await client.get_schedule_handle(FRAMEWORK_REVISION_SCHEDULE).describe()
    calendar = framework.schedule.spec.calendars[0]
    assert (list(calendar.month), list(calendar.day_of_month)) == ([ScheduleRange(2)], [ScheduleRange(1)])
    assert framework.schedule.action.workflow == "FrameworkYearlyRound" and "GV-1" in calendar.comment
    upcoming = framework.info.next_action_times[0].astimezone(STOCKHOLM)
    assert (upcoming.month, upcoming.day, upcoming.hour) == (2, 1, 7)


async def test_ensure_schedules_is_idempotent_updates_the_calendar_and_keeps_a_pause(own_dev_server):
    client = own_dev_server.client
    handle = client.get_schedule_handle(AGREEMENT_REVISION_SCHEDULE)
    await ensure_schedules(client, Settings(temporal_task_queue="ramflow-schedules"))
    await handle.pause(note="paused by IT during the migration")
    # the server applies a pause asynchronously (a signal to the schedule's own workflow): IT's pause has landed
    # before a deploy runs ensure_schedules; on a loaded machine that can take seconds
    deadline = asyncio.get_running_loop().time() + 60
    while not (await handle.describe()).schedule.state.paused:
        assert asyncio.get_running_loop().time() < deadline, "the pause never landed"
        await asyncio.sleep(0.1)
    moved = Settings(temporal_task_queue="ramflow-schedules", agreement_revision_month=10, agreement_revision_day=15)
    await ensure_schedules(client, moved)
    await ensure_schedules(client, moved)
    description = await handle.describe()
    calendar = description.schedule.spec.calendars[0]
    assert (list(calendar.month), list(calendar.day_of_month)) == ([ScheduleRange(10)], [ScheduleRange(15)])
    assert description.schedule.state.paused
    await handle.unpause()


async def test_ag4_a_scheduled_round_starts_one_revision_per_active_agreement(dev_server, sessions, executor):
    client = dev_server.client
    settings = Settings(temporal_task_queue="ramflow-schedules-run", database_url=str(sessions.kw["bind"].url))
    await ensure_schedules(client, settings)
    handle = client.get_schedule_handle(AGREEMENT_REVISION_SCHEDULE)
    async with build_worker(client, sessions, settings, executor=executor):
        await handle.trigger()
        for _ in range(200):
            recent = (await handle.describe()).info.recent_actions
            if recent:
                break
            await asyncio.sleep(0.05)
        started = recent[-1].action
        revisions = await client.get_workflow_handle(started.workflow_id).result()
        year = datetime.now(STOCKHOLM).year + 1
        assert revisions == [agreement_workflow_id("APP-TRESERVA", "revision", year),
                             agreement_workflow_id("INT-LON-EKONOMI", "revision", year)]
        for workflow_id in revisions:
            await client.get_workflow_handle(workflow_id).terminate("test finished")
    # a round missed while Temporal was down still runs within a month
    assert (await handle.describe()).schedule.policy.catchup_window == timedelta(days=30)
