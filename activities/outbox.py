"""Notifications of every process: one message to the outbox table per key, then delivered by mail (issue 21).
Registered under `outbox.notify` and, for histories from before the patch `neutral-notify-activity`
(workflows/notifications.py), under its first name `equipment.notify`.

The outbox contract (for every writer: this activity, the API's operational messages, the inbound mail half):
- one row per message and recipient; `recipient` is abstract: `employee:<employee number>` (people register),
  `staff:<login>` (people register by token subject), `unit:<unit id>` (the unit's functional mailbox),
  anything else through MAIL_QUEUE_ADDRESSES (`lead:<line>`, `lead:it`, `it:<queue>`, `group:…`, `role:…`,
  `intranet:<municipality>`);
- `key` unique: the Message-ID is derived from it (`<outbox-DIGEST@ramflow.DOMAIN>`, mail.message), so give a
  stable key (e.g. `ticket-reply:<ticket>:<reply id>`); a row without one gets `outbox:<id>`;
- `topic` picks the template (mail/templates/<topic>.<sv|en>.txt; no template: subject and body as written),
  `data` (JSON, strings) the facts it shows;
- threading: a reply on a ticket is a row with topic `ticket_reply`, recipient `employee:<reporter>`, subject
  starting `[Ärende <number>]`, body the reply, `in_reply_to` the Message-ID it answers (the reporter's last
  mail or Ramflow's last mail on the ticket, angle brackets included) and `references` that chain (space
  separated); then start delivery (`DeliveryStarter.start_soon([id])`, or wait for the minute's sweep);
- `state` starts `pending`; only delivery moves it to `sent` (with sent_at, message_id, address) or `failed`
  (with last_error); `attempts` counts tries.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from activities.effects import WithSessions, apply_once
from db.models import OutboxMessage
from domain.common import Notification
from workflows.notifications import NOTIFY, NOTIFY_BEFORE_PATCH


def write_message(session: Session, key: str, topic: str, recipient: str, subject: str, body: str,
                  workflow_id: str | None, at: datetime, data: dict[str, str] | None = None) -> int | None:
    """One outbox row, once per key (applied_effects); its id, or None when the key was written before."""
    if not apply_once(session, f"notify:{key}", at):
        return None
    row = OutboxMessage(created_at=at, topic=topic, recipient=recipient, subject=subject, body=body,
                        workflow_id=workflow_id, key=key[:200], state="pending", attempts=0, data=data or None)
    session.add(row)
    session.flush()
    return row.id


class OutboxNotifier(WithSessions):
    """Notifications go to the outbox table; mail delivery (activities/mail.py) picks them up."""

    def __init__(self, sessions: sessionmaker[Session], starter=None) -> None:  # noqa: ANN001
        super().__init__(sessions)
        self.starter = starter

    def send(self, key: str, topic: str, recipient: str, subject: str, body: str, workflow_id: str,
             at: datetime, data: dict[str, str] | None = None) -> None:
        with self.sessions.begin() as s:
            written = write_message(s, key, topic, recipient, subject, body, workflow_id, at, data)
        if written is None:  # a retried activity: the first one started delivery (or the sweep does)
            with self.sessions() as s:
                written = s.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key[:200],
                                                                  OutboxMessage.state == "pending"))
        if written is not None and self.starter is not None:
            self.starter.start_soon([written])


class OutboxActivities:
    def __init__(self, sessions: sessionmaker[Session], starter=None) -> None:  # noqa: ANN001
        self.notifier = OutboxNotifier(sessions, starter)

    @NOTIFY.defn
    def notify(self, note: Notification) -> None:
        self.notifier.send(note.key, note.topic, note.recipient, note.subject, note.body, note.workflow_id, note.at,
                           note.data)

    @NOTIFY_BEFORE_PATCH.defn
    def notify_before_patch(self, note: Notification) -> None:
        """The same write under the name stored and running histories call (equipment.notify)."""
        self.notify(note)

    def all(self) -> list:
        return [self.notify, self.notify_before_patch]
