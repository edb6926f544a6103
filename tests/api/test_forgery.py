"""Issue 8: each forged action of the issue, replayed with the wrong identity, is refused (401/403/404) and
changes nothing; scoped roles see only their own objects; refusals are recorded for auditors; reference
data changes record who, when and what."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from db.models import Device, OutboxMessage, PriceRow, RenewalPolicy
from db.ticket_models import Incident
from tests.agreements.helpers import content
from tests.equipment.helpers import returned_at_replacement

IT = ("it.anna", "it-staff", "it-admin")


def order(number: str, unit_id: str, user_ref: str) -> dict:
    return {"order_number": number, "model_code": "LAT-5450", "unit_id": unit_id, "user_ref": user_ref}


async def delivered(api, number: str, unit_id: str, user_ref: str) -> None:
    assert (await api.post("/orders", json=order(number, unit_id, user_ref))).status_code == 201
    answer = await api.post(f"/devices/{number}/events", json={"action": {"event": "deliver", "serial_number": number}})
    assert answer.status_code == 200, answer.text


async def offered(api, number: str, unit_id: str, user_ref: str) -> None:
    await delivered(api, number, unit_id, user_ref)
    await returned_at_replacement(api, number)  # rule EQ-11: a buyout case at hardware replacement
    answer = await api.post(f"/devices/{number}/events", json={"action": {"event": "offer_buyout", "price": "1500.00"}})
    assert answer.json()["state"] == "buyout_offered", answer.text


async def refusals(api, bearer, **params) -> list[dict]:
    answer = await api.get("/security/refused-attempts", params=params, headers=bearer("rev.eva", "auditor"))
    assert answer.status_code == 200, answer.text
    return answer.json()


# --- the forged actions of the issue -------------------------------------------------------------------
async def test_eq11_another_employee_cannot_accept_someone_elses_buyout(api, bearer, sessions):
    await offered(api, "ORD-F-1", "TR-KS", "E5001")
    stranger = bearer("E5555", "employee")
    accept = await api.post("/devices/ORD-F-1/events", json={"action": {"event": "accept_buyout"}}, headers=stranger)
    assert accept.status_code == 403
    cheap = await api.post("/devices/ORD-F-1/events", headers=stranger,
                           json={"action": {"event": "offer_buyout", "price": "1.00"}})
    assert cheap.status_code == 403  # an employee sets no price
    assert (await api.get("/devices/ORD-F-1", headers=stranger)).status_code == 404  # not even visible
    view = (await api.get("/devices/ORD-F-1")).json()
    assert view["state"] == "buyout_offered" and view["buyout"]["buyer_ref"] == "E5001"
    assert view["buyout"]["price"] in ("1500.00", "1500")
    recorded = await refusals(api, bearer, subject="E5555")
    assert [(r["status"], r["method"], r["path"]) for r in recorded][-1] == (403, "POST", "/api/v1/devices/ORD-F-1/events")


async def test_ag4_one_person_cannot_approve_for_both_parties(api, bearer):
    created = await api.post("/agreements", json=content("APP-F-1", owner="E1003").model_dump(mode="json"))
    assert created.status_code == 201
    both = bearer("E1003", "it-admin", "system-owner")  # the owner is also an IT admin
    owner = await api.post("/agreements/APP-F-1/drawing-up/events", headers=both,
                           json={"action": {"event": "approve", "party": "system_owner"}})
    assert owner.status_code == 200 and owner.json()["state"] == "proposed"
    as_it = await api.post("/agreements/APP-F-1/drawing-up/events", headers=both,
                           json={"action": {"event": "approve", "party": "it"}})
    assert as_it.status_code == 403 and "both parties" in as_it.json()["detail"]
    anonymous = await api.post("/agreements/APP-F-1/drawing-up/events", headers={"Authorization": ""},
                               json={"action": {"event": "approve", "party": "it"}})
    assert anonymous.status_code == 401
    view = (await api.get("/agreements/APP-F-1/drawing-up")).json()
    assert view["state"] == "proposed" and [a["party"] for a in view["approvals"]] == ["system_owner"]


async def test_gv2_framework_change_needs_each_bodys_own_secretary(api, bearer, env):
    from tests.helpers import local_now

    today = str((await local_now(env)).date())
    created = await api.post("/framework/proposals", json={
        "kind": "acute", "proposal_id": "acute-forged", "title": "Tomma supporttider", "law_reference": "SFS 2026:9",
        "effective_from": today})
    assert created.status_code == 201
    events = "/framework/proposals/acute-forged/events"

    def decision(event: str, **extra) -> dict:
        return {"action": {"event": event, "decided_on": today, "minutes_ref": "eget", **extra}}

    assert (await api.post(events, json=decision("forum_prepare"), headers={"Authorization": ""})).status_code == 401
    assert (await api.post(events, json=decision("forum_prepare"))).status_code == 403  # IT admin is no body
    forum = bearer("sek.ifu", "it-forum-utveckling")
    assert (await api.post(events, json=decision("steering_approve"), headers=forum)).status_code == 403
    assert (await api.post(events, json=decision("forum_prepare"), headers=forum)).status_code == 200
    two_hats = bearer("sek.dubbel", "it-styrgrupp", "kommunstyrelsen-tranemo")
    assert (await api.post(events, json=decision("steering_approve"), headers=two_hats)).status_code == 200
    tranemo_for_both = await api.post(events, json=decision("board_approve", municipality="tranemo"), headers=two_hats)
    assert tranemo_for_both.status_code == 403 and "two bodies" in tranemo_for_both.json()["detail"]
    wrong_board = await api.post(events, json=decision("board_approve", municipality="ulricehamn"),
                                 headers=bearer("sek.kst", "kommunstyrelsen-tranemo"))
    assert wrong_board.status_code == 403
    view = (await api.get("/framework/proposals/acute-forged")).json()
    assert view["state"] != "in_force"
    assert [d["body"] for d in view["decisions"]] == ["it-forum utveckling", "it-styrgrupp"]


async def test_the_system_actor_cannot_be_claimed(api, bearer, sessions):
    await delivered(api, "ORD-F-2", "TR-KS", "E5001")
    forged = await api.post("/devices/ORD-F-2/events", headers=bearer("ramflow", "it-staff", "it-admin"),
                            json={"action": {"event": "return_device"}})
    assert forged.status_code == 401
    assert (await api.get("/devices/ORD-F-2")).json()["state"] == "in_use"
    recorded = await refusals(api, bearer, subject="ramflow")
    assert recorded and recorded[0]["status"] == 401 and recorded[0]["subject"] is None  # claimed, not validated
    assert recorded[0]["claimed_subject"] == "ramflow" and "reserved" in recorded[0]["reason"]


async def test_prices_and_renewal_policies_only_by_it_admin_and_recorded(api, bearer, sessions):
    staff = bearer("it.bo", "it-staff")
    zero = {"year": 2026, "model_code": "LAT-5450", "monthly_rent": "0.00"}
    assert (await api.put("/price-list/2026/LAT-5450", json=zero, headers=staff)).status_code == 403
    assert (await api.put("/price-list/2026/LAT-5450", json=zero, headers={"Authorization": ""})).status_code == 401
    month = {"renewal_months": 1}
    assert (await api.put("/renewal-policies/workstation/tranemo", json=month, headers=staff)).status_code == 403
    with sessions() as s:
        assert s.get(PriceRow, (2026, "LAT-5450")).monthly_rent != Decimal("0.00")
        assert s.get(RenewalPolicy, ("workstation", "tranemo")).renewal_months == 48
    assert (await api.get("/reference-changes", headers=bearer("rev.eva", "auditor"))).json() == []
    # it-admin may, and the change says who, when and what
    changed = await api.put("/price-list/2026/LAT-5450", json={**zero, "monthly_rent": "245.00"})
    assert changed.status_code == 200
    record = (await api.get("/reference-changes", headers=bearer("rev.eva", "auditor"))).json()[0]
    assert (record["actor"], record["entity"], record["key"]) == ("it.anna", "equipment_price", "2026/LAT-5450")
    assert record["after"]["monthly_rent"] == "245.00" and record["before"]["monthly_rent"] not in (None, "245.00")
    assert record["at"]
    assert (await api.get("/reference-changes", headers=staff)).status_code == 403


async def test_operational_messages_and_incidents_only_by_it_staff(api, bearer, sessions):
    employee = bearer("E5001", "employee")
    message = {"subject": "Allt är nere", "body": "falskt"}
    assert (await api.post("/operational-messages", json=message, headers=employee)).status_code == 403
    assert (await api.post("/operational-messages", json=message,
                           headers=bearer("E1001", "unit-manager", unit="TR-KS"))).status_code == 403
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)
                        .where(OutboxMessage.topic == "operational_message")) == 0
    incident = await api.post("/incidents", json={"kind": "outage", "title": "Nätverket", "started_at":
                                                  "2026-11-20T08:00:00+01:00"})
    assert incident.status_code == 201
    number = incident.json()["id"]
    end = {"ended_at": "2026-11-20T09:00:00+01:00"}
    for who in (employee, bearer("E1001", "unit-manager", unit="TR-KS"), bearer("rev.eva", "auditor")):
        assert (await api.put(f"/incidents/{number}/end", json=end, headers=who)).status_code == 403
    with sessions() as s:
        assert s.get(Incident, number).ended_at is None


async def test_personal_data_is_not_read_by_those_who_may_not(api, bearer):
    await offered(api, "ORD-F-3", "UL-KS", "E2101")
    submitted = await api.post("/service-requests", headers=bearer("E2001", "unit-manager", unit="UL-KS"), json={
        "number": "SR-F-1", "unit_id": "UL-KS", "details": {
            "kind": "non_employee_account", "holder": "Konsult Karlsson", "organisation": "Konsult AB",
            "valid_until": "2027-06-30"}})
    assert submitted.status_code == 201, submitted.text
    employee = bearer("E5001", "employee")
    assert (await api.get("/outbox", headers=employee)).status_code == 403  # employees' numbers
    assert (await api.get("/devices", headers=employee)).json() == []  # others' devices, others' buyouts
    assert (await api.get("/devices/ORD-F-3", headers=employee)).status_code == 404
    assert (await api.get("/service-requests", headers=employee)).status_code == 403  # non-employees' names
    assert (await api.get("/service-requests/SR-F-1", headers=employee)).status_code == 403
    tranemo = bearer("E1001", "unit-manager", unit="TR-KS")
    assert (await api.get("/service-requests", headers=tranemo)).json() == []
    assert (await api.get("/service-requests/SR-F-1", headers=tranemo)).status_code == 404
    assert (await api.get("/service-requests/SR-F-1")).json()["details"]["holder"] == "Konsult Karlsson"


# --- object-level rules of the scoped roles --------------------------------------------------------------
async def test_unit_manager_sees_and_acts_on_their_own_unit_only(api, bearer):
    await delivered(api, "ORD-TR-1", "TR-KS", "E5001")
    await delivered(api, "ORD-UL-1", "UL-KS", "E2101")
    for number, unit in (("T-TR-1", "TR-KS"), ("T-UL-1", "UL-KS")):
        answer = await api.post("/tickets", json={"number": number, "unit_id": unit, "reporter_ref": "E5001",
                                                  "title": "Skrivaren", "function": "network_printing"})
        assert answer.status_code == 201, answer.text
    tranemo = bearer("E1001", "unit-manager", unit="TR-KS")
    assert [d["order_number"] for d in (await api.get("/devices", headers=tranemo)).json()] == ["ORD-TR-1"]
    assert [d["order_number"] for d in (await api.get("/devices", params={"unit_id": "UL-KS"},
                                                      headers=tranemo)).json()] == []
    assert (await api.get("/devices/ORD-TR-1", headers=tranemo)).status_code == 200
    for path in ("/devices/ORD-UL-1", "/devices/ORD-UL-1/history", "/tickets/T-UL-1", "/tickets/T-UL-1/history",
                 "/units/UL-KS/designated-applicants", "/units/UL-KS/application-charges/2026"):
        assert (await api.get(path, headers=tranemo)).status_code == 404, path
    assert [t["number"] for t in (await api.get("/tickets", headers=tranemo)).json()] == ["T-TR-1"]
    notice = await api.post("/devices/ORD-UL-1/events", json={"action": {"event": "give_notice"}}, headers=tranemo)
    assert notice.status_code == 404
    own = await api.post("/devices/ORD-TR-1/events", json={"action": {"event": "give_notice"}}, headers=tranemo)
    assert own.status_code == 200 and own.json()["state"] == "notice_given"
    elsewhere = await api.post("/orders", json=order("ORD-UL-2", "UL-KS", "E2101"), headers=tranemo)
    assert elsewhere.status_code == 403
    assert (await api.post("/orders", json=order("ORD-TR-2", "TR-KS", "E5001"), headers=tranemo)).status_code == 201
    assert (await api.get("/devices/ORD-UL-1")).json()["state"] == "in_use"
    ul_ticket = await api.post("/tickets", headers=tranemo, json={"unit_id": "UL-KS", "reporter_ref": "E1001",
                                                                  "title": "x"})
    assert ul_ticket.status_code == 403


async def test_employee_sees_own_devices_and_tickets_only(api, bearer):
    await delivered(api, "ORD-E-1", "TR-KS", "E5001")
    await delivered(api, "ORD-E-2", "TR-KS", "E5002")
    for number, reporter in (("T-E-1", "E5001"), ("T-E-2", "E5002")):
        await api.post("/tickets", json={"number": number, "unit_id": "TR-KS", "reporter_ref": reporter, "title": "x"})
    me = bearer("E5001", "employee", unit="TR-KS")  # the token names the employee's unit (else the people register)
    assert [d["order_number"] for d in (await api.get("/devices", headers=me)).json()] == ["ORD-E-1"]
    assert (await api.get("/devices/ORD-E-1", headers=me)).status_code == 200
    assert (await api.get("/devices/ORD-E-2", headers=me)).status_code == 404
    assert (await api.get("/devices/ORD-E-2/history", headers=me)).status_code == 404
    assert [t["number"] for t in (await api.get("/tickets", headers=me)).json()] == ["T-E-1"]
    assert (await api.get("/tickets/T-E-2", headers=me)).status_code == 404
    own_report = await api.post("/tickets", headers=me, json={"unit_id": "TR-KS", "reporter_ref": "E5001",
                                                              "title": "Min skärm"})
    assert own_report.status_code == 201 and own_report.json()["log"][0]["actor"] == "E5001"
    as_other = await api.post("/tickets", headers=me, json={"unit_id": "TR-KS", "reporter_ref": "E5002", "title": "x"})
    assert as_other.status_code == 403
    assert (await api.post("/devices/ORD-E-1/events", json={"action": {"event": "return_device"}},
                           headers=me)).status_code == 403


async def test_eq12_erasure_certificate_by_it_staff_naming_the_vendor_it_was_sent_to(api, bearer):
    await delivered(api, "ORD-ER-1", "TR-KS", "E5001")
    await api.post("/devices/ORD-ER-1/events", json={"action": {"event": "return_device"}})
    sent = await api.post("/devices/ORD-ER-1/events", json={"action": {"event": "send_to_erasure",
                                                                      "vendor": "Inrego AB"}})
    assert sent.json()["state"] == "awaiting_erasure"
    certificate = {"action": {"event": "record_erasure", "vendor": "Inrego AB", "certificate_id": "INR-1"}}
    for who in (bearer("E5001", "employee"), bearer("E1001", "unit-manager", unit="TR-KS"),
                bearer("it.admin", "it-admin")):
        assert (await api.post("/devices/ORD-ER-1/events", json=certificate, headers=who)).status_code == 403
    other_vendor = {"action": {"event": "record_erasure", "vendor": "Certus Datadestruktion AB",
                               "certificate_id": "CER-1"}}
    wrong = await api.post("/devices/ORD-ER-1/events", json=other_vendor, headers=bearer("it.bo", "it-staff"))
    assert wrong.status_code == 422 and "Inrego AB" in wrong.json()["detail"] and "EQ-12" in wrong.json()["detail"]
    assert (await api.get("/devices/ORD-ER-1")).json()["state"] == "awaiting_erasure"
    done = await api.post("/devices/ORD-ER-1/events", json=certificate, headers=bearer("it.bo", "it-staff"))
    assert done.status_code == 200 and done.json()["state"] == "erased"


async def test_refused_attempts_are_recorded_and_only_auditors_and_it_admin_read_them(api, bearer):
    await api.get("/devices")  # allowed: not recorded
    await api.get("/outbox", headers=bearer("E5001", "employee"))  # 403
    await api.get("/devices", headers={"Authorization": "Bearer forged.token.value"})  # 401
    recorded = await refusals(api, bearer)
    assert [(r["status"], r["subject"], r["path"]) for r in recorded[:2]] == [
        (401, None, "/api/v1/devices"), (403, "E5001", "/api/v1/outbox")]
    assert recorded[1]["roles"] == ["employee"] and "roles" in recorded[1]["reason"] and recorded[1]["at"]
    assert (await api.get("/security/refused-attempts")).status_code == 200  # it-admin
    assert (await api.get("/security/refused-attempts", headers=bearer("it.bo", "it-staff"))).status_code == 403
    assert (await api.get("/security/refused-attempts", headers=bearer("E5001", "employee"))).status_code == 403


async def test_the_auditor_reads_but_changes_nothing(api, bearer, sessions):
    await delivered(api, "ORD-AU-1", "UL-KS", "E2101")
    auditor = bearer("rev.eva", "auditor")
    assert (await api.get("/devices/ORD-AU-1", headers=auditor)).status_code == 200
    assert (await api.get("/outbox", headers=auditor)).status_code == 200
    assert (await api.post("/devices/ORD-AU-1/events", json={"action": {"event": "return_device"}},
                           headers=auditor)).status_code == 403
    with sessions() as s:
        assert s.get(Device, "ORD-AU-1").state == "in_use"


async def test_unit_manager_reports_incidents_and_development_cases_for_their_own_unit_only(api, bearer):
    tranemo = bearer("E1001", "unit-manager", unit="TR-KS")
    incident = {"kind": "incident", "title": "Skrivaren", "reported_by": "unit", "started_at": "2026-11-20T08:00:00+01:00"}
    assert (await api.post("/incidents", json={**incident, "unit_id": "UL-KS"}, headers=tranemo)).status_code == 403
    as_it = {**incident, "reported_by": "it", "unit_id": None}
    assert (await api.post("/incidents", json=as_it, headers=tranemo)).status_code == 403  # AV-4: IT publishes
    own = await api.post("/incidents", json={**incident, "unit_id": "TR-KS"}, headers=tranemo)
    assert own.status_code == 201 and own.json()["recorded_by"] == "E1001"
    case = {"case_id": "DEV-F-1", "title": "E-arkiv", "kind": "new_system_setup", "estimated_cost": "450000"}
    elsewhere = await api.post("/development-cases", json={**case, "unit_id": "UL-KS"}, headers=tranemo)
    assert elsewhere.status_code == 403
    assert (await api.get("/development-cases/DEV-F-1")).status_code == 404  # nothing was started
