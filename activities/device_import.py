"""The import job's activity (issue 22): start each pending row's device mid-life, a chunk at a time, and
record what became of it. Idempotent: the device's workflow id is its order number (a started device is
found again, never started twice), and a retried attempt resumes after the last chunk it reported."""
from __future__ import annotations

import asyncio

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from db.import_models import DeviceImportRun
from db.import_queries import finish_import, pending_rows, record_outcomes
from domain.device_import import ImportRow, delivered_at
from domain.device_import_job import ImportJob, ImportSummary
from domain.equipment import DeviceOrder, DeviceStart, ImportedDevice, device_workflow_id
from workflows.device_import import START_IMPORTED_DEVICES

# Rows per heartbeat, and device starts in flight at once within a chunk.
IMPORT_CHUNK = 100
IMPORT_CONCURRENCY = 16
# What the server answers about one device that no retry changes (the row fails; the job goes on).
FINAL_STATUSES = (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION)


class DeviceImportActivities:
    """Holds the Temporal client (it starts device workflows) and the session factory."""

    def __init__(self, client: Client, sessions: sessionmaker[Session]) -> None:
        self.client = client
        self.sessions = sessions

    @START_IMPORTED_DEVICES.defn
    async def start_devices(self, job: ImportJob) -> ImportSummary:
        """Start every pending row's device; heartbeat (last row) after each chunk and resume after it."""
        details = activity.info().heartbeat_details
        after_row = int(details[0]) if details else 0
        with self.sessions() as s:
            run = s.get(DeviceImportRun, job.import_id)
            assert run is not None, f"no import {job.import_id}"
            start_of = self._starter(job, run.source, run.actor, run.cutover)
        while True:
            with self.sessions() as s:
                chunk = [(r.row, ImportRow.model_validate(r.data), r.renewal_not_before)
                         for r in pending_rows(s, job.import_id, after_row, IMPORT_CHUNK)]
            if not chunk:
                break
            gate = asyncio.Semaphore(IMPORT_CONCURRENCY)

            async def one(row: ImportRow, slot, reported: int = after_row) -> tuple[str, str | None]:  # noqa: ANN001
                async with gate:
                    result = await start_of(row, slot)
                activity.heartbeat(reported)  # alive within the chunk; resume still after the last recorded one
                return result

            results = await asyncio.gather(*(one(row, slot) for _, row, slot in chunk))
            with self.sessions.begin() as s:
                record_outcomes(s, job.import_id, {number: result for (number, _, _), result in zip(chunk, results)})
            after_row = chunk[-1][0]
            activity.heartbeat(after_row)
        with self.sessions.begin() as s:
            counts = finish_import(s, job.import_id)
        return ImportSummary(import_id=job.import_id, started=counts.get("started", 0),
                             unchanged=counts.get("unchanged", 0), failed=counts.get("failed", 0),
                             skipped=counts.get("skipped", 0))

    def _starter(self, job: ImportJob, source: str, actor: str, cutover):  # noqa: ANN001, ANN202
        from workflows.equipment import DeviceLifecycleWorkflow

        queue = activity.info().task_queue

        async def start(row: ImportRow, slot) -> tuple[str, str | None]:  # noqa: ANN001
            """Start (or find) the device; ('started', None), or ('failed', why)."""
            imported = ImportedDevice(
                serial_number=row.serial_number, delivered_at=delivered_at(row.delivered_on),
                charges_from=max(row.delivered_on, cutover), source=source, import_id=job.import_id,
                renewal_not_before=slot)
            order = DeviceOrder(order_number=row.order_number, model_code=row.model_code, unit_id=row.unit_id,
                                user_ref=row.user_ref, location=row.location)
            workflow_id = device_workflow_id(row.order_number)
            try:
                await self.client.start_workflow(
                    DeviceLifecycleWorkflow.run, DeviceStart(
                        order=order, imported=imported, ordered_by=actor, renewal_lead_days=job.renewal_lead_days,
                        buyout_answer_days=job.buyout_answer_days),
                    id=workflow_id, task_queue=queue, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
            except WorkflowAlreadyStartedError:
                pass  # started by an earlier attempt of this job (or by someone else: checked below)
            try:
                view = await self.client.get_workflow_handle(workflow_id).execute_update(
                    DeviceLifecycleWorkflow.registered)
            except WorkflowUpdateFailedError as error:
                return "failed", str(error.cause or error)
            except RPCError as error:
                if error.status in FINAL_STATUSES:
                    return "failed", error.message
                raise  # transient: the attempt is retried and resumes after its last chunk
            if view.serial_number != row.serial_number or view.delivered_at is None or \
                    view.delivered_at.date() != row.delivered_on:
                return "failed", f"ordernummer: {row.order_number} is already in Ramflow with other data (rule EQ-1)"
            return "started", None

        return start
