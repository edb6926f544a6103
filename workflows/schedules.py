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
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from config import Settings
from domain.billing import BillingRunStart
from domain.common import RoundStart
from domain.mail_in import MailPollRequest
from workflows.agreements import AgreementRevisionRoundWorkflow
from workflows.audit import AuditAnchorWorkflow
from workflows.billing import BillingRunWorkflow, RenewalSafetyNetWorkflow
from workflows.governance import FrameworkYearlyRoundWorkflow
from workflows.mail_in import MailboxPollWorkflow
from workflows.file_delivery import FILE_SWEEP_SCHEDULE, FileDeliverySweepWorkflow
from workflows.mail import SWEEP_SCHEDULE, MailSweepWorkflow

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


async def ensure_schedules(client: Client, settings: Settings,
                           wanted: dict[str, Schedule] | None = None) -> list[str]:
    """Idempotent create-or-update of every schedule (by default the yearly rounds); returns their IDs."""
    wanted = schedule_definitions(settings) if wanted is None else wanted
    for schedule_id, schedule in wanted.items():
        try:
            await client.create_schedule(schedule_id, schedule)
        except ScheduleAlreadyRunningError:
            def keep_state(current: ScheduleUpdateInput, schedule: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=dataclasses.replace(schedule, state=current.description.schedule.state))

            await client.get_schedule_handle(schedule_id).update(keep_state)
    return list(wanted)


# --- billing (BL-2, BL-3) and the renewal safety net (EQ-5) -----------------------------------
BILLING_SCHEDULES = {
    "ulricehamn": "ramflow-billing-ulricehamn-monthly",
    "tranemo": "ramflow-billing-tranemo-tertial",
}
CENTRAL_COST_SCHEDULES = {m: f"ramflow-billing-{m}-central-cost" for m in ("tranemo", "ulricehamn")}
RENEWAL_SAFETY_NET_SCHEDULE = "ramflow-renewal-safety-net"
BILLING_HOUR = 6  # before the working day; the runs charge the period that just ended (in arrears)
BILLING_JITTER = timedelta(minutes=30)  # the two municipalities' runs do not hit the database at once
BILLING_CALENDARS = {
    # rule BL-2: Ulricehamn's units every month (the month before) ...
    "ulricehamn": ScheduleCalendarSpec(day_of_month=[ScheduleRange(1)], hour=[ScheduleRange(BILLING_HOUR)],
                                       comment="rule BL-2: Ulricehamn monthly, charges the month before"),
    # ... Tranemo in January, May and September (the tertial before)
    "tranemo": ScheduleCalendarSpec(month=[ScheduleRange(1), ScheduleRange(5), ScheduleRange(9)],
                                    day_of_month=[ScheduleRange(1)], hour=[ScheduleRange(BILLING_HOUR)],
                                    comment="rule BL-2: Tranemo January, May, September, charges the tertial before"),
}


def _billing_run(start: BillingRunStart, workflow_id: str, calendar: ScheduleCalendarSpec, settings: Settings,
                 note: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(BillingRunWorkflow.run, start, id=workflow_id,
                                           task_queue=settings.temporal_task_queue,
                                           execution_timeout=timedelta(days=1)),
        spec=ScheduleSpec(calendars=[calendar], time_zone_name=settings.timezone, jitter=BILLING_JITTER),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP),
        state=ScheduleState(note=note))


def billing_schedule_definitions(settings: Settings) -> dict[str, Schedule]:
    """Billing runs per municipality on its own cycle, the yearly central cost, the daily safety net."""
    wanted = {
        schedule_id: _billing_run(BillingRunStart(municipality=m), f"billing-{m}-scheduled", BILLING_CALENDARS[m],
                                  settings, f"rule BL-2: invoice bases per unit for {m}")
        for m, schedule_id in BILLING_SCHEDULES.items()
    }
    for m, schedule_id in CENTRAL_COST_SCHEDULES.items():
        wanted[schedule_id] = _billing_run(
            BillingRunStart(municipality=m, kind="central"), f"billing-{m}-central-scheduled",
            yearly(1, 15, "rule BL-3: the central cost of the year before, once a year"), settings,
            f"rule BL-3: central cost for {m}")
    wanted[RENEWAL_SAFETY_NET_SCHEDULE] = Schedule(
        action=ScheduleActionStartWorkflow(RenewalSafetyNetWorkflow.run, id="renewal-safety-net",
                                           task_queue=settings.temporal_task_queue,
                                           execution_timeout=timedelta(hours=2)),
        spec=ScheduleSpec(calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(5)], comment="rule EQ-5: daily")],
                          time_zone_name=settings.timezone, jitter=BILLING_JITTER),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)),
        state=ScheduleState(note="rule EQ-5: renews devices whose renewal is due but not pending"))
    return wanted


async def ensure_billing_schedules(client: Client, settings: Settings) -> list[str]:
    return await ensure_schedules(client, settings, billing_schedule_definitions(settings))


# --- issue 20: the audit chains' signed checkpoints, outside the database -------------------------------
AUDIT_ANCHOR_SCHEDULE = "ramflow-audit-anchor"


def audit_anchor_schedule_definitions(settings: Settings) -> dict[str, Schedule]:
    """A checkpoint every AUDIT_ANCHOR_INTERVAL_MINUTES; one missed while Temporal was away runs once."""
    every = timedelta(minutes=settings.audit_anchor_interval_minutes)
    return {AUDIT_ANCHOR_SCHEDULE: Schedule(
        action=ScheduleActionStartWorkflow(AuditAnchorWorkflow.run, "scheduled", id="audit-anchor",
                                           task_queue=settings.temporal_task_queue,
                                           execution_timeout=timedelta(minutes=30)),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=every),
        state=ScheduleState(note="issue 20: signed checkpoint of every audit chain's head and length (docs/audit.md)"))}


async def ensure_audit_anchor_schedule(client: Client, settings: Settings) -> list[str]:
    return await ensure_schedules(client, settings, audit_anchor_schedule_definitions(settings))


# --- mail delivery's safety net (issue 21) ------------------------------------------------------------
def mail_schedule_definitions(settings: Settings) -> dict[str, Schedule]:
    """Every minute: start delivery of pending outbox messages that have none (workflows/mail.py)."""
    return {SWEEP_SCHEDULE: sweep_schedule(settings, MailSweepWorkflow.run, "mail-sweep", timedelta(minutes=1),
                                           timedelta(minutes=5), "issue 21: starts delivery of pending notifications "
                                           "without one")}


def sweep_schedule(settings: Settings, run, workflow_id: str, every: timedelta, catchup: timedelta,  # noqa: ANN001
                   note: str) -> Schedule:
    """A delivery's safety net: its sweep every `every`, never two at once."""
    return Schedule(
        action=ScheduleActionStartWorkflow(run, id=workflow_id, task_queue=settings.temporal_task_queue,
                                           execution_timeout=timedelta(minutes=10)),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=catchup),
        state=ScheduleState(note=note))


# --- the support mailbox (issue 21, In) ----------------------------------------------------------------
MAIL_POLL_SCHEDULE = "ramflow-support-mailbox-poll"


def mailbox_schedule_definitions(settings: Settings) -> dict[str, Schedule]:
    """Every `mail_poll_seconds` one poll; a poll still running skips the next (never two readers)."""
    if settings.mail_in_source == "off":
        return {}
    every = timedelta(seconds=settings.mail_poll_seconds)
    return {MAIL_POLL_SCHEDULE: Schedule(
        action=ScheduleActionStartWorkflow(MailboxPollWorkflow.run, MailPollRequest(limit=settings.mail_poll_batch),
                                           id="support-mailbox-poll", task_queue=settings.temporal_task_queue,
                                           execution_timeout=timedelta(minutes=15)),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=every),
        state=ScheduleState(note="issue 21: mail to the support address becomes tickets (TK-2)"))}


async def ensure_mailbox_schedule(client: Client, settings: Settings) -> list[str]:
    return await ensure_schedules(client, settings, mailbox_schedule_definitions(settings))


async def ensure_mail_schedule(client: Client, settings: Settings) -> list[str]:
    return await ensure_schedules(client, settings, mail_schedule_definitions(settings))


# --- file delivery's safety net (issue 25) ---------------------------------------------------------------
def file_delivery_schedule_definitions(settings: Settings) -> dict[str, Schedule]:
    """Every five minutes: start delivery of pending files that have none (workflows/file_delivery.py)."""
    return {FILE_SWEEP_SCHEDULE: sweep_schedule(settings, FileDeliverySweepWorkflow.run, "file-delivery-sweep",
                                                timedelta(minutes=5), timedelta(minutes=10),
                                                "issue 25: starts delivery of pending files without one")}


async def ensure_file_delivery_schedule(client: Client, settings: Settings) -> list[str]:
    return await ensure_schedules(client, settings, file_delivery_schedule_definitions(settings))
