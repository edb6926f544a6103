"""A workflow whose every workflow task fails: feeds `temporal_workflow_task_execution_failed_total`
(the "workflow task failing repeatedly" alert) with a real failure instead of a made-up series."""
from __future__ import annotations

from temporalio import workflow


@workflow.defn(name="OpsTestFailingTask")
class FailingTaskWorkflow:
    @workflow.run
    async def run(self) -> None:
        raise RuntimeError("a bug in workflow code: the task fails and is retried")
