"""The delivery of a file to its receiving system (issue 25; workflows/file_delivery.py): the transport is
files/delivery.py, this activity writes the receipt (where, when, attempts, the last error)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from config import Settings
from db.file_models import FileDelivery
from files.delivery import DeliveryConfigError, DeliveryConflict, deliver, target_for
from workflows.file_delivery import (
    DELIVER_FILE,
    MARK_FILE_FAILED,
    REFUSED,
    SWEEP_FILES,
    FileDeliveryFailure,
    start_file_delivery,
)


class FileDeliveryActivities:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings, client: Client | None = None,
                 clock=None) -> None:  # noqa: ANN001
        self.sessions, self.settings, self.client = sessions, settings, client
        self.clock = clock or (lambda: datetime.now(timezone.utc))

    @DELIVER_FILE.defn
    async def deliver(self, delivery_id: int) -> str:
        """Hand the file over once; a retry finds it there with the same checksum and succeeds."""
        with self.sessions.begin() as s:
            row = s.get(FileDelivery, delivery_id)
            if row is None:
                raise ApplicationError(f"file delivery {delivery_id}: no such file", type=REFUSED, non_retryable=True)
            if row.state == "delivered":
                return "delivered"
            row.attempts += 1
            system, name, content = row.system, row.file_name, row.content
        try:
            target = target_for(system, self.settings.file_delivery_targets)
            outcome = await deliver(target, name, content, client_key=self.settings.file_delivery_ssh_key,
                                    known_hosts=self.settings.file_delivery_known_hosts)
        except (DeliveryConflict, DeliveryConfigError) as error:
            raise ApplicationError(str(error), type=REFUSED, non_retryable=True) from error
        except Exception as error:  # the receiver away: recorded, then retried by Temporal with backoff
            self._note_error(delivery_id, f"{type(error).__name__}: {error}")
            raise
        with self.sessions.begin() as s:
            row = s.get(FileDelivery, delivery_id)
            row.state, row.destination, row.delivered_at, row.last_error = "delivered", target.display, self.clock(), None
        activity.logger.info("file %s delivered to %s (%s)", name, target.display, outcome)
        return "delivered"

    @MARK_FILE_FAILED.defn
    def mark_failed(self, failure: FileDeliveryFailure) -> None:
        with self.sessions.begin() as s:
            row = s.get(FileDelivery, failure.delivery_id)
            if row is not None and row.state != "delivered":
                row.state, row.last_error = "failed", failure.error[:500]

    @SWEEP_FILES.defn
    async def sweep(self) -> int:
        """Start delivery of every pending file without a running delivery; how many were started."""
        with self.sessions() as s:
            pending = s.scalars(select(FileDelivery.id).where(FileDelivery.state == "pending")
                                .order_by(FileDelivery.id).limit(1000)).all()
        started = 0
        for delivery_id in pending:
            started += await start_file_delivery(self.client, self.settings.temporal_task_queue, delivery_id,
                                                 self.settings.file_delivery_max_attempts)
        return started

    def _note_error(self, delivery_id: int, error: str) -> None:
        with self.sessions.begin() as s:
            row = s.get(FileDelivery, delivery_id)
            if row is not None:
                row.last_error = error[:500]

    def all(self) -> list:
        return [self.deliver, self.mark_failed, self.sweep]
