"""File delivery (issue 25): one workflow per file, `file-delivery-<id>` (the ID is the dedupe), whose one
activity hands the file to its receiving system with backoff and writes the receipt. A permanent refusal (a
different file of that name at the destination, a destination not configured) is not retried and marks the
file failed, and so does the last attempt; starting the workflow again after that retries it. A Schedule runs
the sweep every few minutes: it starts delivery of pending files that have none (a start lost in a crash)."""
from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.steps import Step

with workflow.unsafe.imports_passed_through():
    from temporalio.client import Client
    from temporalio.exceptions import WorkflowAlreadyStartedError

DELIVER_FILE = Step("files.deliver", timeout=timedelta(minutes=5))
MARK_FILE_FAILED = Step("files.mark_failed")
SWEEP_FILES = Step("files.sweep", timeout=timedelta(minutes=5))
FILE_SWEEP_SCHEDULE = "ramflow-file-delivery-sweep"
REFUSED = "FileDeliveryRefused"  # ApplicationError type of a permanent refusal (never retried)


class FileDeliveryRequest(BaseModel):
    delivery_id: int
    max_attempts: int = 20


class FileDeliveryFailure(BaseModel):
    delivery_id: int
    error: str


def file_delivery_workflow_id(delivery_id: int) -> str:
    return f"file-delivery-{delivery_id}"


def file_retry_policy(max_attempts: int) -> RetryPolicy:
    """10 s doubling to 30 min; never unlimited (the receipt then says failed, and why)."""
    return RetryPolicy(initial_interval=timedelta(seconds=10), backoff_coefficient=2.0,
                       maximum_interval=timedelta(minutes=30), maximum_attempts=max_attempts,
                       non_retryable_error_types=[REFUSED])


@workflow.defn(name="FileDelivery")
class FileDeliveryWorkflow:
    @workflow.run
    async def run(self, request: FileDeliveryRequest) -> str:
        try:
            return await workflow.execute_activity(
                DELIVER_FILE.name, request.delivery_id, result_type=str, start_to_close_timeout=DELIVER_FILE.timeout,
                retry_policy=file_retry_policy(request.max_attempts))
        except ActivityError as error:
            cause = error.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause or error)
            await workflow.execute_activity(
                MARK_FILE_FAILED.name, FileDeliveryFailure(delivery_id=request.delivery_id, error=message[:500]),
                start_to_close_timeout=MARK_FILE_FAILED.timeout,
                retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5)))
            return "failed"


@workflow.defn(name="FileDeliverySweep")
class FileDeliverySweepWorkflow:
    """Started by the Schedule: the safety net that starts delivery of pending files."""

    @workflow.run
    async def run(self) -> int:
        return await workflow.execute_activity(SWEEP_FILES.name, result_type=int,
                                               start_to_close_timeout=SWEEP_FILES.timeout,
                                               retry_policy=RetryPolicy(maximum_attempts=3))


async def start_file_delivery(client: Client, task_queue: str, delivery_id: int, max_attempts: int = 20) -> bool:
    """Start `file-delivery-<id>`; False while one runs. A closed one may run again (a retry after a failure):
    a delivered file is never pending again, and the activity answers a delivered file without sending it."""
    try:
        await client.start_workflow(
            FileDeliveryWorkflow.run, FileDeliveryRequest(delivery_id=delivery_id, max_attempts=max_attempts),
            id=file_delivery_workflow_id(delivery_id), task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE)
        return True
    except WorkflowAlreadyStartedError:
        return False
