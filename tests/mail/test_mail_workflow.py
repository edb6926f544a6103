"""Issue 21 through Temporal: a notification written by a process starts its `mail-<id>` delivery, which sends
it to the SMTP server on loopback and shows `sent` on GET /outbox and in the process's history; a 550 shows
`failed`; the server down then back delivers once; the sweep starts what has no delivery."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from activities.mail import MailActivities
from db.models import OutboxMessage
from tests.helpers import poll
from tests.mail.test_mail_delivery import outbox, person, row
from workflows.mail import start_delivery


def order(number: str) -> dict:
    return {"order_number": number, "model_code": "LAT-5450", "unit_id": "TR-KS", "user_ref": "E5001"}


async def test_issue21_ordering_and_delivering_a_device_delivers_its_notification(api, smtp):
    assert (await api.post("/orders", json=order("ORD-MAIL-1"))).status_code == 201
    delivered = await api.post("/devices/ORD-MAIL-1/events",
                               json={"action": {"event": "deliver", "serial_number": "S-MAIL-1"}})
    assert delivered.status_code == 200, delivered.text
    sent = await poll(api, "/outbox?state=sent&workflow_id=device-ORD-MAIL-1&topic=delivered",
                      lambda rows: bool(rows), 20)
    [message] = sent
    assert message["recipient"] == "unit:TR-KS" and message["attempts"] == 1 and message["sent_at"]
    assert smtp.recorder.envelopes == [["ks@tranemo.example"]]  # the unit's functional mailbox
    assert smtp.recorder.accepted[0]["Message-ID"] == message["message_id"]
    history = (await api.get("/devices/ORD-MAIL-1/history")).json()
    told = [d for line in history for d in line["deliveries"]]
    assert [(d["topic"], d["state"]) for d in told] == [("delivered", "sent")]


async def test_issue21_permanent_550_through_the_workflow_is_failed_on_the_outbox(api, smtp):
    smtp.recorder.refuse.add("ks@tranemo.example")
    await api.post("/orders", json=order("ORD-MAIL-2"))
    await api.post("/devices/ORD-MAIL-2/events", json={"action": {"event": "deliver", "serial_number": "S-MAIL-2"}})
    [failed] = await poll(api, "/outbox?state=failed&workflow_id=device-ORD-MAIL-2", lambda rows: bool(rows), 20)
    assert failed["attempts"] == 1 and "550" in failed["last_error"] and failed["sent_at"] is None
    assert (await api.get("/outbox?state=failed&workflow_id=device-ORD-MAIL-1")).json() == []


async def test_issue21_smtp_down_then_back_through_the_workflow_delivers_once(env, worker, sessions, settings, smtp):
    person(sessions)
    outbox_id = outbox(sessions)
    smtp.stop()
    assert await start_delivery(env.client, settings.temporal_task_queue, outbox_id, settings.mail_max_attempts)
    for _ in range(100):  # the first attempt fails against the closed port
        if row(sessions, outbox_id).last_error:
            break
        await asyncio.sleep(0.1)
    assert row(sessions, outbox_id).state == "pending" and "SMTP" in row(sessions, outbox_id).last_error
    smtp.start()
    handle = env.client.get_workflow_handle(f"mail-{outbox_id}")
    assert await handle.result() == "sent"  # the time-skipping server skips the backoff
    assert len(smtp.recorder.accepted) == 1
    stored = row(sessions, outbox_id)
    assert stored.state == "sent" and stored.attempts >= 2
    # a second start of the same message is refused by its workflow id (the dedupe)
    assert not await start_delivery(env.client, settings.temporal_task_queue, outbox_id, settings.mail_max_attempts)


async def test_issue21_sweep_starts_delivery_of_pending_messages_without_one(env, worker, sessions, settings, smtp):
    person(sessions)
    old = outbox(sessions)  # written at AT (long ago): its start was lost
    with sessions.begin() as s:
        s.add(OutboxMessage(created_at=datetime.now(timezone.utc), topic="x", recipient="it:all", subject="new",
                            body="b", key="just-written", state="pending", attempts=0))
    sweeper = MailActivities(env.client, sessions, settings)
    assert await sweeper.sweep() == 1  # the one just written is left to its writer's start
    assert await env.client.get_workflow_handle(f"mail-{old}").result() == "sent"
    assert await sweeper.sweep() == 0


async def test_issue21_mail_off_leaves_messages_pending_and_starts_nothing(env, sessions, settings):
    off = settings.model_copy(update={"mail_transport": "off"})
    outbox(sessions)
    assert await MailActivities(env.client, sessions, off).sweep() == 0


def test_issue21_delivery_retries_are_bounded():
    from workflows.mail import retry_policy

    policy = retry_policy(12)
    assert policy.maximum_attempts == 12 and policy.maximum_interval == timedelta(minutes=30)
    assert "MailRefused" in policy.non_retryable_error_types
