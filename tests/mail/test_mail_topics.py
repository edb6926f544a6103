"""Issue 21: the reporter's receipt (ticket received, with the TK-5 deadline for intefunktion) is mailed through
the ticket process; every topic's template renders Swedish (English for `en`) with the facts its notify() call
gives, and no facts beyond them."""
from __future__ import annotations

import pytest

from mail.render import TEMPLATES, Renderer
from tests.helpers import poll
from tests.mail.test_mail_delivery import person

TOPIC_DATA = {
    "buyout_offer": {"order_number": "ORD-1", "model_name": "Dell", "price": "900.00",
                     "deadline": "2026-03-24T15:00:00+00:00"},
    "ticket_received": {"number": "T2026-00001", "title": "Outlook", "line": "first_line", "function": "email_calendar",
                        "deadline": "2026-03-11T09:00:00+00:00"},
    "waiting_for_customer": {"number": "T2026-00001", "title": "Outlook", "question": "Vilken dator?"},
    "resolved": {"number": "T2026-00001", "title": "Outlook", "resolution": "Profilen återställd."},
    "survey": {"number": "T2026-00001", "title": "Outlook", "survey_link": "https://x/api/v1/survey/t",
               "survey_expires": "2026-03-24T15:00:00+00:00"},
    "renewal": {"order_number": "ORD-1", "replacement": "ORD-1-R1", "model_code": "LAT-5450"},
    "notice": {"order_number": "ORD-1", "unit_id": "TR-KS"},
    "agreement_meeting": {"application": "Procapita", "year": "2027"},
    "operational_message": {"municipality": "tranemo"},
}
SWEDISH_SUBJECTS = {
    "buyout_offer": "Erbjudande: köp ut din dator ORD-1",
    "ticket_received": "[Ärende T2026-00001] Vi har tagit emot ditt ärende",
    "waiting_for_customer": "[Ärende T2026-00001] IT behöver ditt svar",
    "resolved": "[Ärende T2026-00001] Ditt ärende är löst",
    "survey": "[Ärende T2026-00001] Två frågor om IT:s hjälp",
    "renewal": "Ny utrustning är beställd: ORD-1 byts ut",
    "notice": "Uppsägning mottagen: ORD-1",
    "agreement_meeting": "Kallelse: årlig översyn av applikationsavtalet för Procapita",
    "operational_message": "Driftinformation: e-post",
}


@pytest.mark.parametrize("topic", sorted(TOPIC_DATA))
def test_issue21_every_topic_has_a_swedish_and_an_english_template(topic):
    renderer = Renderer(base_url="https://r.example")
    sv = renderer.render(topic, "sv", "Driftinformation: e-post", "Långsam.", TOPIC_DATA[topic])
    en = renderer.render(topic, "en", "Driftinformation: e-post", "Långsam.", TOPIC_DATA[topic])
    assert sv.subject == SWEDISH_SUBJECTS[topic]
    assert (TEMPLATES / f"{topic}.sv.txt").exists() and (TEMPLATES / f"{topic}.en.txt").exists()
    assert sv.html.startswith("<!doctype html>") and '<html lang="sv">' in sv.html and '<html lang="en">' in en.html
    assert "employee:" not in sv.text and "E5001" not in sv.text  # no other references than the purpose needs


def test_issue21_topic_without_template_is_mailed_as_written_in_a_swedish_frame():
    mail = Renderer().render("premises", "sv", "PRJ-1: design approved", "Approved.", {})
    assert mail.subject == "PRJ-1: design approved" and mail.text.startswith("Hej,") and "Approved." in mail.text


def test_tk5_receipt_of_an_intefunktion_ticket_names_its_deadline():
    text = Renderer().render("ticket_received", "sv", "", "", TOPIC_DATA["ticket_received"]).text
    assert "första linjen" in text and "11 mars 2026 kl. 10:00" in text  # Stockholm time, one working day
    assert "(e-post och kalender)" in text  # the TK-4 function in the reporter's words
    plain = {**TOPIC_DATA["ticket_received"], "function": "", "deadline": ""}
    assert "senast" not in Renderer().render("ticket_received", "sv", "", "", plain).text


async def test_issue21_tk2_reported_ticket_mails_its_receipt_to_the_reporter(api, sessions, smtp):
    person(sessions)
    created = await api.post("/tickets", json={"unit_id": "TR-KS", "reporter_ref": "E5001",
                                               "title": "Outlook startar inte", "function": "email_calendar"})
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    [receipt] = await poll(api, f"/outbox?topic=ticket_received&state=sent&workflow_id=ticket-{number}",
                           lambda rows: bool(rows), 20)
    assert receipt["recipient"] == "employee:E5001"
    [mail] = [m for m in smtp.recorder.accepted if m["Message-ID"] == receipt["message_id"]]
    assert mail["Subject"] == f"[Ärende {number}] Vi har tagit emot ditt ärende"
    assert "ska felet vara åtgärdat senast" in mail.get_body(("plain",)).get_content()  # TK-5: intefunktion
    history = (await api.get(f"/tickets/{number}/history")).json()
    assert history[0]["deliveries"][0]["topic"] == "ticket_received"
