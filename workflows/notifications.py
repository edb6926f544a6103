"""Notifications from any process: one local activity writes the message to the outbox.

The activity was first registered as `equipment.notify` (the first process's name) and every process
used it; it is now `outbox.notify`, behind the patch `neutral-notify-activity`. Histories from before
the patch replay calling the old name, which the worker keeps registered with the same implementation
(activities/outbox.py)."""
from __future__ import annotations

from temporalio import workflow

from workflows.steps import Step, run_activity

with workflow.unsafe.imports_passed_through():
    from domain.common import Notification

NOTIFY = Step("outbox.notify", local=True)
NOTIFY_BEFORE_PATCH = Step("equipment.notify", local=True)  # stored and running histories call it
NEUTRAL_NOTIFY_PATCH = "neutral-notify-activity"


async def notify(key: str, topic: str, recipient: str, subject: str, body: str,
                 data: dict[str, str] | None = None) -> None:
    """One message, once per `key`; the subject is cut to the outbox's 200 characters. `data`: the facts the
    mail template shows (issue 21), e.g. a buyout's price and deadline."""
    step = NOTIFY if workflow.patched(NEUTRAL_NOTIFY_PATCH) else NOTIFY_BEFORE_PATCH
    await run_activity(step, Notification(
        key=key, topic=topic, recipient=recipient, subject=subject[:200], body=body,
        workflow_id=workflow.info().workflow_id, at=workflow.now(), data=data or {}))
