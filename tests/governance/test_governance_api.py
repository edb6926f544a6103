"""The governance API through FastAPI to a real Temporal server and database: the framework's change
process and development cases (rules GV-1 … GV-4)."""
from __future__ import annotations

from datetime import timedelta

from domain.framework_changes import framework_workflow_id
from tests.helpers import local_now, until
from workflows.governance import FrameworkChangeWorkflow


async def test_gv1_gv2_framework_proposal_through_the_api(api, env, sessions, bearer):
    current = (await api.get("/framework/parameters")).json()
    assert current["id"] == "ramuppdrag-2022" and current["parameters"]["availability_target_percent"] == "99.1"
    today = (await local_now(env)).date()
    acute = {"kind": "acute", "proposal_id": "acute-api", "title": "Lagändring", "effective_from": str(today)}
    refused = await api.post("/framework/proposals", json=acute)
    assert refused.status_code == 422 and "GV-1" in refused.json()["detail"]
    created = await api.post("/framework/proposals", json={**acute, "law_reference": "SFS 2026:1"})
    assert created.status_code == 201 and created.json()["state"] == "in_preparation"
    events = "/framework/proposals/acute-api/events"
    # rule GV-2: each body's secretary records its own decision
    for secretary, action in (
            (bearer("sek.ifu", "it-forum-utveckling"),
             {"event": "forum_prepare", "decided_on": str(today), "minutes_ref": "IFU"}),
            (bearer("sek.isg", "it-styrgrupp"),
             {"event": "steering_approve", "decided_on": str(today), "minutes_ref": "ISG"}),
            (bearer("sek.ksu", "kommunstyrelsen-ulricehamn"),
             {"event": "board_approve", "municipality": "ulricehamn", "decided_on": str(today), "minutes_ref": "KS-U"}),
            (bearer("sek.kst", "kommunstyrelsen-tranemo"),
             {"event": "board_approve", "municipality": "tranemo", "decided_on": str(today), "minutes_ref": "KS-T"}),
            (bearer("sek.sn", "samverkansnamnd-it"),
             {"event": "committee_decide", "decided_on": str(today), "minutes_ref": "SN"})):
        response = await api.post(events, json={"action": action}, headers=secretary)
        assert response.status_code == 200, response.text
    handle = env.client.get_workflow_handle(framework_workflow_id("acute-api"))
    state = await until(handle, FrameworkChangeWorkflow.view, lambda v: v.state == "in_force")
    assert state.state == "in_force"  # effective today: in force at once (GV-1)
    decisions = (await api.get("/framework/proposals/acute-api/decisions")).json()
    assert [(d["body"], d["minutes_ref"]) for d in decisions] == [
        ("it-forum utveckling", "IFU"), ("it-styrgrupp", "ISG"), ("kommunstyrelsen ulricehamn", "KS-U"),
        ("kommunstyrelsen tranemo", "KS-T"), ("samverkansnämnd it", "SN")]
    history = (await api.get(f"/governance-processes/{framework_workflow_id('acute-api')}/history")).json()
    assert history[0]["event"] == "open" and history[-1]["event"] == "take_effect"
    assert {h["rule"] for h in history} == {"GV-1", "GV-2"}


async def test_gv3_gv4_development_cases_through_the_api(api, env, bearer):
    today = (await local_now(env)).date()  # the workflow's day (local time), not the machine's time zone's
    pilot = {"case_id": "DEV-API-1", "title": "Ny smartphone-modell", "kind": "pilot", "unit_id": "TR-KS",
             "estimated_cost": "0", "callable_off_within_procured_agreements": True}
    response = await api.post("/development-cases", json=pilot)
    assert response.status_code == 422 and "GV-4" in response.text and "ordinary assignment" in response.text
    large = {"case_id": "DEV-API-2", "title": "Nytt ekonomisystem", "kind": "new_system_setup", "unit_id": "UL-KS",
             "estimated_cost": "2500000.00"}
    created = await api.post("/development-cases", json=large)
    assert created.status_code == 201 and created.json()["state"] == "at_steering_group"
    tomorrow = await api.post("/development-cases/DEV-API-2/events", headers=bearer("sek.isg", "it-styrgrupp"),
                              json={"action": {"event": "prioritise", "decided_on": str(today + timedelta(days=2)),
                                               "minutes_ref": "ISG § 3", "priority": 1}})
    assert tomorrow.status_code == 409 and "GV-3" in tomorrow.json()["detail"] and "future" in tomorrow.json()["detail"]
    decided = await api.post("/development-cases/DEV-API-2/events", headers=bearer("sek.isg", "it-styrgrupp"),
                             json={"action": {"event": "prioritise", "decided_on": str(today),
                                              "minutes_ref": "ISG § 3", "priority": 1}})
    assert decided.json()["state"] == "approved" and decided.json()["priority"] == 1
    rows = (await api.get("/development-cases", params={"state": "approved"})).json()
    assert [r["subject"] for r in rows] == ["DEV-API-2"]


async def test_gv2_eq1_proposal_with_price_for_unknown_model_is_422(api):
    response = await api.post("/framework/proposals", json={
        "proposal_id": "acute-bad-price", "kind": "acute", "title": "Nya priser", "law_reference": "SFS 2026:1",
        "effective_from": "2027-03-01",
        "equipment_prices": [{"year": 2027, "model_code": "NOPE-1", "monthly_rent": "1.00"}]})
    assert response.status_code == 422 and "equipment_prices" in response.json()["detail"]
    assert "NOPE-1" in response.json()["detail"]
