"""Reorganisations (issue 22, part 3; rules EQ-7, EQ-8): units are reference data with a history kept by
it-admin; a merge moves the unit's devices (each its own `reassign` event, charged to the new unit from the
merge date; earlier charges stay with the old unit) and open tickets, as the durable process `reorg-<id>`;
IT staff move devices and tickets in bulk with a result per item."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select
from temporalio.client import Client

from db.models import Charge
from db.reorganisation_queries import name_on
from domain.reorganisations import ReorgOutcome
from tests.helpers import sleep_until
from tests.people.test_leavers_movers import in_use


def today() -> date:
    return datetime.now(timezone.utc).date()


def recurring(sessions, number: str) -> dict[str, tuple[date, date | None]]:
    with sessions() as s:
        return {c.unit_id: (c.starts_on, c.ends_on) for c in s.scalars(
            select(Charge).where(Charge.order_number == number, Charge.recurring.is_(True)))}


async def test_eq7_eq8_merge_moves_devices_from_its_date_open_tickets_and_requests(api, env, client: Client, sessions):
    await in_use(api, "ORD-REORG-1", "E8001", unit_id="TR-SBF")
    await in_use(api, "ORD-REORG-2", "E8002", unit_id="TR-SBF")
    delivered_on = recurring(sessions, "ORD-REORG-1")["TR-SBF"][0]
    ticket = await api.post("/tickets", json={"unit_id": "TR-SBF", "reporter_ref": "E8001", "title": "Skrivaren",
                                              "support_level": "managed"})
    assert ticket.status_code == 201, ticket.text
    request = await api.post("/service-requests", headers=api.bearer("E1004", "unit-manager", unit="TR-SBF"), json={
        "number": "SR-REORG-0001", "unit_id": "TR-SBF", "details": {
            "kind": "non_employee_account", "holder": "Konsult Ek", "organisation": "Konsult AB",
            "valid_until": (today() + timedelta(days=200)).isoformat()}})
    assert request.status_code == 201, request.text
    on = today() + timedelta(days=2)

    merged = await api.post("/units/TR-SBF/merge-into/TR-KS", json={"on": on.isoformat(), "reason": "KF 2026-11"})
    assert merged.status_code == 202, merged.text
    assert merged.json()["closed_on"] == on.isoformat() and merged.json()["merged_into"] == "TR-KS"
    again = await api.post("/units/TR-SBF/merge-into/TR-KS", json={"on": on.isoformat(), "reason": "KF 2026-11"})
    assert again.status_code == 202 and again.json()["workflow_id"] == merged.json()["workflow_id"]
    device = (await api.get("/devices/ORD-REORG-1")).json()
    assert device["cost_bearer_unit_id"] == "TR-SBF"  # nothing moves before the merge date

    await sleep_until(env, datetime.combine(on, time(), timezone.utc))  # the merge date comes
    outcome = await client.get_workflow_handle(merged.json()["workflow_id"], result_type=ReorgOutcome).result()
    assert [(d.key, d.outcome) for d in outcome.devices] == [("ORD-REORG-1", "moved"), ("ORD-REORG-2", "moved")]
    assert [(t.key, t.outcome) for t in outcome.tickets] == [(ticket.json()["number"], "moved"),
                                                             ("SR-REORG-0001", "moved")]
    assert outcome.agreements_to_revise == []  # rule AG-4: none owned by TR-SBF here
    device = (await api.get("/devices/ORD-REORG-1")).json()
    assert device["unit_id"] == device["cost_bearer_unit_id"] == "TR-KS"
    reassign = device["log"][-1]  # recorded in the device's own log
    assert reassign["event"] == "reassign" and reassign["actor"] == "it.anna" and "TR-SBF merged" in reassign["reason"]
    # rule EQ-8: the old unit's charge (its invoice bases) ends the merge day, the new one's begins then
    assert recurring(sessions, "ORD-REORG-1") == {"TR-SBF": (delivered_on, on), "TR-KS": (on, None)}
    listed = (await api.get("/tickets", params={"unit_id": "TR-KS"})).json()
    assert ticket.json()["number"] in [t["number"] for t in listed]
    changes = (await api.get("/reference-changes")).json()
    assert {(c["entity"], c["key"]) for c in changes} >= {("unit", "TR-SBF"), ("ticket_unit", ticket.json()["number"]),
                                                           ("service_request_unit", "SR-REORG-0001")}
    closed = await api.post("/devices/bulk-reassign", json={"order_numbers": ["ORD-REORG-1"], "unit_id": "TR-SBF",
                                                            "reason": "tillbaka"})
    assert closed.status_code == 409 and "unit_id" in closed.text


async def test_merge_refuses_backdating_another_municipality_and_a_second_target(api):
    past = (today() - timedelta(days=1)).isoformat()
    backdated = await api.post("/units/TR-SBF/merge-into/TR-KS", json={"on": past, "reason": "x"})
    assert backdated.status_code == 422 and "on:" in backdated.text
    across = await api.post("/units/TR-SBF/merge-into/UL-KS", json={"on": today().isoformat(), "reason": "x"})
    assert across.status_code == 422 and "target" in across.text
    assert (await api.post("/units/TR-XX/merge-into/TR-KS", json={"on": past, "reason": "x"})).status_code == 404


async def test_rename_keeps_history_for_earlier_periods(api, sessions):
    renamed = await api.put("/units/TR-SOC", json={"name": "Omsorgsförvaltningen", "valid_from": today().isoformat(),
                                                   "reason": "KF beslut"})
    assert renamed.status_code == 200, renamed.text
    assert [h["name"] for h in renamed.json()["history"]] == ["Socialförvaltningen", "Omsorgsförvaltningen"]
    units = {u["id"]: u for u in (await api.get("/units")).json()}
    assert units["TR-SOC"]["name"] == "Omsorgsförvaltningen"
    with sessions() as s:  # an invoice basis of an earlier period shows the name then
        assert name_on(s, "TR-SOC", today() - timedelta(days=40)) == "Socialförvaltningen"
        assert name_on(s, "TR-SOC", today()) == "Omsorgsförvaltningen"
    later = await api.put("/units/TR-SOC", json={"name": "Vård och omsorg", "reason": "KF beslut",
                                                  "valid_from": (today() + timedelta(days=30)).isoformat()})
    assert later.status_code == 200 and [h["valid_to"] for h in later.json()["history"]][-2] is not None
    units = {u["id"]: u for u in (await api.get("/units")).json()}
    assert units["TR-SOC"]["name"] == "Omsorgsförvaltningen"  # the later name shows from its day
    rewrite = await api.put("/units/TR-SOC", json={"name": "x", "valid_from": today().isoformat(), "reason": "x"})
    assert rewrite.status_code == 409 and "valid_from" in rewrite.text  # the history is not rewritten
    with sessions() as s:
        assert name_on(s, "TR-SOC", today() + timedelta(days=30)) == "Vård och omsorg"
    created = await api.post("/units", json={"id": "TR-OMS2", "municipality": "tranemo", "name": "Äldreomsorg",
                                             "valid_from": today().isoformat(), "reason": "delning"})
    assert created.status_code == 201 and created.json()["history"][0]["name"] == "Äldreomsorg"
    assert (await api.post("/units", json={"id": "TR-OMS2", "municipality": "tranemo", "name": "x",
                                           "valid_from": today().isoformat(), "reason": "x"})).status_code == 409
    changes = {(c["entity"], c["key"]) for c in (await api.get("/reference-changes")).json()}
    assert {("unit", "TR-SOC"), ("unit", "TR-OMS2")} <= changes


async def test_eq7_bulk_reassign_devices_per_item_results_and_idempotent(api, bearer):
    await in_use(api, "ORD-BULK-1", "E8101")
    await in_use(api, "ORD-BULK-2", "E8102")
    ordered = await api.post("/orders", json={"order_number": "ORD-BULK-3", "model_code": "LAT-5450",
                                              "unit_id": "TR-KS", "user_ref": "E8103"})
    assert ordered.status_code == 201  # not delivered: a move is refused (EQ-7: only delivered devices move)
    staff = bearer("it.bo", "it-staff", team="användarstöd")
    body = {"order_numbers": ["ORD-BULK-1", "ORD-BULK-2", "ORD-BULK-3", "ORD-NONE"], "unit_id": "TR-BUF",
            "reason": "omorganisation"}
    moved = await api.post("/devices/bulk-reassign", json=body, headers=staff | {"Idempotency-Key": "bulk-1"})
    assert moved.status_code == 200, moved.text
    results = {r["key"]: r for r in moved.json()}
    assert [results[n]["outcome"] for n in body["order_numbers"]] == ["moved", "moved", "refused", "refused"]
    assert "reassign" in results["ORD-BULK-3"]["detail"] and "ORD-NONE" in results["ORD-NONE"]["detail"]
    logs = {n: (await api.get(f"/devices/{n}")).json()["log"] for n in ("ORD-BULK-1", "ORD-BULK-2")}
    assert all(log[-1]["event"] == "reassign" and log[-1]["actor"] == "it.bo" for log in logs.values())
    again = await api.post("/devices/bulk-reassign", json=body, headers=staff | {"Idempotency-Key": "bulk-1"})
    assert again.status_code == 200 and {r["key"]: r["outcome"] for r in again.json()}["ORD-BULK-1"] != "refused"
    assert {n: (await api.get(f"/devices/{n}")).json()["log"] for n in logs} == logs  # nothing applied twice
    assert (await api.get("/devices/ORD-BULK-1")).json()["cost_bearer_unit_id"] == "TR-BUF"


async def test_bulk_reassign_tickets_moves_open_ones(api):
    ticket = await api.post("/tickets", json={"unit_id": "TR-KS", "reporter_ref": "E8201", "title": "Nätet",
                                              "support_level": "managed"})
    number = ticket.json()["number"]
    moved = await api.post("/tickets/bulk-reassign", json={"numbers": [number, "T-NONE"], "unit_id": "TR-BUF",
                                                           "reason": "omorganisation"})
    assert moved.status_code == 200, moved.text
    assert [(r["key"], r["outcome"]) for r in moved.json()] == [(number, "moved"), ("T-NONE", "refused")]
    again = await api.post("/tickets/bulk-reassign", json={"numbers": [number], "unit_id": "TR-BUF", "reason": "x"})
    assert [r["outcome"] for r in again.json()] == ["unchanged"]


async def test_only_it_admin_reorganises(api, bearer):
    staff = bearer("it.bo", "it-staff", team="användarstöd")
    manager = bearer("E1001", "unit-manager", unit="TR-KS")
    on = today().isoformat()
    assert (await api.post("/units/TR-SBF/merge-into/TR-KS", json={"on": on, "reason": "x"},
                           headers=staff)).status_code == 403
    assert (await api.put("/units/TR-SBF", json={"name": "x", "valid_from": on, "reason": "x"},
                          headers=staff)).status_code == 403
    assert (await api.post("/units", json={"id": "TR-N", "municipality": "tranemo", "name": "x", "valid_from": on,
                                           "reason": "x"}, headers=manager)).status_code == 403
    assert (await api.post("/devices/bulk-reassign", json={"order_numbers": ["X"], "unit_id": "TR-KS", "reason": "x"},
                           headers=manager)).status_code == 403
