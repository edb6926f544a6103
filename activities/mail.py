"""Mail delivery's activities (issue 21, workflows/mail.py). `mail.send` renders one outbox message, resolves its
address, sends it with a Message-ID derived from its key and records `sent` right after the server accepts, so a
retry after a crash sees `sent` and sends nothing; a crash between accepting and recording resends the same
Message-ID (recognisable). A permanent refusal or a missing address records `failed` with the reason and is not
retried. `DeliveryStarter` starts `mail-<id>` right after a row is written (the outbox activity, from the
worker's thread pool, on the worker's event loop); the sweep is the safety net."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from config import Settings
from db.models import OutboxMessage
from mail import survey_link
from mail.addresses import NoAddress, resolve
from mail.message import build, message_id
from mail.render import Renderer
from mail.transport import Permanent, Temporary, Transport, make_transport
from workflows.mail import MARK_FAILED, PERMANENT, SEND_MAIL, SWEEP, MailFailure, start_delivery

log = logging.getLogger("ramflow.mail")
SWEEP_GRACE = timedelta(seconds=30)  # a row younger than this is being started by its writer
SWEEP_BATCH = 1000


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class DeliveryStarter:
    """Starts `mail-<id>` for rows just written, from any thread, on the loop it was created on; a start that
    fails is only logged (the sweep starts it within a minute)."""

    def __init__(self, client: Client | None, settings: Settings) -> None:
        self.client, self.settings = client, settings
        try:
            self.loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self.loop = None

    @property
    def enabled(self) -> bool:
        return self.client is not None and self.settings.mail_transport != "off"

    async def start(self, outbox_id: int) -> bool:
        assert self.client is not None
        return await start_delivery(self.client, self.settings.temporal_task_queue, outbox_id,
                                    self.settings.mail_max_attempts)

    def start_soon(self, outbox_ids: Iterable[int]) -> None:
        if not self.enabled or self.loop is None or self.loop.is_closed():
            return
        for outbox_id in outbox_ids:
            future = asyncio.run_coroutine_threadsafe(self.start(outbox_id), self.loop)
            future.add_done_callback(_log_failed_start(outbox_id))


def _log_failed_start(outbox_id: int) -> Callable[[object], None]:
    def done(future) -> None:  # noqa: ANN001
        if not future.cancelled() and future.exception() is not None:
            log.warning("mail-%s not started (%s); the sweep starts it", outbox_id, future.exception())
    return done


@dataclass
class Prepared:
    message: EmailMessage
    message_id: str
    address: str


class MailActivities:
    def __init__(self, client: Client | None, sessions: sessionmaker[Session], settings: Settings,
                 transport: Transport | None = None, now: Callable[[], datetime] = utcnow) -> None:
        self.client, self.sessions, self.settings, self.now = client, sessions, settings, now
        self.transport = transport
        self.renderer = Renderer(settings.timezone, settings.public_base_url)

    def _transport(self) -> Transport:
        if self.transport is None:
            self.transport = make_transport(self.settings)
        if self.transport is None:
            raise ApplicationError("mail: MAIL_TRANSPORT is off", type=PERMANENT, non_retryable=True)
        return self.transport

    # --- the steps -------------------------------------------------------------------------------------
    @SEND_MAIL.defn
    async def send(self, outbox_id: int) -> str:
        attempt = activity.info().attempt if activity.in_activity() else 1
        return await self.deliver(outbox_id, attempt)

    @MARK_FAILED.defn
    def mark_failed(self, failure: MailFailure) -> None:
        self._failed(failure.outbox_id, failure.error)

    @SWEEP.defn
    async def sweep(self) -> int:
        """Start delivery for every pending message older than a moment (each start deduplicated by its ID)."""
        if self.client is None or self.settings.mail_transport == "off":
            return 0
        ids = await asyncio.to_thread(self._pending_ids)
        started = 0
        for outbox_id in ids:
            started += await start_delivery(self.client, self.settings.temporal_task_queue, outbox_id,
                                            self.settings.mail_max_attempts)
        return started

    def all(self) -> list:
        return [self.send, self.mark_failed, self.sweep]

    # --- the delivery, around its crash points ---------------------------------------------------------
    async def deliver(self, outbox_id: int, attempt: int = 1) -> str:
        prepared = await asyncio.to_thread(self.prepare, outbox_id, attempt)
        if isinstance(prepared, str):
            return prepared  # already sent or failed: nothing to do
        await self.transmit(outbox_id, prepared)
        # crash point: the server has accepted; a retry from here resends the same Message-ID
        await asyncio.to_thread(self.record_sent, outbox_id, prepared)
        return "sent"

    def prepare(self, outbox_id: int, attempt: int) -> Prepared | str:
        with self.sessions.begin() as s:
            row = s.get(OutboxMessage, outbox_id, with_for_update=True)
            if row is None:
                raise ApplicationError(f"outbox_id: no message {outbox_id}", type=PERMANENT, non_retryable=True)
            if row.state != "pending":
                return row.state
            row.attempts = max(row.attempts or 0, attempt)
            row.key = row.key or f"outbox:{row.id}"
            try:
                to = resolve(s, row.recipient, self.settings)
            except NoAddress as error:
                row.state, row.last_error = "failed", str(error)[:500]
                failure = str(error)
            else:
                failure = None
                msg_id = message_id(row.key, self.settings.mail_domain)
                rendered = self.renderer.render(row.topic, to.language, row.subject, row.body, row.data or {},
                                                self._extra(row))
                message = build(self.settings, to, rendered, msg_id, row.created_at, row.in_reply_to, row.references)
        if failure is not None:  # committed above: the failure is visible whatever happens next
            raise ApplicationError(failure, type=PERMANENT, non_retryable=True)
        return Prepared(message, msg_id, to.email)

    def _extra(self, row: OutboxMessage) -> dict[str, str]:
        """Facts made at sending: the survey's personal link (rule TK-6)."""
        if row.topic != "survey" or not (row.data or {}).get("number"):
            return {}
        url, expires = survey_link.link(self.settings.survey_link_secret.get_secret_value(),
                                        self.settings.public_base_url, row.data["number"], self.now(),
                                        self.settings.survey_link_days)
        return {"survey_link": url, "survey_expires": expires.isoformat()}

    async def transmit(self, outbox_id: int, prepared: Prepared) -> None:
        try:
            await self._transport().send(prepared.message)
        except Permanent as error:
            await asyncio.to_thread(self._failed, outbox_id, str(error))
            raise ApplicationError(str(error), type=PERMANENT, non_retryable=True) from error
        except Temporary as error:
            await asyncio.to_thread(self._note_error, outbox_id, str(error))
            raise ApplicationError(str(error), type="MailTemporary") from error

    def record_sent(self, outbox_id: int, prepared: Prepared) -> None:
        with self.sessions.begin() as s:
            row = s.get(OutboxMessage, outbox_id)
            row.state, row.sent_at, row.message_id = "sent", self.now(), prepared.message_id
            row.address, row.last_error = prepared.address, None

    def _failed(self, outbox_id: int, error: str) -> None:
        with self.sessions.begin() as s:
            row = s.get(OutboxMessage, outbox_id)
            if row is not None and row.state == "pending":
                row.state, row.last_error = "failed", error[:500]

    def _note_error(self, outbox_id: int, error: str) -> None:
        with self.sessions.begin() as s:
            row = s.get(OutboxMessage, outbox_id)
            if row is not None:
                row.last_error = error[:500]

    def _pending_ids(self) -> list[int]:
        with self.sessions() as s:
            return list(s.scalars(select(OutboxMessage.id).where(
                OutboxMessage.state == "pending", OutboxMessage.created_at < self.now() - SWEEP_GRACE)
                .order_by(OutboxMessage.id).limit(SWEEP_BATCH)))
