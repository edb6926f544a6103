"""Issue 21, pure: quoted text, the ticket tag, loop-prone mail (RFC 3834), limits, the received time."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from domain.mail_in import MailLimits, parse_mail, strip_quoted, tagged_number, ticket_tag
from tests.mail_in.helpers import PNG, mail

LIMITS = MailLimits()


@pytest.mark.parametrize("text, new", [
    ("Tack, det fungerar!\n\nDen tis 8 dec. 2026 kl. 10:12 skrev IT-support <support@tranemo.se>:\n> Prova igen",
     "Tack, det fungerar!"),
    ("Tack!\n\nFrån: IT-support <support@tranemo.se>\nSkickat: den 8 december 2026 10:12\nTill: Anna\n"
     "Ämne: [Ärende T2026-00012] Skrivare\n\nProva igen", "Tack!"),
    ("Thanks\n\nOn Tue, 8 Dec 2026 at 10:12, IT support <support@tranemo.se>\nwrote:\n> Try again", "Thanks"),
    ("Svar ovanför\n-----Ursprungligt meddelande-----\nFrån: x", "Svar ovanför"),
    ("Ok\n________________________________\nFrom: IT\nSent: Tuesday", "Ok"),
    ("> bara citat\n> inget nytt", "> bara citat\n> inget nytt"),  # all quote: the text is kept, not lost
    ("Rad ett\nFrån: min chef fick jag veta att...\nRad tre", "Rad ett\nFrån: min chef fick jag veta att...\nRad tre"),
])
def test_quoted_text_is_stripped_in_swedish_and_english(text: str, new: str) -> None:
    assert strip_quoted(text) == new


def test_ticket_tag_round_trips_and_ignores_other_brackets() -> None:
    assert tagged_number(f"SV: {ticket_tag('T2026-00012')} Skrivaren") == "T2026-00012"
    assert tagged_number("VB: [Arende t2026-00013]") == "T2026-00013"
    assert tagged_number("[EXTERN] Fråga") is None and tagged_number(None) is None


@pytest.mark.parametrize("headers, sender, reason", [
    ({"Auto-Submitted": "auto-replied"}, "a@b.se", "Auto-Submitted"),
    ({"Auto-Submitted": "auto-generated"}, "a@b.se", "Auto-Submitted"),
    ({"Precedence": "junk"}, "a@b.se", "Precedence"),
    ({"Precedence": "list"}, "a@b.se", "Precedence"),
    ({"List-Id": "<x.example.org>"}, "a@b.se", "List-Id"),
    ({"X-Auto-Response-Suppress": "OOF"}, "a@b.se", "X-Auto-Response-Suppress"),
    ({}, "mailer-daemon@mx.example.org", "bounce"),
    ({}, "postmaster@example.org", "bounce"),
])
def test_rfc3834_loop_prone_mail_is_recognised(headers: dict, sender: str, reason: str) -> None:
    assert reason in (parse_mail(mail(sender=sender, headers=headers), LIMITS).loop or "")


def test_auto_submitted_no_is_an_ordinary_mail() -> None:
    assert parse_mail(mail(headers={"Auto-Submitted": "no"}), LIMITS).loop is None


def test_limits_keep_aside_forbidden_types_and_large_attachments_but_take_screenshots() -> None:
    shot = parse_mail(mail(attachments=[("bild.png", "image/png", PNG)]), LIMITS)
    assert shot.refused is None and shot.attachments[0].sha256 and shot.attachments[0].size == len(PNG)
    small = MailLimits(attachment_max_bytes=1024)
    assert "mail_attachment_max_bytes" in parse_mail(mail(attachments=[("b.png", "image/png", PNG * 2)]), small).refused
    macro = mail(attachments=[("lön.docm", "application/vnd.ms-word.document.macroEnabled.12", b"PK")])
    assert "mail_attachment_types" in parse_mail(macro, LIMITS).refused


def test_a_mail_without_message_id_is_known_by_its_content_and_html_only_mail_has_a_body() -> None:
    raw = (b"From: a@b.se\r\nSubject: =?utf-8?q?Sk=C3=A4rm?=\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
           b"<p>Sk\xc3\xa4rmen &auml;r svart</p><style>p{}</style>")
    first, second = parse_mail(raw, LIMITS), parse_mail(raw, LIMITS)
    assert first.message_id == second.message_id and first.message_id.endswith("@ramflow.invalid>")
    assert first.subject == "Skärm" and first.body == "Skärmen är svart"


def test_title_drops_reply_prefixes_and_received_time_is_the_servers() -> None:
    raw = (b"Received: from mx by imap; Tue, 08 Dec 2026 09:15:00 +0100\r\nFrom: a@b.se\r\n"
           b"Date: Mon, 07 Dec 2026 23:00:00 +0000\r\nSubject: SV: VB: Skrivare\r\n\r\nx")
    parsed = parse_mail(raw, LIMITS)
    assert parsed.title == "Skrivare" and parse_mail(mail(subject=""), LIMITS).title == "(inget ämne)"
    assert parsed.received_at == datetime(2026, 12, 8, 8, 15, tzinfo=timezone.utc)
