"""Issue 21 (in): the support mailbox is read by a Temporal Schedule on a real dev server (the time-skipping
server has no schedules): it exists after the worker's start-up call, and a triggered run turns the mail in
the Maildir into a ticket."""
from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from temporalio.client import ScheduleOverlapPolicy

from activities.mail_sources import deliver_to_maildir
from config import Settings
from db.ticket_models import Ticket
from tests.mail_in.helpers import mail
from worker import build_worker
from workflows.schedules import MAIL_POLL_SCHEDULE, ensure_mailbox_schedule


async def test_support_mailbox_poll_schedule_runs_and_makes_a_ticket(dev_server, sessions, database_url,
                                                                      tmp_path: Path):
    client = dev_server.client
    settings = Settings(database_url=database_url, temporal_task_queue=f"mailbox-{uuid.uuid4().hex[:8]}",
                        mail_in_source="maildir", mail_support_maildir=str(tmp_path / "support"),
                        mail_poll_seconds=3600)
    assert await ensure_mailbox_schedule(client, settings) == [MAIL_POLL_SCHEDULE]
    handle = client.get_schedule_handle(MAIL_POLL_SCHEDULE)
    described = await handle.describe()
    assert described.schedule.spec.intervals[0].every == timedelta(hours=1)
    assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP  # never two readers
    assert described.schedule.action.workflow == "SupportMailboxPoll"
    deliver_to_maildir(settings.mail_support_maildir, mail(message_id="<sched@tranemo.se>", subject="Schemalagd"))
    try:
        async with build_worker(client, sessions, settings):
            await handle.trigger()
            for _ in range(300):
                with sessions() as s:
                    titles = list(s.scalars(select(Ticket.title)))
                if titles:
                    break
                await asyncio.sleep(0.05)
    finally:
        await handle.delete()
    assert titles == ["Schemalagd"]
