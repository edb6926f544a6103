"""Issue 20: bad input that gave a 500 or a workflow task failing forever is a 4xx naming the field, and no
input wedges a workflow. One test per finding."""
from __future__ import annotations

import asyncio
import base64
import json
import uuid

import pytest
from temporalio.client import WorkflowFailureError

from domain.common import RoundStart
from workflows.governance import FrameworkYearlyRoundWorkflow


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict) -> str:
    """A token whose header carries any text (as UTF-8), unsigned: refused before any key is looked at."""
    head = _b64(json.dumps(header, ensure_ascii=False).encode())
    return f"{head}.{_b64(b'{}')}.{_b64(b'sig')}"


async def test_token_header_with_non_latin1_alg_or_kid_is_401(api):
    for header in ({"alg": "RS256\u2603", "kid": "k"}, {"alg": "RS256", "kid": "nyckel-\u4e2d\u6587"},
                   {"alg": "\u00e5\u00e4\u00f6\"\r\nX-Injected: 1", "kid": "k"}):
        answer = await api.get("/tickets", headers={"Authorization": f"Bearer {forged(header)}"})
        assert answer.status_code == 401, (header, answer.text)
        assert answer.headers["www-authenticate"].isascii() and "X-Injected" not in answer.headers
        assert "x-injected" not in {name.lower() for name in answer.headers}


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/xml"])
async def test_non_json_content_type_on_a_body_route_is_4xx(api, content_type):
    body = json.dumps({"unit_id": "TR-KS", "reporter_ref": "E5001", "title": "Skrivaren"}).encode()
    answer = await api.post("/tickets", content=body, headers={"Content-Type": content_type})
    assert answer.status_code in (415, 422), (content_type, answer.status_code, answer.text)


async def test_audit_trail_and_archive_offset_1e20_is_422(api):
    for path in ("/audit/trail", "/audit/archive"):
        answer = await api.get(path, params={"offset": "1e20"})
        assert answer.status_code == 422 and "offset" in answer.text, (path, answer.text)


async def test_audit_trail_since_and_until_at_the_ends_of_time_are_422(api):
    for name, value in (("since", "0001-01-01T00:00:00+14:00"), ("until", "9999-12-31T23:59:59-14:00")):
        answer = await api.get("/audit/trail", params={name: value})
        assert answer.status_code == 422 and name in answer.text, (name, answer.text)


async def test_framework_proposal_support_hours_closes_0_is_422(api):
    parameters = (await api.get("/framework/parameters")).json()["parameters"]
    parameters["support_hours"][0]["closes"] = 0
    answer = await api.post("/framework/proposals", json={
        "kind": "acute", "proposal_id": "acute-hours", "title": "Öppettider", "law_reference": "SFS 2026:2",
        "effective_from": "2099-01-01", "parameters": parameters})
    assert answer.status_code == 422 and "closes" in answer.text, answer.text


async def test_calendar_deadline_in_year_9999_is_422(api):
    for at in ("9999-12-31T12:00:00", "0001-01-01T00:00:00+14:00"):
        answer = await api.get("/calendar/deadline", params={"reported_at": at})
        assert answer.status_code == 422 and "reported_at" in answer.text, (at, answer.text)


async def test_yearly_round_2100_is_422_and_the_round_itself_fails_cleanly(api, env, settings):
    answer = await api.post("/framework/yearly-rounds", json={"year": 2100})
    assert answer.status_code == 422 and "year" in answer.json()["detail"], answer.text
    # started past the API (a Schedule, a script): the workflow fails with the reason, its task does not loop
    handle = await env.client.start_workflow(FrameworkYearlyRoundWorkflow.run, RoundStart(year=2100),
                                             id=f"round-wedge-{uuid.uuid4()}", task_queue=settings.temporal_task_queue)
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), 60)
    assert "2101" in str(failed.value.cause) or "year" in str(failed.value.cause)


async def test_billing_export_period_with_other_text_is_422_and_refused_attempts_status_is_bounded(api, bearer):
    """Found by schemathesis (issue 20): the period named the file in a header; a status beyond 64 bits."""
    economy = bearer("eko.eva", "economy")
    odd = await api.get("/billing/tranemo/%13%F1%AC%84%80%C2%A0%13H/export.csv", headers=economy)
    assert odd.status_code == 422 and "period" in odd.text, odd.text
    assert (await api.get("/billing/tranemo/2026-T3/export.csv", headers=economy)).status_code == 200
    for params in ({"status": "1288813901156025488113664"}, {"since": "0001-01-01T00:00:00+14:00"}):
        answer = await api.get("/security/refused-attempts", params=params)
        assert answer.status_code == 422 and next(iter(params)) in answer.text, answer.text
