"""Issue 21, "Done when": a mail sent to the development SMTP server (127.0.0.1:1025 under `make run`)
addressed to the support address becomes a ticket with its body as the description."""
from __future__ import annotations

import smtplib
import socket
from pathlib import Path

import pytest

from domain.mail_in import MailPollRequest
from mail.devserver import controller
from tests.mail_in.helpers import PNG, add_person, mail
from tests.mail_in.test_mail_in import tickets_registered
from workflows.mail_in import MailboxPollWorkflow

pytestmark = pytest.mark.asyncio


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_tk2_mail_through_the_dev_smtp_server_becomes_a_ticket_with_its_description(
        sessions, settings, client, worker, tmp_path):
    add_person(sessions, "E5001", "anna.berg@tranemo.se", unit_id="TR-SOC")
    port = free_port()
    server = controller(tmp_path / "outgoing", Path(settings.mail_support_maildir), settings.mail_support_address,
                        port=port)
    server.start()
    try:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.sendmail("anna.berg@tranemo.se", [settings.mail_support_address], mail(
                subject="Datorn startar inte", body="Den blir svart efter inloggningen.",
                attachments=[("skarmbild.png", "image/png", PNG)]))
    finally:
        server.stop()
    report = await client.execute_workflow(MailboxPollWorkflow.run, MailPollRequest(), id="dev-poll",
                                           task_queue=settings.temporal_task_queue)
    assert report.ticket == 1
    (ticket,) = await tickets_registered(sessions, 1)
    assert (ticket.title, ticket.description, ticket.reporter_ref, ticket.unit_id) == (
        "Datorn startar inte", "Den blir svart efter inloggningen.", "E5001", "TR-SOC")
