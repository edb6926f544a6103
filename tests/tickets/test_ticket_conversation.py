"""Issue 23, TK-5/TK-6: the ticket as a conversation over the API. IT's `wait_for_customer` question is written
in the conversation (and mailed); the reporter's answer, with an attachment, resumes the deadline; files are
checked as the mailbox checks them (422 naming the file, nothing written)."""
from __future__ import annotations

import base64

from sqlalchemy import func, select

from db.mail_models import TicketMessage
from db.models import OutboxMessage
from tests.mail_in.helpers import PNG

REPORT = {"unit_id": "TR-KS", "reporter_ref": "E5001", "title": "Skrivaren skriver inte ut",
          "description": "Papperet fastnar.", "affects_operations": True, "cannot_wait": True,
          "function": None}


async def waiting_ticket(api, bearer) -> tuple[str, dict]:
    reporter = bearer("E5001", "employee", unit="TR-KS")
    body = {k: v for k, v in REPORT.items() if v is not None}
    number = (await api.post("/tickets", json=body, headers=reporter)).json()["number"]
    assert (await api.post(f"/tickets/{number}/events",
                           json={"action": {"event": "assign", "assignee": "it.anna"}})).status_code == 200
    asked = await api.post(f"/tickets/{number}/events", headers={"Idempotency-Key": "q-1"},
                           json={"action": {"event": "wait_for_customer", "question": "Vilket fack?"}})
    assert asked.status_code == 200, asked.text
    assert asked.json()["state"] == "waiting_for_customer"
    return number, reporter


async def test_tk5_the_question_is_in_the_conversation_and_the_reporters_answer_resumes_the_ticket(
        api, sessions, bearer):
    number, reporter = await waiting_ticket(api, bearer)
    # the same question retried with its key is written once
    await api.post(f"/tickets/{number}/events", headers={"Idempotency-Key": "q-1"},
                   json={"action": {"event": "wait_for_customer", "question": "Vilket fack?"}})
    seen = (await api.get(f"/tickets/{number}/messages", headers=reporter)).json()
    assert [(m["direction"], m["body"]) for m in seen] == [("out", "Vilket fack?")]
    with sessions() as s:  # mailed once: by the workflow's notice, not a second time as a reply
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.topic == "ticket_reply")) == 0

    photo = {"filename": "fack.png", "content_type": "image/png", "content_base64": base64.b64encode(PNG).decode()}
    keyed = {**reporter, "Idempotency-Key": "a-1"}
    answer = await api.post(f"/tickets/{number}/messages", headers=keyed,
                            json={"body": "Fack 2.", "attachments": [photo]})
    assert answer.status_code == 201, answer.text
    again = await api.post(f"/tickets/{number}/messages", headers=keyed,  # a double click: written once
                           json={"body": "Fack 2.", "attachments": [photo]})
    assert again.json()["seq"] == answer.json()["seq"] and len(again.json()["attachments"]) == 1
    (attached,) = answer.json()["attachments"]
    got = await api.get(f"/tickets/{number}/attachments/{attached['id']}")
    assert got.content == PNG
    view = (await api.get(f"/tickets/{number}")).json()
    assert view["state"] == "assigned" and not view.get("clock_paused")
    history = (await api.get(f"/tickets/{number}/history")).json()
    assert history[-1]["event"] == "resume" and history[-1]["actor"].endswith("E5001")


async def test_tk5_an_answer_to_a_ticket_not_waiting_is_kept_and_a_forbidden_file_is_422_with_nothing_written(
        api, sessions, bearer):
    number, reporter = await waiting_ticket(api, bearer)
    assert (await api.post(f"/tickets/{number}/events", json={"action": {"event": "resume"}})).status_code == 200
    late = await api.post(f"/tickets/{number}/messages", headers=reporter, json={"body": "Glömde: fack 2."})
    assert late.status_code == 201  # IT resumed meanwhile: the answer still stands
    exe = {"filename": "a.exe", "content_type": "application/x-msdownload", "content_base64": "TVo="}
    refused = await api.post(f"/tickets/{number}/messages", headers=reporter, json={"body": "x", "attachments": [exe]})
    assert refused.status_code == 422 and "attachments.0.content_type" in refused.json()["detail"]
    broken = {"filename": "b.png", "content_type": "image/png", "content_base64": "inte base64!"}
    refused = await api.post(f"/tickets/{number}/messages", json={"body": "x", "attachments": [broken]})
    assert refused.status_code == 422 and "content_base64" in refused.json()["detail"]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(TicketMessage)) == 2  # the question and the late answer


async def test_issue23_a_message_may_carry_a_file_larger_than_the_small_body_limit_other_bodies_may_not(
        api, bearer, settings):
    number, reporter = await waiting_ticket(api, bearer)
    big = PNG + bytes(1_500_000)  # a real screenshot is larger than MAX_BODY_BYTES (1 MB)
    photo = {"filename": "skärm.png", "content_type": "image/png", "content_base64": base64.b64encode(big).decode()}
    sent = await api.post(f"/tickets/{number}/messages", headers=reporter, json={"body": "Bild", "attachments": [photo]})
    assert sent.status_code == 201, sent.text[:200]
    assert sent.json()["attachments"][0]["size"] == len(big)
    padded = {k: v for k, v in REPORT.items() if v is not None} | {"description": "x" * 1_500_000}
    assert (await api.post("/tickets", json=padded)).status_code == 413
