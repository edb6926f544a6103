"""Issue 21: a ticket's conversation over the API: read by exactly those who may read the ticket (internal
notes by IT only), attachments with their SHA-256, IT's reply queued as a threaded `ticket_reply` that the
reporter's answer threads back into, and the kept-aside mail visible to IT."""
from __future__ import annotations

import base64
import hashlib

import pytest
from sqlalchemy import select

from activities.mail_sources import MaildirSource, deliver_to_maildir
from activities.mailbox import MailIntake, TemporalTickets
from db.models import OutboxMessage
from tests.helpers import eventually
from tests.mail_in.helpers import PNG, add_person, mail

pytestmark = pytest.mark.asyncio


async def mailed_ticket(sessions, settings, client, maildir, *raws: bytes) -> str:
    for raw in raws:
        deliver_to_maildir(maildir, raw)
    await MailIntake(sessions, settings, TemporalTickets(client, settings)).poll(MaildirSource(maildir))

    async def number() -> str | None:
        from db.ticket_models import Ticket
        with sessions() as s:
            return s.scalar(select(Ticket.number).limit(1))
    found = await eventually(number, lambda n: n is not None)
    assert found is not None
    return found


async def test_conversation_is_read_by_those_who_read_the_ticket_and_internal_notes_by_it_only(
        api, sessions, settings, client, tmp_path):
    add_person(sessions, "E5001", "anna.berg@tranemo.se", unit_id="TR-BUF")
    number = await mailed_ticket(sessions, settings, client, tmp_path / "md", mail(
        message_id="<shot@tranemo.se>", attachments=[("skärmbild.png", "image/png", PNG)]))
    reporter = api.bearer("E5001", "employee")
    note = await api.post(f"/tickets/{number}/messages", json={"body": "Kolla skrivarkön först."})
    assert note.status_code == 201 and note.json()["direction"] == "internal"

    mine = (await api.get(f"/tickets/{number}/messages", headers=reporter)).json()
    assert [m["direction"] for m in mine] == ["in"]  # the reporter never sees IT's internal note
    assert [m["direction"] for m in (await api.get(f"/tickets/{number}/messages")).json()] == ["in", "internal"]
    manager = api.bearer("E1002", "unit-manager", unit="TR-BUF")
    assert len((await api.get(f"/tickets/{number}/messages", headers=manager)).json()) == 1
    for stranger in (api.bearer("E5002", "employee"), api.bearer("E1001", "unit-manager", unit="TR-KS")):
        assert (await api.get(f"/tickets/{number}/messages", headers=stranger)).status_code == 404

    (attachment,) = mine[0]["attachments"]
    assert attachment["sha256"] == hashlib.sha256(PNG).hexdigest() and attachment["size"] == len(PNG)
    got = await api.get(f"/tickets/{number}/attachments/{attachment['id']}", headers=reporter)
    assert got.status_code == 200 and got.content == PNG and got.headers["content-type"] == "image/png"
    assert got.headers["repr-digest"] == f"sha-256=:{base64.b64encode(hashlib.sha256(PNG).digest()).decode()}:"
    assert "attachment;" in got.headers["content-disposition"]
    other = api.bearer("E5002", "employee")
    assert (await api.get(f"/tickets/{number}/attachments/{attachment['id']}", headers=other)).status_code == 404
    # issue 23: the reporter answers on their own ticket (never as an internal note); another employee cannot
    answer = await api.post(f"/tickets/{number}/messages", json={"body": "x", "to_reporter": False}, headers=reporter)
    assert answer.status_code == 201 and answer.json()["direction"] == "in" and answer.json()["author"] == "E5001"
    assert (await api.post(f"/tickets/{number}/messages", json={"body": "x"}, headers=other)).status_code == 404
    assert (await api.post(f"/tickets/{number}/messages", json={"body": "x"}, headers=manager)).status_code == 403


async def test_it_reply_is_queued_threaded_and_the_answer_threads_back(api, sessions, settings, client, tmp_path):
    add_person(sessions, "E5001", "anna.berg@tranemo.se")
    maildir = tmp_path / "md"
    number = await mailed_ticket(sessions, settings, client, maildir, mail(message_id="<q@tranemo.se>",
                                                                           subject="Wifi fungerar inte"))
    reply = await api.post(f"/tickets/{number}/messages", json={"body": "Starta om datorn.", "to_reporter": True})
    assert reply.status_code == 201
    sent = reply.json()
    assert sent["direction"] == "out" and sent["in_reply_to"] == "<q@tranemo.se>"
    with sessions() as s:
        row = s.scalar(select(OutboxMessage).where(OutboxMessage.topic == "ticket_reply"))
        assert row.recipient == "employee:E5001" and row.subject == f"[Ärende {number}] Wifi fungerar inte"
        assert row.workflow_id == f"ticket-{number}"
    answer = mail(subject="SV: Wifi fungerar inte", message_id="<a@tranemo.se>",  # no tag: the header threads it
                  headers={"In-Reply-To": sent["message_id"]}, body="Det hjälpte, tack!")
    deliver_to_maildir(maildir, answer)
    report = await MailIntake(sessions, settings, TemporalTickets(client, settings)).poll(MaildirSource(maildir))
    assert (report.threaded, report.ticket) == (1, 0)
    bodies = [m["body"] for m in (await api.get(f"/tickets/{number}/messages")).json()]
    assert bodies[1:] == ["Starta om datorn.", "Det hjälpte, tack!"]
    assert (await api.post("/tickets/T2026-99999/messages", json={"body": "x"})).status_code == 404


async def test_kept_aside_mail_is_listed_for_it_with_its_reason(api, sessions, settings, client, tmp_path):
    maildir = tmp_path / "md"
    exe = ("a.exe", "application/x-msdownload", b"MZ")
    deliver_to_maildir(maildir, mail(message_id="<exe@x.se>", attachments=[exe]))
    deliver_to_maildir(maildir, mail(message_id="<ooo@x.se>", headers={"Auto-Submitted": "auto-replied"}))
    await MailIntake(sessions, settings, TemporalTickets(client, settings)).poll(MaildirSource(maildir))
    rows = {r["message_id"]: r for r in (await api.get("/mail/rejected")).json()}
    assert rows["<exe@x.se>"]["state"] == "rejected" and "mail_attachment_types" in rows["<exe@x.se>"]["reason"]
    assert rows["<ooo@x.se>"]["state"] == "ignored" and "Auto-Submitted" in rows["<ooo@x.se>"]["reason"]
    only = (await api.get("/mail/rejected", params={"state": "ignored"})).json()
    assert [r["message_id"] for r in only] == ["<ooo@x.se>"]
    assert (await api.get("/mail/rejected", headers=api.bearer("E5001", "employee"))).status_code == 403


async def test_attachments_in_a_configured_directory_and_an_unknown_senders_reply_goes_to_their_address(
        api, sessions, settings, client, tmp_path):
    files = tmp_path / "bilagor"
    stored = settings.model_copy(update={"mail_attachment_dir": str(files)})
    maildir = tmp_path / "md"
    deliver_to_maildir(maildir, mail(sender="extern@example.org", message_id="<ext@example.org>",
                                     attachments=[("bild.png", "image/png", PNG)]))
    await MailIntake(sessions, stored, TemporalTickets(client, stored)).poll(MaildirSource(maildir))
    number = await mailed_ticket(sessions, settings, client, maildir)
    digest = hashlib.sha256(PNG).hexdigest()
    assert (files / digest[:2] / digest).read_bytes() == PNG  # named by its hash, not in the database
    (message,) = (await api.get(f"/tickets/{number}/messages")).json()
    got = await api.get(f"/tickets/{number}/attachments/{message['attachments'][0]['id']}")
    assert got.content == PNG and message["author"] == "extern@example.org"
    reply = await api.post(f"/tickets/{number}/messages", json={"body": "Vem är du?", "to_reporter": True})
    assert reply.status_code == 201
    with sessions() as s:
        row = s.scalar(select(OutboxMessage).where(OutboxMessage.topic == "ticket_reply"))
    assert row.recipient == "mail:extern@example.org" and row.in_reply_to == "<ext@example.org>"
