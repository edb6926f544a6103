"""Issue 11, done when: an auditor finds a device that closed years after its order (time-skipping
server), reads why each step happened, sees the refused attempt, exports the bundle and replays it."""
from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from datetime import timedelta

from scripts.replay_bundle import replay_bundle
from tests.equipment.helpers import until_state


async def close_a_device_years_later(api, env, order: str) -> None:
    created = await api.post("/orders", json={"order_number": order, "model_code": "LAT-5450", "unit_id": "TR-KS",
                                              "user_ref": "E5001"})
    assert created.status_code == 201, created.text
    await api.post(f"/devices/{order}/events", json={"action": {"event": "deliver", "serial_number": "SN-AUD"}})
    refused = await api.post(f"/devices/{order}/events", json={"action": {"event": "sell", "buyer": "x", "price": "1"}},
                             headers=api.bearer("it.bertil", "it-staff"))
    assert refused.status_code == 409
    await env.sleep(timedelta(days=48 * 31))  # rule EQ-5: the renewal timer orders the replacement
    assert (await until_state(api, order, "renewal_due"))["state"] == "renewal_due"
    await api.post(f"/devices/{order}-R1/events", json={"action": {"event": "deliver", "serial_number": "SN-AUD2"}})
    assert (await until_state(api, order, "returned"))["state"] == "returned"
    for action in ({"event": "send_to_erasure", "vendor": "Inrego AB"},
                   {"event": "record_erasure", "vendor": "Inrego AB", "certificate_id": "INR-AUD-1"},
                   {"event": "dispose"}):
        answer = await api.post(f"/devices/{order}/events", json={"reason": "worn out", "action": action})
        assert answer.status_code == 200, answer.text


async def test_auditor_finds_closed_device_reads_why_exports_and_replays(api, env):
    await close_a_device_years_later(api, env, "ORD-AUDIT-1")
    workflow_id = "device-ORD-AUDIT-1"
    # the archive row is written by the closing workflow itself
    for _ in range(100):
        archived = (await api.get("/audit/archive", params={"business_key": "ORD-AUDIT-1"})).json()
        if archived:
            break
        await asyncio.sleep(0.05)
    assert [(a["workflow_type"], a["reason"]) for a in archived] == [("DeviceLifecycle", "closed")]

    auditor = api.bearer("rev.eva", "auditor")  # reads everything, changes nothing
    found = (await api.get("/audit/trail", params={"process": "equipment", "municipality": "tranemo",
                                                    "event": "dispose"}, headers=auditor)).json()
    assert [i["business_key"] for i in found["items"]] == ["ORD-AUDIT-1"] and found["total"] == 1
    log = (await api.get(f"/audit/processes/{workflow_id}/transitions")).json()
    assert [(line["event"], line["rule"]) for line in log][-4:] == [
        ("replacement_delivered", "EQ-5"), ("send_to_erasure", "EQ-12"), ("record_erasure", "EQ-12"),
        ("dispose", "EQ-10")]
    assert log[-1]["reason"] == "worn out" and log[-1]["actor"] == "it.anna" and log[-1]["hash"]
    assert int(log[-1]["at"][:4]) >= int(log[0]["at"][:4]) + 4  # closed years after its order

    [refusal] = (await api.get(f"/audit/processes/{workflow_id}/refusals")).json()
    assert (refusal["event"], refusal["actor"], refusal["status"]) == ("sell", "it.bertil", 409)
    assert "EQ-12" in refusal["message"]

    diagram = (await api.get(f"/audit/processes/{workflow_id}/diagram")).json()
    assert diagram["current_state"] == "disposed" and "class disposed current" in diagram["mermaid"]

    history = (await api.get(f"/audit/processes/{workflow_id}/history", params={"source": "archive"})).json()
    [run] = history["runs"]
    started = run["history"]["events"][0]["workflowExecutionStartedEventAttributes"]
    assert started["input"]["payloads"][0]["decoded"]["order"]["order_number"] == "ORD-AUDIT-1"

    bundle = (await api.get(f"/audit/processes/{workflow_id}/bundle", headers=auditor)).json()
    assert bundle["current_state"] == "disposed" and bundle["chain"]["intact"]
    assert len(bundle["refused_attempts"]) == 1 and len(bundle["transitions"]) == len(log)
    assert [failure for _, failure in await replay_bundle(bundle)] == [None]
    assert (await api.get("/audit/verify", headers=auditor)).json()["intact"]
    as_staff = await api.get(f"/audit/processes/{workflow_id}/bundle", headers=api.bearer("it.bo", "it-staff"))
    assert as_staff.status_code == 403  # the auditors' workspace: auditor and IT admin only


async def test_audit_trail_pages_and_exports_csv_and_json_lines(api):
    for n in (1, 2):
        await api.post("/orders", json={"order_number": f"ORD-TRAIL-{n}", "model_code": "LAT-5450",
                                        "unit_id": "TR-KS" if n == 1 else "UL-KS", "user_ref": "E5001"})
    page = (await api.get("/audit/trail", params={"limit": 2, "offset": 1})).json()
    assert page["total"] == 4 and len(page["items"]) == 2  # order + call_off per device
    by_unit = (await api.get("/audit/trail", params={"unit": "UL-KS", "rule": "EQ-2"})).json()["items"]
    assert [(i["business_key"], i["event"]) for i in by_unit] == [("ORD-TRAIL-2", "call_off")]
    exported = await api.get("/audit/trail", params={"format": "csv", "actor": "it.anna"})
    assert exported.headers["content-type"].startswith("text/csv")
    # issue 23: for Swedish Excel — a BOM, `;`-separated, local time
    assert exported.content.startswith(b"\xef\xbb\xbf") and exported.text.splitlines()[0].count(";") > 3
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff")), delimiter=";"))
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", r["at"]) for r in rows)
    assert {(r["business_key"], r["event"]) for r in rows} == {("ORD-TRAIL-1", "order"), ("ORD-TRAIL-2", "order")}
    lines = (await api.get("/audit/trail", params={"format": "jsonl", "municipality": "ulricehamn"})).text.splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["order", "call_off"]
    await api.post("/devices/ORD-TRAIL-1/events", json={"reason": "=HYPERLINK(\"http://x\")", "action": {"event": "cancel"}})
    exported = await api.get("/audit/trail", params={"format": "csv", "event": "cancel"})
    [row] = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff")), delimiter=";"))
    assert row["reason"] == "'=HYPERLINK(\"http://x\")"  # a spreadsheet shows it, never runs it
    late = await api.get("/audit/trail", params={"since": "2026-01-01T00:00:00"})
    assert late.status_code == 422 and "since" in late.json()["detail"]


async def test_consistency_check_reports_drift_between_mirror_and_workflow_log(api, sessions):
    from sqlalchemy import text

    await api.post("/orders", json={"order_number": "ORD-DRIFT-1", "model_code": "LAT-5450", "unit_id": "TR-KS",
                                    "user_ref": "E5001"})
    report = (await api.get("/audit/processes/device-ORD-DRIFT-1/consistency")).json()
    assert report["consistent"] and report["workflow_lines"] == report["mirror_lines"] == 2
    with sessions() as s:  # someone edits the register directly
        s.execute(text("UPDATE device_transitions SET rule = 'EQ-99' WHERE order_number = 'ORD-DRIFT-1' AND seq = 2"))
        s.execute(text("DELETE FROM device_transitions WHERE order_number = 'ORD-DRIFT-1' AND seq = 1"))
        s.commit()
    drift = (await api.get("/audit/processes/device-ORD-DRIFT-1/consistency")).json()["drift"]
    assert [(d["seq"], d["problem"]) for d in drift] == [(1, "missing from the database mirror"), (2, "rule differs")]
    assert (drift[1]["workflow"], drift[1]["mirror"]) == ("EQ-2", "EQ-99")
    assert (await api.get("/audit/processes/device-NOPE/consistency")).status_code == 404


async def test_eq11_forbidden_buyout_answer_is_kept_as_a_refused_attempt(api):
    order = "ORD-AUD-403"
    await api.post("/orders", json={"order_number": order, "model_code": "LAT-5450", "unit_id": "TR-KS",
                                    "user_ref": "E5001"})
    await api.post(f"/devices/{order}/events", json={"action": {"event": "deliver", "serial_number": "S1"}})
    await api.post(f"/devices/{order}/events", json={"action": {"event": "renew_now"}})
    for _ in range(100):
        answer = await api.post(f"/devices/{order}-R1/events", json={"action": {"event": "deliver", "serial_number": "S2"}})
        if answer.status_code == 200:
            break
        await asyncio.sleep(0.05)
    assert (await until_state(api, order, "returned"))["state"] == "returned"
    await api.post(f"/devices/{order}/events", json={"action": {"event": "offer_buyout", "price": "1500.00"}})
    forbidden = await api.post(f"/devices/{order}/events", json={"action": {"event": "accept_buyout"}},
                               headers=api.bearer("E9999", "employee"))
    assert forbidden.status_code == 403
    refusals = (await api.get(f"/audit/processes/device-{order}/refusals")).json()
    assert [(r["actor"], r["event"], r["status"]) for r in refusals][-1] == ("E9999", "accept_buyout", 403)
    assert "EQ-11" in refusals[-1]["message"]


async def test_command_on_a_closed_ticket_is_kept_as_a_refused_attempt(api):
    created = await api.post("/tickets", json={"unit_id": "TR-KS", "reporter_ref": "E5001", "title": "Printer jam"})
    number = created.json()["number"]
    await api.post(f"/tickets/{number}/events", json={"action": {"event": "resolve", "resolution": "cleared"}})
    await api.post(f"/tickets/{number}/events", json={"action": {"event": "close"}})
    for _ in range(100):
        late = await api.post(f"/tickets/{number}/events", json={"action": {"event": "reopen"}},
                              headers=api.bearer("it.cecilia", "it-staff"))
        if late.status_code == 409:
            break
        await asyncio.sleep(0.05)
    assert late.status_code == 409
    [refusal] = (await api.get(f"/audit/processes/ticket-{number}/refusals")).json()[-1:]
    assert (refusal["actor"], refusal["event"], refusal["status"]) == ("it.cecilia", "reopen", 409)
    assert refusal["message"] == late.json()["detail"]
