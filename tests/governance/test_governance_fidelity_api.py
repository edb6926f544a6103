"""Rule fidelity through the API (issue 9): the framework's change process (GV-1, GV-2)."""
from __future__ import annotations

from datetime import date, timedelta

from domain.framework_changes import framework_workflow_id
from tests.agreements.helpers import sleep_to_new_year
from tests.helpers import local_now, until
from workflows.governance import FrameworkChangeWorkflow


def _params(year: int) -> dict:
    from domain.framework_changes import FrameworkParameters

    return FrameworkParameters(price_list_year=year).model_dump(mode="json")


# rule GV-2: each body's secretary records its own decision
SECRETARIES = {"forum_prepare": ("sek.ifu", "it-forum-utveckling"), "steering_approve": ("sek.isg", "it-styrgrupp"),
               "tranemo": ("sek.kst", "kommunstyrelsen-tranemo"),
               "ulricehamn": ("sek.ksu", "kommunstyrelsen-ulricehamn"),
               "committee_decide": ("sek.sn", "samverkansnamnd-it")}


def secretary(api, action: dict) -> dict[str, str]:
    return api.bearer(*SECRETARIES[action.get("municipality") or action["event"]])


async def _decide_chain(api, proposal_id: str, day: date, committee_day: date | None = None) -> dict:
    events = f"/framework/proposals/{proposal_id}/events"
    for action in ({"event": "forum_prepare"}, {"event": "steering_approve"},
                   {"event": "board_approve", "municipality": "tranemo"},
                   {"event": "board_approve", "municipality": "ulricehamn"}):
        response = await api.post(events, json={"action": {**action, "decided_on": str(day), "minutes_ref": "P § 1"}},
                                  headers=secretary(api, action))
        assert response.status_code == 200, response.text
    action = {"event": "committee_decide", "minutes_ref": "SN § 1", "decided_on": str(committee_day or day)}
    return await api.post(events, json={"action": action}, headers=secretary(api, action))


async def test_gv1_one_yearly_revision_per_year_a_second_is_refused_or_supersedes_explicitly(api, env):
    today = (await local_now(env)).date()
    year = today.year + 1
    first = await api.post("/framework/proposals", json={"kind": "yearly", "title": f"Ramuppdrag IT {year}",
                                                          "effective_from": str(date(year, 1, 1))})
    assert first.status_code == 201, first.text
    assert (await _decide_chain(api, f"yearly-{year}", today)).json()["state"] == "decided"
    second = {"proposal_id": f"yearly-{year}-b", "kind": "yearly", "title": f"Ramuppdrag IT {year} igen",
              "effective_from": str(date(year, 1, 1))}
    refused = await api.post("/framework/proposals", json=second)
    assert refused.status_code == 409 and "GV-1" in refused.json()["detail"]
    superseding = await api.post("/framework/proposals", json={**second, "supersedes": f"yearly-{year}"})
    assert superseding.status_code == 201, superseding.text
    assert (await _decide_chain(api, f"yearly-{year}-b", today)).json()["state"] == "decided"
    versions = {v["id"]: v["status"] for v in (await api.get("/framework/versions")).json()}
    assert versions[f"yearly-{year}"] == "superseded" and versions[f"yearly-{year}-b"] == "decided"
    in_force = (await api.get("/framework/parameters", params={"on": str(date(year, 1, 1))})).json()
    assert in_force["id"] == f"yearly-{year}-b"
    # on 1 January the superseded version never takes effect; the later one does
    await sleep_to_new_year(env, year)
    old = await until(env.client.get_workflow_handle(framework_workflow_id(f"yearly-{year}")),
                      FrameworkChangeWorkflow.view, lambda v: v.state != "decided")
    new = await until(env.client.get_workflow_handle(framework_workflow_id(f"yearly-{year}-b")),
                      FrameworkChangeWorkflow.view, lambda v: v.state != "decided")
    assert (old.state, old.log[-1].event, old.log[-1].rule) == ("superseded", "supersede", "GV-1")
    assert new.state == "in_force"
    versions = {v["id"]: v["status"] for v in (await api.get("/framework/versions")).json()}
    assert (versions[f"yearly-{year}"], versions[f"yearly-{year}-b"]) == ("superseded", "in_force")


async def test_gv2_decision_dates_follow_the_chain_and_are_not_in_the_future(api, env):
    today = (await local_now(env)).date()
    effective = today + timedelta(days=90)
    created = await api.post("/framework/proposals", json={
        "proposal_id": "acute-gv2-dates", "kind": "acute", "title": "Ändring", "law_reference": "SFS 2026:9",
        "effective_from": str(effective)})
    assert created.status_code == 201, created.text
    events = "/framework/proposals/acute-gv2-dates/events"
    future = await api.post(events, json={"action": {"event": "forum_prepare", "minutes_ref": "IFU 1",
                                                     "decided_on": str(today + timedelta(days=3))}},
                            headers=secretary(api, {"event": "forum_prepare"}))
    assert future.status_code == 409 and "GV-2" in future.json()["detail"] and "future" in future.json()["detail"]
    day = today - timedelta(days=20)
    for step, offset in (("forum_prepare", 0), ("steering_approve", 5)):
        ok = await api.post(events, json={"action": {"event": step, "minutes_ref": "x",
                                                     "decided_on": str(day + timedelta(days=offset))}},
                            headers=secretary(api, {"event": step}))
        assert ok.status_code == 200, ok.text
    for municipality, offset in (("ulricehamn", 10), ("tranemo", 8)):  # the boards in parallel, any order
        ok = await api.post(events, json={"action": {"event": "board_approve", "municipality": municipality,
                                                     "minutes_ref": "KS", "decided_on": str(day + timedelta(days=offset))}},
                            headers=secretary(api, {"event": "board_approve", "municipality": municipality}))
        assert ok.status_code == 200, ok.text
    committee = secretary(api, {"event": "committee_decide"})
    early = await api.post(events, json={"action": {"event": "committee_decide", "minutes_ref": "SN",
                                                    "decided_on": str(day + timedelta(days=9))}}, headers=committee)
    assert early.status_code == 409 and "GV-2" in early.json()["detail"] and "before" in early.json()["detail"]
    assert (await api.get("/framework/proposals/acute-gv2-dates")).json()["state"] == "at_committee"
    decided = await api.post(events, json={"action": {"event": "committee_decide", "minutes_ref": "SN",
                                                      "decided_on": str(day + timedelta(days=10))}}, headers=committee)
    assert decided.status_code == 200 and decided.json()["state"] == "decided"


async def test_gv2_tk1_av1_av3_framework_parameters_are_validated_at_the_proposal(api, env):
    year = (await local_now(env)).year + 1
    base = {"proposal_id": "acute-params", "kind": "acute", "title": "x", "law_reference": "SFS 1",
            "effective_from": str(date(year, 3, 1))}
    for change, field in (({"support_hours": []}, "support_hours"),
                          ({"availability_target_percent": "0"}, "availability_target_percent"),
                          ({"max_incidents_per_year": 999999999}, "max_incidents_per_year")):
        response = await api.post("/framework/proposals", json={**base, "parameters": {**_params(year), **change}})
        assert response.status_code == 422 and field in response.text, (field, response.text)
    assert (await api.get("/framework/proposals/acute-params")).status_code == 404
