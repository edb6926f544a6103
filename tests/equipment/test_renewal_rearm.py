"""Rule EQ-5 at fleet scale (issue 15): a changed renewal period reaches every running device through a
durable re-arm job; the PUT answers 202 while a large fleet is still being re-armed, and a retried attempt
of the job resumes after the last chunk it reported."""
from __future__ import annotations

import dataclasses

from temporalio.testing import ActivityEnvironment

import activities.renewals
from activities.renewals import RenewalActivities
from domain.catalogue import Category
from domain.renewals import RearmRequest, RenewalPeriodUpdate
from tests.helpers import poll


def order(number: str) -> dict:
    return {"order_number": number, "model_code": "LAT-5450", "unit_id": "UL-KS", "user_ref": "E2101"}


async def running_devices(api, *numbers: str) -> None:
    for number in numbers:
        assert (await api.post("/orders", json=order(number))).status_code == 201
        delivered = await api.post(f"/devices/{number}/events",
                                   json={"action": {"event": "deliver", "serial_number": f"S-{number}"}})
        assert delivered.status_code == 200, delivered.text


async def test_eq5_policy_change_answers_202_while_the_fleet_is_rearmed_and_the_job_finishes(api, settings, env):
    await running_devices(api, "ORD-RA-1", "ORD-RA-2")
    wait = settings.update_wait_seconds
    settings.update_wait_seconds = 0.001  # the fleet outlasts the update wait, as 20,000 devices do
    try:
        with env.auto_time_skipping_disabled():  # (only the test server would skip time while the API waits)
            accepted = await api.put("/renewal-policies/workstation/ulricehamn", json={"renewal_months": 60})
    finally:
        settings.update_wait_seconds = wait
    assert accepted.status_code == 202, accepted.text
    assert accepted.headers["Location"] == "/api/v1/renewal-policies/workstation/ulricehamn/rearm"
    body = accepted.json()
    assert body["renewal_months"] == 60 and body["devices_updated"] == []
    assert body["rearm"]["workflow_id"] == "renewal-rearm-workstation-ulricehamn-60"
    assert body["rearm"]["devices_running"] == 2
    assert (await api.get("/renewal-policies")).json().count(
        {"category": "workstation", "municipality": "ulricehamn", "renewal_months": 60}) == 1  # stored at once

    done = await poll(api, "/renewal-policies/workstation/ulricehamn/rearm",
                      lambda job: job.get("status") == "completed" and job.get("devices_on_policy") == 2)
    assert done["status"] == "completed" and done["devices_on_policy"] == done["devices_running"] == 2
    for number in ("ORD-RA-1", "ORD-RA-2"):
        assert (await api.get(f"/devices/{number}")).json()["renewal_months"] == 60

    for _ in range(10):  # repeated: a new job of no-ops, 200 once it is done (202 meanwhile on a loaded box)
        with env.auto_time_skipping_disabled():
            again = await api.put("/renewal-policies/workstation/ulricehamn", json={"renewal_months": 60})
        if again.status_code != 202:
            break
    assert again.status_code == 200, again.text
    assert sorted(again.json()["devices_updated"]) == ["ORD-RA-1", "ORD-RA-2"]
    for number in ("ORD-RA-1", "ORD-RA-2"):  # the repeat converged: each device recorded the change once
        history = (await api.get(f"/devices/{number}/history")).json()
        assert [line["event"] for line in history].count("change_renewal_period") == 1


async def test_eq5_rearm_status_of_a_policy_never_changed_is_404(api):
    missing = await api.get("/renewal-policies/tablet/tranemo/rearm")
    assert missing.status_code == 404 and "tablet" in missing.json()["detail"]


async def test_eq5_retried_rearm_resumes_after_the_last_chunk_it_reported(api, client, sessions, monkeypatch):
    """A retried attempt (its heartbeat: period 0, one chunk done) sends nothing to the devices of that chunk
    and returns them with the rest."""
    await running_devices(api, "ORD-RA-3", "ORD-RA-4")
    policy = await api.put("/renewal-policies/workstation/ulricehamn",
                           json={"renewal_months": 36, "apply_to_running": False})
    assert policy.status_code == 200 and policy.json()["devices_updated"] == []
    monkeypatch.setattr(activities.renewals, "REARM_CHUNK", 1)
    environment = ActivityEnvironment(client)
    environment.info = dataclasses.replace(environment.info, heartbeat_details=[[0, 1, ["ORD-RA-3"]]])
    beats: list = []
    environment.on_heartbeat = lambda *details: beats.append(details[0])
    request = RearmRequest(periods=[RenewalPeriodUpdate(category=Category.WORKSTATION, municipality="ulricehamn",
                                                        renewal_months=36)], actor="it.anna", reason="resumed")
    updated = await environment.run(RenewalActivities(client, sessions).rearm_renewals, request)
    assert updated == ["ORD-RA-3", "ORD-RA-4"] and beats == [[0, 2, ["ORD-RA-3", "ORD-RA-4"]]]
    assert (await api.get("/devices/ORD-RA-3")).json()["renewal_months"] == 48  # its chunk was done: not sent
    assert (await api.get("/devices/ORD-RA-4")).json()["renewal_months"] == 36
