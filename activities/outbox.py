"""Notifications of every process: one message to the outbox table per key; a mailer (or the API)
picks them up. Registered under `outbox.notify` and, for histories from before the patch
`neutral-notify-activity` (workflows/notifications.py), under its first name `equipment.notify`."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from activities.effects import WithSessions, apply_once
from db.models import OutboxMessage
from domain.common import Notification
from workflows.notifications import NOTIFY, NOTIFY_BEFORE_PATCH


class OutboxNotifier(WithSessions):
    """Notifications go to the outbox table; a mailer (or the API) picks them up."""

    def send(self, key: str, topic: str, recipient: str, subject: str, body: str, workflow_id: str,
             at: datetime) -> None:
        with self.sessions.begin() as s:
            if apply_once(s, f"notify:{key}", at):
                s.add(OutboxMessage(created_at=at, topic=topic, recipient=recipient, subject=subject, body=body,
                                    workflow_id=workflow_id))


class OutboxActivities:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.notifier = OutboxNotifier(sessions)

    @NOTIFY.defn
    def notify(self, note: Notification) -> None:
        self.notifier.send(note.key, note.topic, note.recipient, note.subject, note.body, note.workflow_id, note.at)

    @NOTIFY_BEFORE_PATCH.defn
    def notify_before_patch(self, note: Notification) -> None:
        """The same write under the name stored and running histories call (equipment.notify)."""
        self.notify(note)

    def all(self) -> list:
        return [self.notify, self.notify_before_patch]
