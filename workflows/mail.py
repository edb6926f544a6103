"""Mail delivery (issue 21): one workflow per outbox message, `mail-<outbox id>` (the ID is the dedupe: a
second start of the same message is refused), whose one activity sends it with backoff and records it;
a permanent refusal (SMTP 5xx, no address) is not retried and marks the message failed, and so does the last
attempt. A Schedule runs the sweep every minute: it starts delivery for pending messages that have none (a
start lost in a crash, messages written while delivery was off). Process workflows are not changed: the outbox
activity and the API start delivery after they write the row."""
from __future__ import annotations

import logging
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.steps import Step

with workflow.unsafe.imports_passed_through():
    from temporalio.client import Client
    from temporalio.exceptions import WorkflowAlreadyStartedError

SEND_MAIL = Step("mail.send", timeout=timedelta(minutes=2))
MARK_FAILED = Step("mail.mark_failed")
SWEEP = Step("mail.sweep", timeout=timedelta(minutes=5))
PERMANENT = "MailRefused"  # ApplicationError type of a permanent refusal (never retried)
SWEEP_SCHEDULE = "ramflow-mail-sweep"
log = logging.getLogger("ramflow.mail")


class MailDelivery(BaseModel):
    outbox_id: int
    max_attempts: int = 12


class MailFailure(BaseModel):
    outbox_id: int
    error: str


def delivery_workflow_id(outbox_id: int) -> str:
    return f"mail-{outbox_id}"


def retry_policy(max_attempts: int) -> RetryPolicy:
    """10 s doubling to 30 min: twelve attempts span about four hours; never unlimited."""
    return RetryPolicy(initial_interval=timedelta(seconds=10), backoff_coefficient=2.0,
                       maximum_interval=timedelta(minutes=30), maximum_attempts=max_attempts,
                       non_retryable_error_types=[PERMANENT])


@workflow.defn(name="MailDelivery")
class MailDeliveryWorkflow:
    @workflow.run
    async def run(self, delivery: MailDelivery) -> str:
        try:
            return await workflow.execute_activity(
                SEND_MAIL.name, delivery.outbox_id, result_type=str, start_to_close_timeout=SEND_MAIL.timeout,
                retry_policy=retry_policy(delivery.max_attempts))
        except ActivityError as error:
            cause = error.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause or error)
            await workflow.execute_activity(
                MARK_FAILED.name, MailFailure(outbox_id=delivery.outbox_id, error=message[:500]),
                start_to_close_timeout=MARK_FAILED.timeout,
                retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5)))
            return "failed"


@workflow.defn(name="MailSweep")
class MailSweepWorkflow:
    """Started by the Schedule every minute: the safety net that starts delivery of pending messages."""

    @workflow.run
    async def run(self) -> int:
        return await workflow.execute_activity(SWEEP.name, result_type=int, start_to_close_timeout=SWEEP.timeout,
                                               retry_policy=RetryPolicy(maximum_attempts=3))


async def start_delivery(client: Client, task_queue: str, outbox_id: int, max_attempts: int) -> bool:
    """Start `mail-<id>`; False when it exists already (running, or completed: the message is sent or failed)."""
    try:
        await client.start_workflow(
            MailDeliveryWorkflow.run, MailDelivery(outbox_id=outbox_id, max_attempts=max_attempts),
            id=delivery_workflow_id(outbox_id), task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY)
        return True
    except WorkflowAlreadyStartedError:
        return False
