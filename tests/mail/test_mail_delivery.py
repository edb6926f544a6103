"""Issue 21: one outbox message delivered to a real SMTP server on loopback (aiosmtpd) by the send activity's
logic, around its crash points: sent once, refused for good (550, no address), the server down then back, a
crash between the server's accept and the record. Rendering: Swedish, English for `en`, the console link."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.exceptions import ApplicationError

from activities.mail import MailActivities
from config import Settings
from db.models import OutboxMessage, Unit
from db.people_models import Person
from tests.mail.smtp_server import LoopbackSmtp

AT = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)


def person(sessions: sessionmaker[Session], ref: str = "E5001", email: str | None = "eva.ek@tranemo.example",
           language: str = "sv") -> None:
    with sessions.begin() as s:
        s.merge(Person(employee_ref=ref, name="Eva Ek", email=email, language=language, unit_id="TR-KS",
                       active=True, updated_at=AT))


def outbox(sessions: sessionmaker[Session], topic: str = "buyout_offer", recipient: str = "employee:E5001",
           data: dict[str, str] | None = None, key: str = "device-ORD-1:7:notify:buyout_offer:employee:E5001") -> int:
    data = data if data is not None else {"order_number": "ORD-1", "model_name": "Dell Latitude 5450",
                                          "price": "1234.00", "deadline": "2026-03-24T15:00:00+00:00"}
    with sessions.begin() as s:
        row = OutboxMessage(created_at=AT, topic=topic, recipient=recipient, subject="Buy out ORD-1?",
                            body="Offered as is", workflow_id="device-ORD-1", key=key, state="pending", attempts=0,
                            data=data)
        s.add(row)
        s.flush()
        return row.id


def row(sessions: sessionmaker[Session], outbox_id: int) -> OutboxMessage:
    with sessions() as s:
        return s.get(OutboxMessage, outbox_id)


def mailer(sessions, settings: Settings) -> MailActivities:
    return MailActivities(None, sessions, settings, now=lambda: AT)


async def test_issue21_eq11_buyout_offer_is_a_swedish_mail_with_the_console_link(sessions, mail_settings, smtp):
    person(sessions)
    outbox_id = outbox(sessions)
    assert await mailer(sessions, mail_settings).deliver(outbox_id) == "sent"
    [mail] = smtp.recorder.accepted
    assert smtp.recorder.envelopes == [["eva.ek@tranemo.example"]]
    assert mail["Subject"] == "Erbjudande: köp ut din dator ORD-1"
    text = mail.get_body(("plain",)).get_content()
    for fact in ("1 234,00 kr", "certifierad leverantör", "ursprungliga operativsystem", "nettolönen",
                 "24 mars 2026 kl. 16:00",  # the deadline in Swedish local time
                 "https://ramflow.tranemo-ulricehamn.example/console/devices/ORD-1"):
        assert fact in text, fact
    html = mail.get_body(("html",)).get_content()
    assert '<a href="https://ramflow.tranemo-ulricehamn.example/console/devices/ORD-1">' in html
    assert mail["Auto-Submitted"] == "auto-generated" and mail["Content-Language"] == "sv"
    stored = row(sessions, outbox_id)
    assert (stored.state, stored.attempts, stored.sent_at, stored.address) == ("sent", 1, AT, "eva.ek@tranemo.example")
    assert stored.message_id == mail["Message-ID"]
    assert stored.message_id.startswith("<outbox-") and stored.message_id.endswith("@ramflow.it.tranemo-ulricehamn.example>")


async def test_issue21_eq11_console_link_of_the_offer_is_a_console_route(api):
    """The link in the offer leads to the console's device page (a route of the mounted console app)."""
    from starlette.routing import Match

    console = next(r for r in api._transport.app.routes if getattr(r, "path", "") == "/console")
    scope = {"type": "http", "method": "GET", "path": "/devices/ORD-1"}
    assert any(route.matches(scope)[0] == Match.FULL for route in console.app.routes)


async def test_issue21_english_only_where_the_persons_language_is_english(sessions, mail_settings, smtp):
    person(sessions, language="en")
    await mailer(sessions, mail_settings).deliver(outbox(sessions))
    [mail] = smtp.recorder.accepted
    assert mail["Subject"] == "Offer: buy out your computer ORD-1" and mail["Content-Language"] == "en"
    assert "SEK 1,234.00" in mail.get_body(("plain",)).get_content()


async def test_issue21_permanent_550_is_failed_and_visible_not_retried(sessions, mail_settings, smtp):
    person(sessions)
    smtp.recorder.refuse.add("eva.ek@tranemo.example")
    outbox_id = outbox(sessions)
    with pytest.raises(ApplicationError) as refused:
        await mailer(sessions, mail_settings).deliver(outbox_id)
    assert refused.value.non_retryable and refused.value.type == "MailRefused"
    stored = row(sessions, outbox_id)
    assert stored.state == "failed" and "550" in stored.last_error and stored.sent_at is None
    assert smtp.recorder.accepted == []


@pytest.mark.parametrize("recipient, why", [
    ("employee:E5001", "has no mail address in the people register"),
    ("employee:E7777", "not in the people register"),
    ("unit:TR-SOC", "the unit has no functional mailbox"),
    ("it:nowhere", "no address configured"),
])
async def test_issue21_recipient_without_address_is_a_visible_failure(sessions, mail_settings, smtp, recipient, why):
    person(sessions, email=None)
    with sessions.begin() as s:
        s.get(Unit, "TR-SOC").mailbox = None
    outbox_id = outbox(sessions, topic="notice", recipient=recipient, data={})
    with pytest.raises(ApplicationError) as refused:
        await mailer(sessions, mail_settings).deliver(outbox_id)
    assert refused.value.non_retryable
    stored = row(sessions, outbox_id)
    assert stored.state == "failed" and why in stored.last_error and recipient in stored.last_error
    assert smtp.recorder.accepted == []


async def test_issue21_unit_and_queue_recipients_reach_their_mailboxes(sessions, mail_settings, smtp):
    mail = mailer(sessions, mail_settings)
    await mail.deliver(outbox(sessions, topic="delivered", recipient="unit:TR-KS", data={}, key="k1"))
    await mail.deliver(outbox(sessions, topic="notice", recipient="it:asset-management", key="k2",
                              data={"order_number": "ORD-1", "unit_id": "TR-KS"}))
    assert smtp.recorder.envelopes == [["ks@tranemo.example"], ["inventarier@it.tranemo-ulricehamn.example"]]
    assert smtp.recorder.accepted[1]["Subject"] == "Uppsägning mottagen: ORD-1"


async def test_issue21_smtp_server_down_then_back_delivers_once(sessions, mail_settings, smtp):
    person(sessions)
    outbox_id = outbox(sessions)
    mail = mailer(sessions, mail_settings)
    smtp.stop()
    with pytest.raises(ApplicationError) as away:
        await mail.deliver(outbox_id, attempt=1)
    assert not away.value.non_retryable  # retried by Temporal with backoff
    assert row(sessions, outbox_id).state == "pending" and row(sessions, outbox_id).last_error
    smtp.start()
    assert await mail.deliver(outbox_id, attempt=2) == "sent"
    assert await mail.deliver(outbox_id, attempt=3) == "sent"  # a late duplicate attempt sends nothing
    assert len(smtp.recorder.accepted) == 1
    stored = row(sessions, outbox_id)
    assert (stored.state, stored.attempts, stored.last_error) == ("sent", 2, None)


async def test_issue21_worker_killed_between_send_and_record_resends_the_same_message_id(sessions, mail_settings,
                                                                                          smtp, monkeypatch):
    """A crash after the server accepted and before the record: the retry sends again with the same Message-ID
    (recognisable as the same mail) and records once. A crash after the record: the retry sends nothing."""
    person(sessions)
    outbox_id = outbox(sessions)
    mail = mailer(sessions, mail_settings)
    original = MailActivities.record_sent

    def crash(self, *args):  # noqa: ANN001
        raise SystemExit("worker killed")

    monkeypatch.setattr(MailActivities, "record_sent", crash)
    with pytest.raises(SystemExit):
        await mail.deliver(outbox_id, attempt=1)
    assert row(sessions, outbox_id).state == "pending"
    monkeypatch.setattr(MailActivities, "record_sent", original)
    assert await mail.deliver(outbox_id, attempt=2) == "sent"
    first, second = smtp.recorder.accepted
    assert first["Message-ID"] == second["Message-ID"] == row(sessions, outbox_id).message_id
    assert await mail.deliver(outbox_id, attempt=3) == "sent"  # killed after the record: nothing more
    assert len(smtp.recorder.accepted) == 2


async def test_issue21_threaded_reply_row_carries_in_reply_to_and_references(sessions, mail_settings, smtp):
    """The contract the inbound half uses: a `ticket_reply` row with in_reply_to/references goes out threaded."""
    person(sessions)
    with sessions.begin() as s:
        s.add(OutboxMessage(created_at=AT, topic="ticket_reply", recipient="employee:E5001",
                            subject="[Ärende T2026-00012] Skrivaren", body="Vi har bytt toner.", key="ticket-reply:1",
                            in_reply_to="<abc@tranemo.example>", references="<x@y> <abc@tranemo.example>",
                            state="pending", attempts=0))
    with sessions() as s:
        row_id = s.query(OutboxMessage.id).filter_by(key="ticket-reply:1").scalar()
    await mailer(sessions, mail_settings).deliver(row_id)
    [mail] = smtp.recorder.accepted
    assert mail["In-Reply-To"] == "<abc@tranemo.example>" and mail["References"] == "<x@y> <abc@tranemo.example>"
    assert mail["Subject"] == "[Ärende T2026-00012] Skrivaren"
