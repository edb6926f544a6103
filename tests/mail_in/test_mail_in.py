"""Issue 21, "In": mail to the support mailbox becomes tickets, against a real IMAP server (Dovecot on
loopback) and a real Maildir, with the real ticket workflow on the test's Temporal server."""
from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from activities.mail_sources import ImapSource, MaildirSource, deliver_to_maildir
from activities.mailbox import MailIntake, TemporalTickets
from db.conversation import messages_of
from db.mail_models import InboundMail, TicketAttachment
from db.ticket_models import Ticket
from domain.intefunktion import IntefunktionFunction
from domain.support_lines import Line
from domain.mail_in import UNKNOWN_SENDER, MailPollReport, MailPollRequest, ticket_tag
from domain.tickets import Assign, Classification, TicketCommand, WaitForCustomer, ticket_workflow_id
from tests.helpers import eventually
from tests.mail_in.helpers import PNG, add_person, mail
from workflows.mail_in import MailboxPollWorkflow
from workflows.tickets import TicketWorkflow

pytestmark = pytest.mark.asyncio
PROCESSED, KEPT_ASIDE = "Ramflow/Behandlat", "Ramflow/Avvisat"


def intake(sessions, settings, client, **changes) -> MailIntake:
    return MailIntake(sessions, settings.model_copy(update=changes), TemporalTickets(client, settings))


def append(dovecot, *mails: bytes, at: datetime | None = None) -> None:
    with dovecot.mailbox() as box:
        for raw in mails:
            box.append(raw, "INBOX", dt=at)


def folder_count(dovecot, folder: str) -> int:
    with dovecot.mailbox() as box:
        if not box.folder.exists(folder):
            return 0
        box.folder.set(folder)
        return len(box.uids("ALL"))


async def tickets_registered(sessions, count: int, seconds: float = 60) -> list[Ticket]:
    async def fetch() -> list[Ticket]:
        with sessions() as s:
            return list(s.scalars(select(Ticket).order_by(Ticket.number)))
    return await eventually(fetch, lambda rows: len(rows) >= count, seconds)


async def test_tk2_200_mails_at_once_become_200_tickets_without_duplicates(dovecot, sessions, settings, client,
                                                                          worker):
    add_person(sessions, "E5001", "Anna.Berg@tranemo.se", unit_id="TR-BUF")
    arrived = (datetime.now(timezone.utc) - timedelta(hours=3)).replace(microsecond=0)
    mails = [mail(sender="anna.berg@tranemo.se" if i % 2 else f"okand{i}@example.org",
                  subject=f"Ärende nummer {i}", body=f"Beskrivning {i}", message_id=f"<m{i}@tranemo.se>")
             for i in range(200)]
    append(dovecot, *mails, at=arrived)
    report = await intake(sessions, settings, client).poll(ImapSource(dovecot.mailbox))
    assert (report.ticket, report.failed) == (200, 0)
    append(dovecot, mails[7])  # the same mail delivered twice: still one ticket
    again = await intake(sessions, settings, client).poll(ImapSource(dovecot.mailbox))
    assert again.ticket == 1 and folder_count(dovecot, PROCESSED) == 201 and folder_count(dovecot, "INBOX") == 0
    rows = await tickets_registered(sessions, 200)
    assert len(rows) == 200 and len({r.title for r in rows}) == 200
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(InboundMail)) == 200
        known = [r for r in rows if r.reporter_ref == "E5001"]
        assert len(known) == 100 and {r.unit_id for r in known} == {"TR-BUF"}  # the sender's unit (TK-2)
        unknown = [r for r in rows if r.reporter_ref == UNKNOWN_SENDER]
        assert len(unknown) == 100 and {r.unit_id for r in unknown} == {settings.mail_default_unit}
        assert {r.line for r in rows} == {Line.FIRST.value}  # TK-2: every mailed ticket enters the 1st line
        # TK-5: reported when the mail arrived at the server, not when it was processed
        assert {r.reported_at.astimezone(timezone.utc) for r in rows} == {arrived}
        assert {r.description for r in rows} == {f"Beskrivning {i}" for i in range(200)}  # the body (TK-2)
        first = messages_of(s, rows[0].number, reporter_view=True)
        assert first[0].direction == "in" and first[0].body.startswith("Beskrivning")


class CrashAfterTicket(ImapSource):
    """The worker dies after the ticket is opened and before the mail is moved (once)."""

    crashed = False

    def move(self, key: str, folder: str) -> None:
        if not CrashAfterTicket.crashed:
            CrashAfterTicket.crashed = True
            raise ConnectionResetError("worker killed between ticket and move")
        super().move(key, folder)


class DroppedConnection(ImapSource):
    """The server drops the connection before every fifth fetch (Exchange Online closing a throttled one)."""

    fetches = 0

    def _fetch(self, key: str, max_bytes: int):  # noqa: ANN201
        DroppedConnection.fetches += 1
        if DroppedConnection.fetches % 5 == 0:
            self.box.client.sock.close()
        return super()._fetch(key, max_bytes)


async def test_a_dropped_imap_connection_is_opened_again_and_no_mail_is_lost(dovecot, sessions, settings, client,
                                                                           worker):
    append(dovecot, *(mail(message_id=f"<drop{i}@tranemo.se>", subject=f"Tappad {i}") for i in range(12)))
    report = await intake(sessions, settings, client).poll(DroppedConnection(dovecot.mailbox))
    assert (report.ticket, report.failed) == (12, 0) and folder_count(dovecot, PROCESSED) == 12
    assert len(await tickets_registered(sessions, 12)) == 12


async def test_crash_between_ticket_and_move_makes_one_ticket(dovecot, sessions, settings, client, worker):
    append(dovecot, mail(message_id="<crash@tranemo.se>"))
    first = await intake(sessions, settings, client).poll(CrashAfterTicket(dovecot.mailbox))
    assert first.failed == 1 and folder_count(dovecot, "INBOX") == 1  # the mail stays for the next poll
    second = await intake(sessions, settings, client).poll(ImapSource(dovecot.mailbox))
    assert second.ticket == 1 and folder_count(dovecot, "INBOX") == 0
    rows = await tickets_registered(sessions, 1)
    await asyncio.sleep(0.5)
    with sessions() as s:
        assert len(rows) == 1 and s.scalar(select(func.count()).select_from(Ticket)) == 1
        assert len(messages_of(s, rows[0].number, False)) == 1


async def test_tk5_reply_threads_into_its_ticket_and_resumes_the_waiting_deadline(dovecot, sessions, settings,
                                                                                 client, worker):
    add_person(sessions, "E5001", "anna.berg@tranemo.se")
    append(dovecot, mail(message_id="<first@tranemo.se>", subject="Kan inte skriva ut"))
    await intake(sessions, settings, client).poll(ImapSource(dovecot.mailbox))
    (ticket,) = await tickets_registered(sessions, 1)
    handle = client.get_workflow_handle(ticket_workflow_id(ticket.number))
    await handle.execute_update(TicketWorkflow.classify, Classification(
        actor="it.first", function=IntefunktionFunction.NETWORK_PRINTING))
    await handle.execute_update(TicketWorkflow.apply, TicketCommand(actor="it.first",
                                                                    action=Assign(assignee="it.first")))
    waiting = await handle.execute_update(TicketWorkflow.apply, TicketCommand(
        actor="it.first", action=WaitForCustomer(question="Vilken skrivare?")))
    assert waiting.state == "waiting_for_customer" and waiting.deadline is None  # TK-5: paused
    await eventually(lambda: _state(sessions, ticket.number), lambda state: state == "waiting_for_customer")
    reply = mail(subject=f"SV: {ticket_tag(ticket.number)} Kan inte skriva ut", message_id="<reply@tranemo.se>",
                 headers={"In-Reply-To": "<first@tranemo.se>", "References": "<first@tranemo.se>"},
                 body="Det är skrivaren vid receptionen.\n\nDen 8 dec. 2026 kl. 10:00 skrev Ramflow <support@x.se>:\n"
                      "> Vilken skrivare?\n")
    append(dovecot, reply, mail(subject=f"VB: {ticket_tag(ticket.number)}", message_id="<tag@tranemo.se>",
                                body="Bara taggen i ämnet.\n\n-----Ursprungligt meddelande-----\nFrån: Ramflow"))
    report = await intake(sessions, settings, client).poll(ImapSource(dovecot.mailbox))
    assert (report.threaded, report.ticket) == (2, 0)
    resumed = await handle.query(TicketWorkflow.view)
    assert resumed.state == "assigned" and resumed.deadline is not None  # the deadline runs again
    with sessions() as s:
        bodies = [m.body for m in messages_of(s, ticket.number, reporter_view=True)]
        assert s.scalar(select(func.count()).select_from(Ticket)) == 1
    assert bodies[0] == "Hej!\nSkrivaren på plan 2 skriver inte ut.\n/Anna"
    assert sorted(bodies[1:]) == ["Bara taggen i ämnet.", "Det är skrivaren vid receptionen."]  # quotes stripped


def _state(sessions, number: str):
    async def fetch() -> str | None:
        with sessions() as s:
            row = s.get(Ticket, number)
            return row.state if row else None
    return fetch()


@pytest.mark.parametrize("headers, sender", [
    ({"Auto-Submitted": "auto-replied"}, "anna.berg@tranemo.se"),
    ({"Precedence": "bulk"}, "nyhetsbrev@example.org"),
    ({"List-Id": "<it.lists.example.org>"}, "lista@example.org"),
    ({"X-Auto-Response-Suppress": "All"}, "system@example.org"),
    ({}, "MAILER-DAEMON@mx.tranemo.se"),
])
async def test_loop_prone_auto_reply_is_ignored_and_never_answered(dovecot, sessions, settings, client, worker,
                                                                   headers, sender):
    append(dovecot, mail(sender=sender, subject="Frånvaromeddelande", headers=headers, message_id="<auto@x>"))
    report = await intake(sessions, settings, client).poll(ImapSource(dovecot.mailbox))
    assert (report.ignored, report.ticket) == (1, 0) and folder_count(dovecot, KEPT_ASIDE) == 1
    with sessions() as s:
        row = s.scalar(select(InboundMail))
        assert row.state == "ignored" and row.reason and row.ticket_number is None
        assert s.scalar(select(func.count()).select_from(Ticket)) == 0


async def test_bad_input_is_kept_aside_with_its_reason_and_the_rest_is_processed(dovecot, sessions, settings,
                                                                               client, worker):
    good = mail(message_id="<good@tranemo.se>", attachments=[("skarmbild.png", "image/png", PNG)])
    exe = mail(message_id="<exe@tranemo.se>", attachments=[("faktura.exe", "application/x-msdownload", b"MZ" * 50)])
    big = mail(message_id="<big@tranemo.se>", body="x" * 60_000)
    broken = b"From: a@b.se\r\nMessage-ID: <broken@b.se>\r\nContent-Type: multipart/mixed\r\n\r\nno boundary"
    append(dovecot, exe, big, good, broken)
    report = await intake(sessions, settings, client, mail_max_bytes=50_000).poll(ImapSource(dovecot.mailbox))
    assert (report.ticket, report.rejected, report.failed) == (1, 3, 0)
    assert folder_count(dovecot, KEPT_ASIDE) == 3 and folder_count(dovecot, PROCESSED) == 1
    with sessions() as s:
        rejected = s.scalars(select(InboundMail).where(InboundMail.state == "rejected"))
        reasons = {r.message_id: r.reason for r in rejected}
        attachment = s.scalar(select(TicketAttachment))
    assert "mail_attachment_types" in reasons["<exe@tranemo.se>"]
    assert "mail_max_bytes" in reasons["<big@tranemo.se>"]
    assert reasons["<broken@b.se>"].startswith("unparseable: NoBoundaryInMultipartDefect")
    assert (attachment.filename, attachment.size, attachment.sha256) == (
        "skarmbild.png", len(PNG), hashlib.sha256(PNG).hexdigest())


async def test_maildir_source_polled_by_the_schedule_workflow(sessions, settings, client, worker):
    """The development source: the local SMTP server delivers into a Maildir; the Schedule's workflow runs the
    poll activity on the worker, which reads it."""
    maildir = settings.mail_support_maildir
    for i in range(3):
        deliver_to_maildir(maildir, mail(message_id=f"<dev{i}@tranemo.se>", subject=f"Dev {i}"))
    result = await client.execute_workflow(MailboxPollWorkflow.run, MailPollRequest(), id="poll-test",
                                           task_queue=settings.temporal_task_queue)
    assert (result.ticket, result.failed) == (3, 0) and MaildirSource(maildir).keys() == []
    assert len(list((Path(maildir) / ".Ramflow.Behandlat" / "cur").iterdir())) == 3
    assert sorted(r.title for r in await tickets_registered(sessions, 3)) == ["Dev 0", "Dev 1", "Dev 2"]
    again = await client.execute_workflow(MailboxPollWorkflow.run, MailPollRequest(), id="poll-test-2",
                                          task_queue=settings.temporal_task_queue)
    assert again == MailPollReport()  # nothing left to read


async def test_the_poll_schedule_runs_only_when_a_source_is_configured(settings):
    from workflows.schedules import MAIL_POLL_SCHEDULE, mailbox_schedule_definitions

    (schedule,) = mailbox_schedule_definitions(settings).values()
    assert schedule.spec.intervals[0].every.total_seconds() == settings.mail_poll_seconds
    assert MAIL_POLL_SCHEDULE in mailbox_schedule_definitions(settings)
    assert mailbox_schedule_definitions(settings.model_copy(update={"mail_in_source": "off"})) == {}
