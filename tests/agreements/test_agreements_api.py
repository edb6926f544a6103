"""The agreement API through FastAPI to a real Temporal server and database (rules AG-1 … AG-8)."""
from __future__ import annotations

from datetime import date, timedelta

from domain.agreements import agreement_workflow_id
from tests.agreements.helpers import coming_year_with_room, content, sleep_to_new_year
from tests.helpers import local_now, until
from workflows.agreements import AgreementWorkflow


def new_agreement(agreement_id: str, **extra) -> dict:
    return content(agreement_id, **extra).model_dump(mode="json")


async def test_ag1_ag2_draw_up_through_the_api_both_approve(api, env, bearer):
    created = await api.post("/agreements", json=new_agreement("APP-API-1"))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["state"] == "proposed" and body["proposal"]["total"] == "24650.00"
    assert body["allowed_events"] == ["approve", "reject", "revise", "cancel"]
    assert body["sketch_mermaid"].startswith("flowchart LR")
    again = await api.post("/agreements", json=new_agreement("APP-API-1"))
    assert again.status_code == 200 and again.json()["workflow_id"] == "agreement-APP-API-1"

    approve = {"action": {"event": "approve", "party": "system_owner"}}
    refused = await api.post("/agreements/APP-API-1/drawing-up/events", json=approve)  # it.anna: IT, not the owner
    assert refused.status_code == 403 and "system-owner" in refused.json()["detail"]
    not_theirs = await api.post("/agreements/APP-API-1/drawing-up/events", json=approve,
                                headers=bearer("E2003", "system-owner"))
    assert not_theirs.status_code == 403 and "own system owner" in not_theirs.json()["detail"]
    owner = await api.post("/agreements/APP-API-1/drawing-up/events", json=approve,
                           headers=bearer("E1003", "system-owner"))
    assert owner.status_code == 200 and owner.json()["state"] == "proposed"
    done = await api.post("/agreements/APP-API-1/drawing-up/events",
                          json={"action": {"event": "approve", "party": "it"}})
    assert done.json()["state"] == "approved"
    year = (await local_now(env)).year + 1  # rule AG-6: from the coming year
    assert done.json()["effective_at"].startswith(f"{year}-01-01T00:00:00")


async def test_ag1_ag2_incomplete_agreements_are_422_naming_the_rule(api):
    light = new_agreement("APP-API-2", variant="light", description=None, sketch=None,
                          application_kind="integration", it_responsibilities=[], unit_responsibilities=[])
    light["application_kind"] = "application"
    response = await api.post("/agreements", json=light)
    assert response.status_code == 422 and "AG-1" in response.text
    full = new_agreement("APP-API-3")
    full["sketch"] = None
    response = await api.post("/agreements", json=full)
    assert response.status_code == 422 and "AG-2" in response.text
    unknown = new_agreement("APP-API-4", cost_lines=[dict(component="communication", quantity="1",
                                                          service_code="svc-nope")])
    response = await api.post("/agreements", json=unknown)
    assert response.status_code == 422 and "svc-nope" in response.json()["detail"]
    assert (await api.post("/agreements", json=new_agreement("APP-TRESERVA"))).status_code == 409


async def test_ag4_revision_through_the_api_then_versions_compared(api, env, bearer):
    now = await local_now(env)
    year = coming_year_with_room(now)
    started = await api.post("/agreements/APP-TRESERVA/revisions", json={"for_year": year})
    assert started.status_code == 201 and started.json()["state"] == "convened"
    events = f"/agreements/APP-TRESERVA/revisions/{year}/events"
    meeting = {"event": "record_meeting", "held_on": str(now.date()), "participants": ["it.anna", "E2003"],
               "changes": {"cost_lines": [{"component": "server", "quantity": "3"},
                                          {"component": "database", "quantity": "1"},
                                          {"component": "storage", "quantity": "250"},
                                          {"component": "backup", "quantity": "250"},
                                          {"component": "support", "quantity": "40"}]}}
    proposed = await api.post(events, json={"action": meeting})
    assert proposed.status_code == 200, proposed.text
    assert proposed.json()["proposal"]["total"] == "70312.50"  # one more server: 60712.50 + 9600
    await api.post(events, json={"action": {"event": "approve", "party": "it"}})
    await api.post(events, json={"action": {"event": "approve", "party": "system_owner"}}, headers=bearer("E2003", "system-owner"))
    await sleep_to_new_year(env, year)
    handle = env.client.get_workflow_handle(agreement_workflow_id("APP-TRESERVA", "revision", year))
    assert (await until(handle, AgreementWorkflow.view, lambda v: v.state == "effective")).state == "effective"

    versions = (await api.get("/agreements/APP-TRESERVA/versions")).json()
    assert [(v["version"], v["effective_from"]) for v in versions] == [(1, "2026-01-01"), (2, f"{year}-01-01")]
    diff = (await api.get("/agreements/APP-TRESERVA/versions/compare", params={"base": 1, "other": 2})).json()
    assert [(line["item"], line["quantity_before"], line["quantity_after"]) for line in diff["lines"]
            if line["change"] != "unchanged"] == [("server", "2.000", "3.000")]
    assert diff["total_delta"] == "9600.00"
    assert (await api.get("/agreements/APP-TRESERVA/versions/compare", params={"base": 1, "other": 9})).status_code == 404
    sketch = await api.get("/agreements/APP-TRESERVA/versions/2/sketch")
    assert sketch.status_code == 200 and "klient -->|HTTPS| app" in sketch.text
    rows = (await api.get("/agreement-revisions", params={"for_year": year})).json()
    assert [(r["subject"], r["state"]) for r in rows] == [("APP-TRESERVA", "effective")]


async def test_ag3_ag5_ag6_price_list_and_what_a_unit_pays(api, env, sessions):
    seed = await api.get("/application-prices/2026")
    assert seed.json()["items"]["storage"]["unit_price"] == "12.50"
    assert (await api.put("/application-prices/2020", json=[])).status_code == 409  # rule AG-5: a closed year
    year = (await local_now(env)).year + 1
    updated = await api.put(f"/application-prices/{year}", json=[
        {"item": "support", "component": "support", "unit": "hour", "unit_price": "800.00"}])
    assert updated.status_code == 200 and updated.json()["items"]["support"]["year"] == year
    assert updated.json()["items"]["server"]["year"] == 2026  # carried forward until decided

    paid = (await api.get("/units/UL-VOF/application-charges/2026")).json()
    assert [(c["agreement_id"], c["cost"]["total"]) for c in paid["charges"]] == [("APP-TRESERVA", "60712.50")]
    # rule AG-3 with the new year's support price: 60712.50 − 40×780 + 40×800
    assert (await api.get(f"/units/UL-VOF/application-charges/{year}")).json()["total"] == "61512.50"
    assert (await api.get("/units/UL-VOF/application-charges/2025")).json()["charges"] == []
    # rule AG-6: terminated this year → not charged from the coming year
    terminated = await api.post("/agreements/APP-TRESERVA/terminate",
                                json={"terminated_on": str(date(year - 1, 12, 1)), "reason": "replaced"})
    assert terminated.status_code == 200 and terminated.json()["status"] == "terminated"
    assert (await api.get(f"/units/UL-VOF/application-charges/{year}")).json()["charges"] == []
    assert (await api.get(f"/units/UL-VOF/application-charges/{year - 1}")).json()["total"] == "60712.50"
    again = await api.post("/agreements/APP-TRESERVA/revisions", json={"for_year": year})
    assert again.status_code == 409 and "AG-6" in again.json()["detail"]


async def test_ag7_service_and_ag8_cloud_move_through_the_api(api, env):
    delivery = {"service_code": "svc-print-follow", "name": "Follow me print",
                "agreement": new_agreement("APP-FOLLOW", cost_lines=[
                    {"component": "support_tools", "quantity": "12", "service_code": "svc-print-follow"}])}
    created = await api.post("/services", json=delivery)
    assert created.status_code == 201 and created.json()["state"] == "awaiting_description"
    described = await api.post("/services/svc-print-follow/events", json={"action": {
        "event": "describe", "description": "Utskrift på valfri skrivare med passerkort", "component": "support_tools",
        "unit": "printer"}})
    assert described.json()["state"] == "awaiting_price"
    listed = (await api.get("/services")).json()
    assert [(s["code"], s["status"]) for s in listed] == [("svc-print-follow", "awaiting_price")]

    move = await api.post("/cloud-moves", json={"case_id": "CM-API", "application": "Bokningssystem",
                                                 "unit_id": "UL-SBF", "system_owner_ref": "E2004",
                                                 "supplier": "Moln AB"})
    assert move.status_code == 201 and move.json()["missing"] == [
        "classification", "security_analysis", "legal_review", "cost_analysis"]
    early = await api.post("/cloud-moves/CM-API/events", json={"action": {
        "event": "approve_move", "decided_on": "2026-12-01"}})
    assert early.status_code == 409 and "approve_move" in early.json()["detail"]
    assert (await api.get("/cloud-moves/CM-NONE")).status_code == 404


async def test_ag6_coming_year_includes_an_approved_new_agreement_marked_provisional(api, env):
    created = await api.post("/agreements", json=content("APP-AG6-NEW").model_dump(mode="json"))
    assert created.status_code == 201, created.text
    events = "/agreements/APP-AG6-NEW/drawing-up/events"
    owner = await api.post(events, json={"action": {"event": "approve", "party": "system_owner"}},
                           headers=api.bearer("E1003", "system-owner"))
    assert owner.status_code == 200, owner.text
    done = await api.post(events, json={"action": {"event": "approve", "party": "it"}})
    assert done.json()["state"] == "approved"
    year = (await local_now(env)).year + 1
    charges = (await api.get(f"/units/TR-SOC/application-charges/{year}")).json()
    coming = [c for c in charges["charges"] if c["agreement_id"] == "APP-AG6-NEW"]
    assert len(coming) == 1 and coming[0]["provisional"] is True and coming[0]["version"] == 1
    assert charges["provisional"] is True and charges["total"] == coming[0]["cost"]["total"]
    # not charged this year (AG-6: from the coming year)
    this_year = (await api.get(f"/units/TR-SOC/application-charges/{year - 1}")).json()
    assert all(c["agreement_id"] != "APP-AG6-NEW" for c in this_year["charges"])


async def test_ag4_meeting_dated_in_the_future_is_refused_and_changes_nothing(api, env):
    """Rule AG-4: the revision meeting is recorded once it has been held (as GV-2's decisions are)."""
    now = await local_now(env)
    year = coming_year_with_room(now)
    assert (await api.post("/agreements/APP-TRESERVA/revisions", json={"for_year": year})).status_code == 201
    events = f"/agreements/APP-TRESERVA/revisions/{year}/events"
    ahead = {"event": "record_meeting", "held_on": str(now.date() + timedelta(days=1)), "participants": ["it.anna"]}
    refused = await api.post(events, json={"action": ahead})
    assert refused.status_code == 409, refused.text
    assert "held_on" in refused.json()["detail"] and "AG-4" in refused.json()["detail"]
    assert "future" in refused.json()["detail"]
    revision = (await api.get(f"/agreements/APP-TRESERVA/revisions/{year}")).json()
    assert revision["state"] == "convened" and [line["event"] for line in revision["log"]] == ["convene"]
    held = await api.post(events, json={"action": {**ahead, "held_on": str(now.date())}})
    assert held.status_code == 200 and held.json()["state"] == "proposed"
