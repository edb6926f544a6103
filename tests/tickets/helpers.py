"""Helpers the ticket tests share: report a ticket, move it (the act/view/until pattern of tests/helpers.py on
the ticket workflow), and find instants on the test's time-skipping clock."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Callable

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.support_calendar import default_calendar
from domain.tickets import TicketCommand, TicketReport, TicketStart, ticket_workflow_id
from tests.helpers import Process, eventually, start
from tests.helpers import local_now as now_local  # noqa: F401  (the ticket tests' name for it)
from workflows.tickets import TicketWorkflow

CAL = default_calendar()
TZ = CAL.tz
TICKET = Process(TicketWorkflow.apply, TicketCommand, TicketWorkflow.view)
act, view, until = TICKET.act, TICKET.view, TICKET.until


async def report_ticket(client: Client, task_queue: str, number: str, unit_id: str = "TR-KS",
                        reporter_ref: str = "E5001", title: str = "It does not work", start_options: dict | None = None,
                        **fields) -> WorkflowHandle:
    report = TicketReport(number=number, unit_id=unit_id, reporter_ref=reporter_ref, title=title, **fields)
    return await start(client, TicketWorkflow.run, TicketStart(report=report, **(start_options or {})),
                       ticket_workflow_id(number), task_queue, ready=TicketWorkflow.registered)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


async def jump_to(env: WorkflowEnvironment, at: datetime) -> None:
    """Move the test's time-skipping clock forward to `at` (never backwards)."""
    delta = at - await env.get_current_time()
    assert delta > timedelta(0), f"the test clock is already past {at}"
    await env.sleep(delta)


def next_day(after: datetime, predicate: Callable[[date], bool], skip_days: int = 2) -> date:
    """The first day at least `skip_days` after `after` for which `predicate` holds."""
    day = after.astimezone(TZ).date() + timedelta(days=skip_days)
    while not predicate(day):
        day += timedelta(days=1)
    return day


def easter_sunday(year: int) -> date:
    """Anonymous Gregorian algorithm."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


def maundy_thursday_after(after: datetime) -> date:
    year = after.astimezone(TZ).year
    while True:
        thursday = easter_sunday(year) - timedelta(days=3)
        if thursday > after.astimezone(TZ).date() + timedelta(days=1):
            return thursday
        year += 1


def plain_working_day(day: date) -> bool:
    """A working day whose next working day is the next calendar day (no holiday or weekend between)."""
    return CAL.is_working_day(day) and CAL.is_working_day(day + timedelta(days=1))


def add_device(sessions, order_number: str, model_code: str, unit_id: str = "TR-BUF") -> None:
    """A device in the inventory register (rule TK-7 reads its category), without running its lifecycle."""
    from datetime import timezone

    from db.models import CatalogueModelRow, Device, Unit

    with sessions.begin() as s:
        model = s.get(CatalogueModelRow, model_code)
        unit = s.get(Unit, unit_id)
        at = datetime.now(timezone.utc)
        s.add(Device(order_number=order_number, workflow_id=f"device-{order_number}", model_code=model_code,
                     category=model.category, agreement_ref=model.agreement_ref, municipality=unit.municipality,
                     unit_id=unit_id, cost_bearer_unit_id=unit_id, state="in_use", ordered_at=at, delivered_at=at,
                     updated_at=at))


async def outbox(sessions, workflow_id: str | None = None, topic: str | None = None) -> list:
    from sqlalchemy import select

    from db.models import OutboxMessage

    with sessions() as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if workflow_id is not None:
            query = query.where(OutboxMessage.workflow_id == workflow_id)
        if topic is not None:
            query = query.where(OutboxMessage.topic == topic)
        return list(s.scalars(query))


def close_to(actual: datetime | None, expected: datetime, seconds: float = 5.0) -> bool:
    return actual is not None and abs(actual - expected) <= timedelta(seconds=seconds)


async def until_outbox(sessions, workflow_id: str, topic: str, count: int, seconds: float = 15.0) -> list:
    """Poll the outbox: a timer's notifications land just after its audit record."""
    return await eventually(lambda: outbox(sessions, workflow_id, topic), lambda found: len(found) >= count, seconds)


def decide_framework_version(sessions, version_id: str, effective_from: date, **parameter_changes) -> None:
    """A framework version samverkansnämnd it decided (rule GV-2), recorded as its change process records
    it (`governance.record_framework_version`); its parameters apply from `effective_from`."""
    from datetime import timezone

    from activities.governance import GovernanceActivities
    from domain.framework_changes import FrameworkParameters, FrameworkVersion, RecordFrameworkVersion

    parameters = FrameworkParameters.model_validate(
        FrameworkParameters(price_list_year=effective_from.year).model_dump() | parameter_changes)
    version = FrameworkVersion(id=version_id, title=f"Ramuppdrag IT, {version_id}", kind="acute",
                               effective_from=effective_from, decided_on=effective_from - timedelta(days=30),
                               minutes_ref="SN-IT § 12", parameters=parameters)
    GovernanceActivities(sessions).record_framework_version(RecordFrameworkVersion(
        version=version, prices=[], workflow_id=f"framework-{version_id}", at=datetime.now(timezone.utc)))
