"""Leavers, movers and names (issue 22; rules EQ-7, EQ-8, EQ-11): Entra ID's `active=false` starts the leaver
process (devices flagged for return to the unit, an open buyout offer lapses, the manager is told); a change of
department moves the person, and their devices follow when the old unit's manager confirms; people are shown by
name with their employee number."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from temporalio.client import Client

from db.models import Charge

from domain.people import LeaverOutcome, leaver_workflow_id
from tests.equipment.helpers import returned_at_replacement, until_state
from tests.people.test_scim import SCIM, entra_user

ENTRA_DEACTIVATES = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                     "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}


async def in_use(api, number: str, user_ref: str, unit_id: str = "TR-KS") -> dict:
    ordered = await api.post("/orders", json={"order_number": number, "model_code": "LAT-5450", "unit_id": unit_id,
                                              "user_ref": user_ref})
    assert ordered.status_code == 201, ordered.text
    delivered = await api.post(f"/devices/{number}/events",
                               json={"action": {"event": "deliver", "serial_number": f"SN-{number}"}})
    assert delivered.status_code == 200, delivered.text
    return await until_state(api, number, "in_use")


async def test_eq7_eq11_leaver_devices_flagged_offer_lapses_manager_told(api, bearer, client: Client):
    entra = bearer("entra", "provisioning")
    user = (await api.post(f"{SCIM}/Users", json=entra_user(), headers=entra)).json()
    await in_use(api, "ORD-LEAVE-1", "E7001")
    await in_use(api, "ORD-LEAVE-2", "E7001")
    await returned_at_replacement(api, "ORD-LEAVE-2")  # rule EQ-11: a buyout case at hardware replacement
    offered = await api.post("/devices/ORD-LEAVE-2/events", json={"action": {"event": "offer_buyout", "price": "900"}})
    assert offered.json()["state"] == "buyout_offered" and offered.json()["buyout"]["buyer_ref"] == "E7001"
    ticket = await api.post("/tickets", json={"unit_id": "TR-KS", "reporter_ref": "E7001", "title": "Skrivaren",
                                              "support_level": "managed"})
    assert ticket.status_code == 201, ticket.text

    patched = await api.patch(f"{SCIM}/Users/{user['id']}", json=ENTRA_DEACTIVATES, headers=entra)
    assert patched.status_code == 200 and patched.json()["active"] is False, patched.text
    again = await api.patch(f"{SCIM}/Users/{user['id']}", json=ENTRA_DEACTIVATES, headers=entra)  # Entra retries
    assert again.status_code == 200

    outcome = await client.get_workflow_handle(leaver_workflow_id("E7001"), result_type=LeaverOutcome).result()
    assert outcome.flagged_devices == ["ORD-LEAVE-1", "ORD-LEAVE-2-R1"]  # the replacement is theirs too
    assert outcome.lapsed_offers == ["ORD-LEAVE-2"] and outcome.open_tickets == [ticket.json()["number"]]
    assert outcome.manager_told
    register = {d["order_number"]: d for d in (await api.get("/devices", params={"user_ref": "E7001"})).json()}
    assert register["ORD-LEAVE-1"]["return_flagged_at"] is not None and register["ORD-LEAVE-1"]["state"] == "in_use"
    assert register["ORD-LEAVE-2"]["return_flagged_at"] is None
    lapsed = (await api.get("/devices/ORD-LEAVE-2")).json()
    assert lapsed["state"] == "available_for_buyout" and lapsed["log"][-1]["actor"] == "ramflow"
    told = (await api.get("/outbox", params={"topic": "leaver", "recipient": "unit:TR-KS"})).json()
    assert len(told) == 1 and "ORD-LEAVE-1" in told[0]["body"] and ticket.json()["number"] in told[0]["body"]
    assert (await api.get("/people/E7001")).json()["active"] is False
    open_ticket = (await api.get(f"/tickets/{ticket.json()['number']}")).json()
    assert open_ticket["unit_id"] == "TR-KS"  # their open tickets stay with their unit


async def test_eq7_leaver_by_delete_is_gone_from_scim_but_named_in_records(api, bearer, client: Client):
    entra = bearer("entra", "provisioning")
    user = (await api.post(f"{SCIM}/Users", json=entra_user(), headers=entra)).json()
    await in_use(api, "ORD-LEAVE-3", "E7001")
    assert (await api.delete(f"{SCIM}/Users/{user['id']}", headers=entra)).status_code == 204
    assert (await api.get(f"{SCIM}/Users/{user['id']}", headers=entra)).status_code == 404
    outcome = await client.get_workflow_handle(leaver_workflow_id("E7001"), result_type=LeaverOutcome).result()
    assert outcome.flagged_devices == ["ORD-LEAVE-3"]
    assert (await api.get("/devices/ORD-LEAVE-3")).json()["user_name"] == "Eva Ek"


async def test_eq7_eq8_mover_devices_follow_when_the_old_manager_confirms(api, bearer, sessions):
    entra = bearer("entra", "provisioning")
    user = (await api.post(f"{SCIM}/Users", json=entra_user(number="E7002", upn="bo@tranemo.se", oid="bo"),
                           headers=entra)).json()
    await in_use(api, "ORD-MOVE-1", "E7002")
    moved = await api.patch(f"{SCIM}/Users/{user['id']}", headers=entra, json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
             "value": "TR-SOC"}]})
    assert moved.status_code == 200, moved.text
    assert (await api.get("/people/E7002")).json()["unit_id"] == "TR-SOC"  # the person moves at once
    device = (await api.get("/devices/ORD-MOVE-1")).json()
    assert device["unit_id"] == device["cost_bearer_unit_id"] == "TR-KS"  # the devices wait for the manager
    old_manager, other = bearer("E1001", "unit-manager", unit="TR-KS"), bearer("E1003", "unit-manager", unit="TR-SOC")
    pending = (await api.get("/people-moves", headers=old_manager)).json()
    assert [(m["employee_ref"], m["to_unit_id"], m["devices"]) for m in pending] == [("E7002", "TR-SOC",
                                                                                      ["ORD-MOVE-1"])]
    assert (await api.get("/people-moves", headers=other)).json() == []
    told = (await api.get("/outbox", params={"topic": "mover", "recipient": "unit:TR-KS"})).json()
    assert len(told) == 1 and "ORD-MOVE-1" in told[0]["body"]
    move_id = pending[0]["id"]
    assert (await api.post(f"/people-moves/{move_id}/confirm", headers=other)).status_code == 404
    assert (await api.post(f"/people-moves/{move_id}/confirm", headers=bearer("it.bo", "it-staff"))).status_code == 403
    confirmed = await api.post(f"/people-moves/{move_id}/confirm", headers=old_manager)
    assert confirmed.status_code == 200 and confirmed.json()["state"] == "confirmed", confirmed.text
    device = (await api.get("/devices/ORD-MOVE-1")).json()
    assert device["unit_id"] == device["cost_bearer_unit_id"] == "TR-SOC"  # rule EQ-8: charged to it from today
    reassign = device["log"][-1]
    assert reassign["event"] == "reassign" and reassign["actor"] == "E1001" and reassign["rule"] == "EQ-7"
    moved_on = datetime.fromisoformat(reassign["at"]).astimezone(timezone.utc).date()
    with sessions() as s:  # rule EQ-8: the old unit's charge ends the day the new one's begins
        periods = {c.unit_id: (c.starts_on, c.ends_on) for c in s.scalars(
            select(Charge).where(Charge.order_number == "ORD-MOVE-1", Charge.recurring.is_(True)))}
    assert periods.keys() == {"TR-KS", "TR-SOC"}
    assert periods["TR-KS"][1] == moved_on and periods["TR-SOC"] == (moved_on, None)
    again = await api.post(f"/people-moves/{move_id}/confirm", headers=old_manager)
    assert again.status_code == 200 and (await api.get("/devices/ORD-MOVE-1")).json()["log"][-1] == reassign


async def test_people_shown_by_name_in_device_and_ticket_views(api):
    assert (await api.put("/people/E5001", json={"name": "Eva Ek", "unit_id": "TR-KS"})).status_code == 200
    await in_use(api, "ORD-NAME-1", "E5001")
    await in_use(api, "ORD-NAME-2", "E5999")  # no one in the register: the number alone
    listed = {d["order_number"]: d for d in (await api.get("/devices")).json()}
    assert listed["ORD-NAME-1"]["user_name"] == "Eva Ek" and listed["ORD-NAME-1"]["user_ref"] == "E5001"
    assert listed["ORD-NAME-2"]["user_name"] is None
    assert (await api.get("/devices/ORD-NAME-1")).json()["user_name"] == "Eva Ek"
    ticket = (await api.post("/tickets", json={"unit_id": "TR-KS", "reporter_ref": "E5001", "title": "Skärmen",
                                               "support_level": "managed"})).json()
    assert (await api.get(f"/tickets/{ticket['number']}")).json()["reporter_name"] == "Eva Ek"
    rows = (await api.get("/tickets")).json()
    assert [(r["reporter_ref"], r["reporter_name"]) for r in rows] == [("E5001", "Eva Ek")]
