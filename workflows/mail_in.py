"""The support mailbox is read by a Temporal Schedule (issue 21, "In"): each run is one activity that reads
the mailbox and turns every mail into a ticket or a message of one, each mail in its own transaction, so one
bad mail never loses the rest and a crashed poll is simply the next one (activities/mailbox.py)."""
from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows.steps import Step, run_activity

with workflow.unsafe.imports_passed_through():
    from domain.mail_in import MailPollReport, MailPollRequest

# An ordinary activity (it talks to the mail server); it heartbeats after every mail.
POLL_MAILBOX = Step("mail_in.poll", timeout=timedelta(minutes=10), heartbeat=timedelta(minutes=2))


@workflow.defn(name="SupportMailboxPoll")
class MailboxPollWorkflow:
    @workflow.run
    async def run(self, request: MailPollRequest) -> MailPollReport:
        return await run_activity(POLL_MAILBOX, request, MailPollReport)
