"""The Temporal Schedules of the yearly cycle (rules AG-4, GV-1). The worker calls
`ensure_schedules` at start: create each schedule, or update it to the configured calendar
(keeping an operator's pause). One schedule per yearly round, fanned out by the round workflow;
see docs/agreements.md for why not one schedule per agreement."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from config import Settings
from domain.governance import RoundStart
from workflows.agreements import AgreementRevisionRoundWorkflow
from workflows.governance import FrameworkYearlyRoundWorkflow

AGREEMENT_REVISION_SCHEDULE = "ramflow-agreement-revision-round"
FRAMEWORK_REVISION_SCHEDULE = "ramflow-framework-yearly-round"
ROUND_HOUR = 7  # local time: the round's notifications arrive at the start of a working day
CATCHUP = timedelta(days=30)  # a round missed while Temporal was down still runs within a month


def yearly(month: int, day: int, comment: str) -> ScheduleCalendarSpec:
    return ScheduleCalendarSpec(month=[ScheduleRange(month)], day_of_month=[ScheduleRange(day)],
                                hour=[ScheduleRange(ROUND_HOUR)], minute=[ScheduleRange(0)],
                                second=[ScheduleRange(0)], comment=comment)


def schedule_definitions(settings: Settings) -> dict[str, Schedule]:
    """The schedules as configured: one yearly calendar each, in the municipalities' time zone."""
    policy = SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP)
    return {
        AGREEMENT_REVISION_SCHEDULE: Schedule(
            action=ScheduleActionStartWorkflow(
                AgreementRevisionRoundWorkflow.run, RoundStart(reminder_weeks=settings.agreement_reminder_weeks),
                id="agreement-revision-round", task_queue=settings.temporal_task_queue,
                execution_timeout=timedelta(days=1)),
            spec=ScheduleSpec(calendars=[yearly(settings.agreement_revision_month, settings.agreement_revision_day,
                                                "rule AG-4: yearly revision of every active application agreement")],
                              time_zone_name=settings.timezone),
            policy=policy,
            state=ScheduleState(note="rule AG-4: starts one revision workflow per active agreement"),
        ),
        FRAMEWORK_REVISION_SCHEDULE: Schedule(
            action=ScheduleActionStartWorkflow(
                FrameworkYearlyRoundWorkflow.run, RoundStart(), id="framework-yearly-round",
                task_queue=settings.temporal_task_queue, execution_timeout=timedelta(days=1)),
            spec=ScheduleSpec(calendars=[yearly(settings.framework_revision_month, settings.framework_revision_day,
                                                "rule GV-1: the yearly revision of the framework assignment")],
                              time_zone_name=settings.timezone),
            policy=policy,
            state=ScheduleState(note="rule GV-1: opens next year's framework change proposal"),
        ),
    }


async def ensure_schedules(client: Client, settings: Settings) -> list[str]:
    """Idempotent create-or-update of every schedule; returns their IDs."""
    wanted = schedule_definitions(settings)
    for schedule_id, schedule in wanted.items():
        try:
            await client.create_schedule(schedule_id, schedule)
        except ScheduleAlreadyRunningError:
            def keep_state(current: ScheduleUpdateInput, schedule: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=dataclasses.replace(schedule, state=current.description.schedule.state))

            await client.get_schedule_handle(schedule_id).update(keep_state)
    return list(wanted)
