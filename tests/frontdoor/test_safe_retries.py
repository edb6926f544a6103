"""Issue 7: every creating POST is safe to retry; no endless retries; a TK-7 hand-back at creation is a 201."""
from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError

from db.idempotency import IdempotencyKey
from db.models import OutboxMessage
from db.ticket_models import Incident, ServiceRequest, Ticket
from domain.common import RoundStart
from tests.tickets.helpers import add_device
from workflows.governance import FrameworkYearlyRoundWorkflow

TICKET = {"unit_id": "TR-KS", "reporter_ref": "E5001", "title": "Outlook does not start"}


def count(sessions, model) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


async def test_tk7_hand_back_at_creation_answers_201_with_the_handed_back_ticket(api, sessions):
    add_device(sessions, "ORD-FD-CB", "CB-314")
    for _ in range(8):  # it failed about every other time
        response = await api.post("/tickets", json={"unit_id": "TR-BUF", "reporter_ref": "E1100", "title": "Printing",
                                                    "device_order_number": "ORD-FD-CB", "matter": "printing"})
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["state"] == "handed_back" and "TK-7" in body["handed_back_reason"]
        assert body["log"][-1]["event"] == "hand_back"
    assert count(sessions, Ticket) == 8


async def test_ticket_with_idempotency_key_is_created_once(api, sessions):
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = await api.post("/tickets", json=TICKET, headers=key)
    assert first.status_code == 201, first.text
    again = await api.post("/tickets", json=TICKET, headers=key)
    assert again.status_code == 200 and again.json()["number"] == first.json()["number"]
    concurrent_key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    answers = await asyncio.gather(*[api.post("/tickets", json=TICKET, headers=concurrent_key) for _ in range(6)])
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
    assert len({a.json()["number"] for a in answers}) == 1
    assert count(sessions, Ticket) == 2
    other = await api.post("/tickets", json={**TICKET, "title": "something else"}, headers=key)
    assert other.status_code == 422 and "Idempotency-Key" in other.text


async def test_service_request_and_incident_with_idempotency_key_are_created_once(api, sessions):
    key = {"Idempotency-Key": "sr-1"}
    body = {"unit_id": "TR-SBF", "details": {"kind": "functional_mailbox", "address": "bygglov",
                                             "function_description": "building permits", "owner_ref": "E1004"}}
    answers = [await api.post("/service-requests", json=body, headers=key) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 200, 200], answers[0].text
    assert count(sessions, ServiceRequest) == 1
    incident = {"kind": "outage", "title": "Network down", "started_at": "2026-03-02T08:00:00+01:00"}
    key = {"Idempotency-Key": "inc-1"}
    answers = await asyncio.gather(*[api.post("/incidents", json=incident, headers=key) for _ in range(4)])
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201] and len({a.json()["id"] for a in answers}) == 1
    assert count(sessions, Incident) == 1
    with sessions() as s:  # rule AV-4: published once
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.topic == "operational_message")) == 2  # one per municipality
        assert s.scalar(select(func.count()).select_from(IdempotencyKey)) == 2


async def test_event_retried_with_the_same_idempotency_key_applies_once(api):
    await api.post("/orders", json={"order_number": "ORD-FD-EV", "model_code": "LAT-5450", "unit_id": "UL-KS",
                                    "user_ref": "E2101"})
    deliver = {"action": {"event": "deliver", "serial_number": "S-FD"}}
    key = {"Idempotency-Key": "deliver-ORD-FD-EV"}
    first = await api.post("/devices/ORD-FD-EV/events", json=deliver, headers=key)
    again = await api.post("/devices/ORD-FD-EV/events", json=deliver, headers=key)
    assert first.status_code == again.status_code == 200, again.text
    assert [r["event"] for r in again.json()["log"]].count("deliver") == 1
    without = await api.post("/devices/ORD-FD-EV/events", json=deliver)
    assert without.status_code == 409  # a new attempt without the key is a new event


async def test_gv1_yearly_round_for_a_year_without_framework_is_422_and_starts_nothing(api, client):
    response = await asyncio.wait_for(api.post("/framework/yearly-rounds", json={"year": 2010}), 10)
    assert response.status_code == 422 and "year" in response.json()["detail"]
    with pytest.raises(RPCError):
        await client.get_workflow_handle("framework-yearly-round-2010").describe()


async def test_lookup_error_in_an_activity_is_not_retried(client, worker, settings):
    """The round's activity raises LookupError (no framework version): the workflow fails at once."""
    with pytest.raises(WorkflowFailureError) as failure:
        await asyncio.wait_for(client.execute_workflow(
            FrameworkYearlyRoundWorkflow.run, RoundStart(year=2010), id=f"round-{uuid.uuid4()}",
            task_queue=settings.temporal_task_queue), 20)
    assert "LookupError" in repr(failure.value.cause) or "LookupError" in str(failure.value.cause.cause)


def test_tk7_hand_back_at_creation_on_the_dev_server_is_201_every_time(shared_stack):
    """Where it failed (about half the calls, "workflow update was aborted by closing workflow"): a real
    dev server, the API in uvicorn; and a retry with the same Idempotency-Key gives the same ticket."""
    import httpx

    from db.session import make_sessionmaker

    stack = shared_stack
    sessions = make_sessionmaker(f"sqlite:///{stack.db}")
    add_device(sessions, "ORD-FD-CB2", "CB-314")
    body = {"unit_id": "TR-BUF", "reporter_ref": "E1100", "title": "Printing", "device_order_number": "ORD-FD-CB2",
            "matter": "printing"}
    with httpx.Client(base_url=f"{stack.base}/api/v1", headers=stack.bearer("it.anna"), timeout=30) as http:
        numbers = []
        for i in range(10):
            response = http.post("/tickets", json=body, headers={"Idempotency-Key": f"tk7-{i}"})
            assert response.status_code == 201, response.text
            assert response.json()["state"] == "handed_back"
            numbers.append(response.json()["number"])
        again = http.post("/tickets", json=body, headers={"Idempotency-Key": "tk7-0"})
        assert again.status_code == 200 and again.json()["number"] == numbers[0]
        assert again.json()["state"] == "handed_back"
    with sessions() as s:  # the stack is shared: count this device's tickets
        assert s.scalar(select(func.count()).select_from(Ticket).where(Ticket.device_order_number == "ORD-FD-CB2")) == 10
    sessions.kw["bind"].dispose()


async def test_without_update_with_start_the_path_starts_then_waits_and_still_answers_a_hand_back(
        api, sessions, monkeypatch):
    """Temporal before 1.28 (docker-compose's 1.25) may refuse Update-with-Start: start, then the Update,
    whose fallback reads the result of a process that ended at once (TK-7)."""
    from api import processes

    monkeypatch.setattr(processes, "_multi_operation", [False])
    order = {"order_number": "ORD-FD-2STEP", "model_code": "LAT-5450", "unit_id": "UL-KS", "user_ref": "E2101"}
    first, again = await api.post("/orders", json=order), await api.post("/orders", json=order)
    assert (first.status_code, again.status_code) == (201, 200) and again.json()["state"] == "called_off"
    add_device(sessions, "ORD-FD-CB3", "CB-314")
    for _ in range(4):
        response = await api.post("/tickets", json={"unit_id": "TR-BUF", "reporter_ref": "E1100", "title": "Printing",
                                                    "device_order_number": "ORD-FD-CB3", "matter": "printing"})
        assert response.status_code == 201 and response.json()["state"] == "handed_back", response.text
