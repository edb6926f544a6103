"""Issue 20, medium 5: Entra-shaped identities. The token's subject is a GUID (`oid`); who the person is comes
from the employee-number claim, else the people register's link of the subject. Every ownership check (TK-9's
manager and designated applicants, AG-4's system owner, EQ-11's buyer, an employee's own objects) compares
employee numbers, and the person recorded is the employee number while `actor` stays the subject."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from config import Settings
from tests.agreements.helpers import content
from tests.api.test_forgery import delivered

MANAGER = "3f2c1a9e-7b7d-4e55-9a51-0c1d2e3f4a01"  # E1001, manager of TR-KS
OWNER = "8d6b2f10-2c4e-4b8a-bb1f-5e6f7a8b9c02"  # E1003, system owner
EMPLOYEE = "c0ffee00-1234-4abc-8def-0123456789ab"  # E5001, works at TR-KS
STRANGER = "deadbeef-0000-4000-8000-000000000000"  # linked to no one


async def linked(api, employee_ref: str, subject: str, unit_id: str | None = None) -> None:
    answer = await api.put(f"/people/{employee_ref}", json={"name": f"Person {employee_ref}", "subject": subject,
                                                             "unit_id": unit_id})
    assert answer.status_code == 200, answer.text


def account(unit_id: str = "TR-KS") -> dict:
    return {"unit_id": unit_id, "details": {"kind": "non_employee_account", "holder": "Konsult K",
                                            "organisation": "Konsultbolaget AB",
                                            "valid_until": str(date.today() + timedelta(days=60))}}


async def test_tk9_manager_with_a_guid_subject_designates_and_applies_as_their_employee_number(api, bearer):
    await linked(api, "E1001", MANAGER, "TR-KS")
    manager = bearer(MANAGER, "unit-manager", "employee", unit="TR-KS")
    designated = await api.put("/units/TR-KS/designated-applicants/E7777", headers=manager)
    assert designated.status_code == 200, designated.text
    assert designated.json()["designated_by"] == "E1001"
    applied = await api.post("/service-requests", headers=manager, json=account())
    assert applied.status_code == 201, applied.text
    assert applied.json()["applicant_ref"] == "E1001" and applied.json()["log"][0]["actor"] == MANAGER
    # naming oneself by employee number is the same person; naming another is not
    assert (await api.post("/service-requests", headers=manager,
                           json={**account(), "applicant_ref": "E1001"})).status_code == 201
    assert (await api.post("/service-requests", headers=manager,
                           json={**account(), "applicant_ref": "E7777"})).status_code == 403


async def test_tk9_designated_employee_with_a_guid_subject_applies(api, bearer):
    await linked(api, "E1001", MANAGER, "TR-KS")
    await linked(api, "E7777", EMPLOYEE, "TR-KS")
    assert (await api.put("/units/TR-KS/designated-applicants/E7777",
                          headers=bearer(MANAGER, "unit-manager", unit="TR-KS"))).status_code == 200
    applied = await api.post("/service-requests", headers=bearer(EMPLOYEE, "employee"), json=account())
    assert applied.status_code == 201, applied.text
    assert applied.json()["applicant_ref"] == "E7777"
    assert (await api.post("/service-requests", headers=bearer(STRANGER, "employee"), json=account())).status_code == 403


async def test_ag4_system_owner_with_a_guid_subject_approves_their_agreement(api, bearer):
    await linked(api, "E1003", OWNER)
    assert (await api.post("/agreements", json=content("APP-ENTRA", owner="E1003").model_dump(mode="json"))
            ).status_code == 201
    events = "/agreements/APP-ENTRA/drawing-up/events"
    approve = {"action": {"event": "approve", "party": "system_owner"}}
    assert (await api.post(events, json=approve, headers=bearer(STRANGER, "system-owner"))).status_code == 403
    answer = await api.post(events, json=approve, headers=bearer(OWNER, "system-owner"))
    assert answer.status_code == 200, answer.text
    approval = answer.json()["approvals"][0]
    assert (approval["party"], approval["actor"], approval["person"]) == ("system_owner", OWNER, "E1003")


async def test_ag4_the_employee_number_claim_names_the_owner(api, bearer):
    """Without a register link, the token's employee-number claim says who the person is."""
    assert (await api.post("/agreements", json=content("APP-CLAIM", owner="E1003").model_dump(mode="json"))
            ).status_code == 201
    answer = await api.post("/agreements/APP-CLAIM/drawing-up/events", headers=bearer(
        OWNER, "system-owner", employee_id="E1003"), json={"action": {"event": "approve", "party": "system_owner"}})
    assert answer.status_code == 200, answer.text


async def test_employee_with_a_guid_subject_sees_and_reports_their_own(api, bearer):
    await linked(api, "E5001", EMPLOYEE, "TR-KS")
    await delivered(api, "ORD-G-1", "TR-KS", "E5001")
    await delivered(api, "ORD-G-2", "TR-KS", "E5002")
    me = bearer(EMPLOYEE, "employee")
    assert [d["order_number"] for d in (await api.get("/devices", headers=me)).json()] == ["ORD-G-1"]
    report = await api.post("/tickets", headers=me, json={"unit_id": "TR-KS", "reporter_ref": "E5001",
                                                          "title": "Skärmen"})
    assert report.status_code == 201, report.text
    assert report.json()["log"][0]["actor"] == EMPLOYEE  # the audit keeps the subject
    nobody = bearer(STRANGER, "employee")
    assert (await api.get("/devices", headers=nobody)).json() == []
    assert (await api.get("/devices/ORD-G-1", headers=nobody)).status_code == 404


@pytest.fixture
def production_identity(settings: Settings) -> Settings:
    """As in production: a subject no one is linked to is no employee number."""
    settings.oidc_subject_is_employee_ref = False
    return settings


async def test_an_unlinked_subject_is_no_one_in_production(production_identity, api, bearer):
    await delivered(api, "ORD-G-3", "TR-KS", "E5001")
    # the subject happens to read like an employee number: without a link or a claim it is no one
    assert (await api.get("/devices", headers=bearer("E5001", "employee"))).json() == []
    assert [d["order_number"] for d in (await api.get("/devices", headers=bearer(
        "E5001", "employee", employee_id="E5001"))).json()] == ["ORD-G-3"]


async def test_a_subject_never_takes_the_number_of_someone_linked_to_another_login(api, bearer):
    await linked(api, "E5001", EMPLOYEE, "TR-KS")
    await delivered(api, "ORD-G-4", "TR-KS", "E5001")
    # development: subjects are employee numbers, unless that number belongs to another login
    assert (await api.get("/devices", headers=bearer("E5001", "employee"))).json() == []
    assert [d["order_number"] for d in (await api.get("/devices", headers=bearer(EMPLOYEE, "employee"))).json()
            ] == ["ORD-G-4"]


async def test_eq11_employee_with_a_guid_subject_answers_their_buyout_offer(api, bearer):
    from tests.api.test_forgery import offered

    await linked(api, "E5001", EMPLOYEE, "TR-KS")
    await offered(api, "ORD-G-5", "TR-KS", "E5001")
    accept = {"action": {"event": "accept_buyout"}}
    assert (await api.post("/devices/ORD-G-5/events", json=accept, headers=bearer(STRANGER, "employee"))
            ).status_code == 403
    answer = await api.post("/devices/ORD-G-5/events", json=accept, headers=bearer(EMPLOYEE, "employee"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["log"][-1]["actor"] == EMPLOYEE
