"""The equipment API through FastAPI to a real Temporal server and a real database."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from db.models import Device
from tests.equipment.helpers import returned_at_replacement
from workflows.equipment import DeviceLifecycleWorkflow


def order(number: str, **extra) -> dict:
    return {"order_number": number, "model_code": "LAT-5450", "unit_id": "UL-KS", "user_ref": "E2101", **extra}


async def test_eq1_order_through_api_is_idempotent(api, sessions):
    first = await api.post("/orders", json=order("ORD-API-1"))
    assert first.status_code == 201, first.text
    assert first.json()["state"] == "called_off"
    again = await api.post("/orders", json=order("ORD-API-1"))
    assert again.status_code == 200 and again.json()["workflow_id"] == "device-ORD-API-1"
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Device)) == 1


async def test_eq3_catalogue_refuses_short_lived_workstation(api):
    response = await api.post("/catalogue/models", json={
        "code": "CHEAP-1", "name": "Cheap laptop", "category": "workstation", "expected_life_months": 36,
        "warranty_months": 12, "agreement_ref": "ADDA-KLIENT-2023"})
    assert response.status_code == 422
    assert "EQ-3" in response.text and "expected_life_months" in response.text
    ok = await api.post("/catalogue/models", json={
        "code": "TAB-2", "name": "Short-lived tablet", "category": "tablet", "expected_life_months": 24,
        "warranty_months": 12, "agreement_ref": "ADDA-MOBIL-2024"})
    assert ok.status_code == 201


async def test_order_with_unknown_model_is_422_and_writes_nothing(api, sessions):
    response = await api.post("/orders", json=order("ORD-API-2", model_code="NOPE"))
    assert response.status_code == 422 and "model_code" in response.json()["detail"]
    with sessions() as s:
        assert s.get(Device, "ORD-API-2") is None


async def test_order_without_token_is_401_and_changes_nothing(api, sessions):
    response = await api.post("/orders", json=order("ORD-API-3"), headers={"Authorization": ""})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    with sessions() as s:
        assert s.get(Device, "ORD-API-3") is None


async def test_illegal_event_is_409_naming_state_and_event(api):
    await api.post("/orders", json=order("ORD-API-4"))
    response = await api.post("/devices/ORD-API-4/events", json={"action": {"event": "give_notice"}})
    assert response.status_code == 409
    assert "'give_notice'" in response.json()["detail"] and "'called_off'" in response.json()["detail"]
    device = (await api.get("/devices/ORD-API-4")).json()
    assert device["state"] == "called_off" and len(device["log"]) == 2


async def test_unknown_device_is_404(api):
    response = await api.post("/devices/ORD-NONE/events", json={"action": {"event": "deliver", "serial_number": "x"}})
    assert response.status_code == 404 and "ORD-NONE" in response.json()["detail"]
    assert (await api.get("/devices/ORD-NONE")).status_code == 404


async def test_eq7_reassign_updates_register_and_actor_is_audited(api, bearer):
    await api.post("/orders", json=order("ORD-API-5"))
    await api.post("/devices/ORD-API-5/events", json={"action": {"event": "deliver", "serial_number": "S5"}})
    moved = await api.post("/devices/ORD-API-5/events", headers=bearer("it.bo", "it-staff"),
                           json={"reason": "staff moved", "action": {"event": "reassign", "unit_id": "UL-VOF",
                                                                     "user_ref": "E2999"}})
    assert moved.status_code == 200, moved.text
    rows = (await api.get("/devices", params={"unit_id": "UL-VOF"})).json()
    assert [(r["order_number"], r["user_ref"], r["cost_bearer_unit_id"]) for r in rows] == [
        ("ORD-API-5", "E2999", "UL-VOF")]
    history = (await api.get("/devices/ORD-API-5/history")).json()
    last = history[-1]
    assert (last["event"], last["actor"], last["reason"], last["rule"]) == (
        "reassign", "it.bo", "staff moved", "EQ-7")


async def test_eq12_uncertified_vendor_is_422(api):
    await api.post("/orders", json=order("ORD-API-6"))
    await api.post("/devices/ORD-API-6/events", json={"action": {"event": "deliver", "serial_number": "S6"}})
    await api.post("/devices/ORD-API-6/events", json={"action": {"event": "return_device"}})
    response = await api.post("/devices/ORD-API-6/events",
                              json={"action": {"event": "send_to_erasure", "vendor": "Billig Skrot HB"}})
    assert response.status_code == 422 and "EQ-12" in response.json()["detail"]


async def test_eq5_renewal_policy_change_rearms_running_timers(api, env):
    await api.post("/orders", json=order("ORD-API-7"))
    delivered = (await api.post("/devices/ORD-API-7/events",
                                json={"action": {"event": "deliver", "serial_number": "S7"}})).json()
    with env.auto_time_skipping_disabled():  # the API waits for the re-arm job: the test server must not skip
        result = await api.put("/renewal-policies/workstation/ulricehamn", json={"renewal_months": 60})
    assert result.status_code == 200 and result.json()["devices_updated"] == ["ORD-API-7"]
    device = (await api.get("/devices/ORD-API-7")).json()
    assert device["renewal_months"] == 60
    assert device["renewal_due_at"][:4] == str(int(delivered["delivered_at"][:4]) + 5)
    await env.sleep(timedelta(days=49 * 31))
    assert (await api.get("/devices/ORD-API-7")).json()["state"] == "in_use"  # the old 48-month timer is gone


async def test_eq5_policy_change_reaches_a_device_whose_register_ran_ahead_of_its_workflow(api, sessions, client, env):
    """Issue 15: under overload a workflow task can be lost after its local steps wrote the register, so the
    register shows the new period while the workflow still runs on the old one. The policy change must not
    trust the register: it re-arms every running device, and one already on the period takes it as a no-op."""
    await api.post("/orders", json=order("ORD-API-17"))
    await api.post("/devices/ORD-API-17/events", json={"action": {"event": "deliver", "serial_number": "S17"}})
    with sessions() as s:  # the register ran ahead: it says 60 months, the workflow still has 48
        s.get(Device, "ORD-API-17").renewal_months = 60
        s.commit()
    with env.auto_time_skipping_disabled():  # the API waits for the re-arm job: the test server must not skip
        result = await api.put("/renewal-policies/workstation/ulricehamn", json={"renewal_months": 60})
    assert result.status_code == 200 and result.json()["devices_updated"] == ["ORD-API-17"]
    live = await client.get_workflow_handle("device-ORD-API-17").query(DeviceLifecycleWorkflow.view)
    assert live.renewal_months == 60
    history = (await api.get("/devices/ORD-API-17/history")).json()
    assert [line["event"] for line in history].count("change_renewal_period") == 1
    with env.auto_time_skipping_disabled():
        again = await api.put("/renewal-policies/workstation/ulricehamn", json={"renewal_months": 60})
    assert again.status_code == 200  # repeated: converges, records nothing more
    history = (await api.get("/devices/ORD-API-17/history")).json()
    assert [line["event"] for line in history].count("change_renewal_period") == 1


async def test_eq7_reassign_to_unknown_unit_is_422_and_changes_nothing(api):
    await api.post("/orders", json=order("ORD-API-8"))
    await api.post("/devices/ORD-API-8/events", json={"action": {"event": "deliver", "serial_number": "S8"}})
    response = await api.post("/devices/ORD-API-8/events", json={"action": {"event": "reassign", "unit_id": "XX-NO"}})
    assert response.status_code == 422 and "action.unit_id" in response.json()["detail"]
    assert (await api.get("/devices/ORD-API-8")).json()["unit_id"] == "UL-KS"


async def test_event_with_missing_field_is_422_naming_it(api):
    await api.post("/orders", json=order("ORD-API-9"))
    response = await api.post("/devices/ORD-API-9/events", json={"action": {"event": "deliver"}})
    assert response.status_code == 422 and "serial_number" in response.text


def test_openapi_documents_every_equipment_resource():
    from api.main import create_app

    paths = create_app().openapi()["paths"]
    for path in ["/api/v1/orders", "/api/v1/devices", "/api/v1/devices/{order_number}",
                 "/api/v1/devices/{order_number}/events", "/api/v1/devices/{order_number}/history",
                 "/api/v1/devices/{order_number}/renewal-period", "/api/v1/catalogue/models",
                 "/api/v1/catalogue/categories", "/api/v1/price-list", "/api/v1/outbox", "/api/v1/units"]:
        assert path in paths, path
    events = paths["/api/v1/devices/{order_number}/events"]["post"]
    assert {"404", "409", "422"} <= set(events["responses"])


async def test_eq11_only_the_offered_employee_answers_a_buyout_403(api, bearer):
    await api.post("/orders", json=order("ORD-API-10"))
    await api.post("/devices/ORD-API-10/events", json={"action": {"event": "deliver", "serial_number": "S10"}})
    await returned_at_replacement(api, "ORD-API-10")  # rule EQ-11: a buyout case at hardware replacement
    offered = await api.post("/devices/ORD-API-10/events", json={"action": {"event": "offer_buyout", "price": "900.00"}})
    assert offered.status_code == 200, offered.text
    assert offered.json()["buyout"]["buyer_ref"] == "E2101"
    refused = await api.post("/devices/ORD-API-10/events", json={"action": {"event": "accept_buyout"}},
                             headers=bearer("E9999", "employee"))
    assert refused.status_code == 403 and "EQ-11" in refused.json()["detail"]
    assert "E2101" not in refused.json()["detail"]  # another employee learns nothing of the offer
    by_it = await api.post("/devices/ORD-API-10/events", json={"action": {"event": "accept_buyout"}})
    assert by_it.status_code == 403  # IT sets the price, the employee decides
    accepted = await api.post("/devices/ORD-API-10/events", json={"action": {"event": "accept_buyout"}},
                              headers=bearer("E2101", "employee"))
    assert accepted.status_code == 200 and accepted.json()["state"] == "buyout_accepted"


async def test_eq5_replacement_is_delivered_at_once_after_renew_now_as_the_readme_does(api):
    """Rule EQ-5 through the API, as the README's walkthrough runs: the replacement's delivery sent right after
    `renew_now` answers is taken (it waits for the replacement's call-off), never refused in state 'ordered'."""
    assert (await api.post("/orders", json=order("ORD-API-REN"))).status_code == 201
    delivered = await api.post("/devices/ORD-API-REN/events", json={"action": {"event": "deliver", "serial_number": "S-REN"}})
    assert delivered.status_code == 200, delivered.text
    renewed = await api.post("/devices/ORD-API-REN/events", json={"action": {"event": "renew_now"}})
    assert renewed.status_code == 200 and renewed.json()["replacement_order"] == "ORD-API-REN-R1", renewed.text
    replacement = await api.post("/devices/ORD-API-REN-R1/events",
                                 json={"action": {"event": "deliver", "serial_number": "S-REN-R1"}})
    assert replacement.status_code == 200, replacement.text
    assert replacement.json()["state"] == "in_use"
    assert [r["event"] for r in replacement.json()["log"]] == ["order", "call_off", "deliver", "activate"]
