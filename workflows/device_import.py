"""Importing the existing device register (issue 22) as a durable job: `device-import-<sha256 of the file>`
starts each validated row's device mid-life (workflows/equipment.py, `DeviceStart.imported`), in chunks, and
ends when every row is started, unchanged or failed. An interrupted job resumes after its last chunk; the
device workflow ids are the order numbers, so a device is started once however often a chunk is retried."""
from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows.steps import Step, run_activity

with workflow.unsafe.imports_passed_through():
    from domain.device_import_job import ImportJob, ImportSummary

# Starts the pending rows' devices a chunk at a time; heartbeats (the last row recorded) after each chunk and
# while a chunk goes on, so a killed worker's attempt is retried within 30 s and resumes after its last chunk.
START_IMPORTED_DEVICES = Step("device_import.start_devices", timeout=timedelta(hours=6),
                              heartbeat=timedelta(seconds=30))


@workflow.defn(name="DeviceImport")
class DeviceImportWorkflow:
    """Issue 22: the rows of one imported file, started as devices in use since their delivery dates."""

    @workflow.run
    async def run(self, job: ImportJob) -> ImportSummary:
        return await run_activity(START_IMPORTED_DEVICES, job, ImportSummary)
