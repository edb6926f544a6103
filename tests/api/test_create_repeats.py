"""Issue 20, object-level authorisation on create: a create whose business key exists answers the existing
object only to a caller who may see it (another caller: 409 that names the key and nothing of the object), and
a repeat with another body is 409 naming the field, not a silent 200. One test per creating route, two callers."""
from __future__ import annotations

from datetime import date, timedelta

from tests.agreements.helpers import content
from tests.premises.test_premises_api import project

IT_ADMIN = ("it.admin", "it-admin")


def revealed(answer, *secrets: str) -> list[str]:
    """The secrets an answer gives away (its whole text)."""
    return [secret for secret in secrets if secret in answer.text]


async def repeat_checks(api, path: str, body: dict, owner: dict, other: dict | None, key: str, field: str,
                        changed, secrets: tuple[str, ...], **theirs) -> None:
    """The shared assertions: created by `owner`; `other` (if any) repeating it as theirs (`theirs`: their own
    unit or person) learns nothing; `owner`'s same body is 200 with the object, another value of `field` is 409
    naming it."""
    created = await api.post(path, json=body, headers=owner)
    assert created.status_code == 201, created.text
    if other is not None:
        stranger = await api.post(path, json={**body, **theirs}, headers=other)
        assert stranger.status_code in (404, 409), stranger.text
        assert stranger.json()["detail"].startswith(f"{key}:") and not revealed(stranger, *secrets), stranger.text
    same = await api.post(path, json=body, headers=owner)
    assert same.status_code == 200, same.text
    differs = await api.post(path, json={**body, field: changed}, headers=owner)
    assert differs.status_code == 409 and differs.json()["detail"].startswith(f"{field}:"), differs.text


async def test_issue20_ticket_number_of_another_employee_reveals_nothing(api, bearer):
    body = {"number": "T-REP-1", "unit_id": "TR-KS", "reporter_ref": "E5001", "title": "Skrivaren",
            "description": "Min hemliga beskrivning"}
    await repeat_checks(api, "/tickets", body, bearer("E5001", "employee"), bearer("E5002", "employee"),
                        "number", "title", "Annan titel", ("E5001", "hemliga", "Skrivaren"), reporter_ref="E5002")
    manager_elsewhere = await api.post("/tickets", headers=bearer("E2001", "unit-manager", unit="UL-KS"),
                                       json={**body, "unit_id": "UL-KS", "reporter_ref": "E2001"})
    assert manager_elsewhere.status_code == 409 and "hemliga" not in manager_elsewhere.text
    assert (await api.post("/tickets", json=body)).status_code == 200  # IT sees every ticket


async def test_issue20_order_number_of_another_unit_reveals_nothing(api, bearer):
    body = {"order_number": "ORD-REP-1", "model_code": "LAT-5450", "unit_id": "UL-KS", "user_ref": "E2101"}
    tranemo = bearer("E1001", "unit-manager", unit="TR-KS")
    await repeat_checks(api, "/orders", body, bearer("E2001", "unit-manager", unit="UL-KS"), None,
                        "order_number", "model_code", "LAT-7450", ())
    stranger = await api.post("/orders", json={**body, "unit_id": "TR-KS"}, headers=tranemo)
    assert stranger.status_code == 409 and stranger.json()["detail"].startswith("order_number:")
    assert not revealed(stranger, "UL-KS", "E2101", "LAT-5450"), stranger.text


async def test_issue20_service_request_of_another_unit_reveals_nothing(api, bearer):
    body = {"number": "SR-REP-1", "unit_id": "UL-KS", "details": {
        "kind": "non_employee_account", "holder": "Konsult Karlsson", "organisation": "Konsult AB",
        "valid_until": "2027-06-30"}}
    ulricehamn = bearer("E2001", "unit-manager", unit="UL-KS")
    created = await api.post("/service-requests", json=body, headers=ulricehamn)
    assert created.status_code == 201, created.text
    stranger = await api.post("/service-requests", headers=bearer("E1001", "unit-manager", unit="TR-KS"),
                              json={**body, "unit_id": "TR-KS"})
    assert stranger.status_code in (403, 409) and not revealed(stranger, "Karlsson", "UL-KS"), stranger.text
    same = await api.post("/service-requests", json=body, headers=ulricehamn)
    assert same.status_code == 200 and same.json()["details"]["holder"] == "Konsult Karlsson"
    other = {**body, "details": {**body["details"], "holder": "Konsult Persson"}}
    differs = await api.post("/service-requests", json=other, headers=ulricehamn)
    assert differs.status_code == 409 and differs.json()["detail"].startswith("details:"), differs.text


async def test_issue20_development_case_answers_a_manager_nothing(api, bearer):
    body = {"case_id": "DEV-REP-1", "title": "Nytt ekonomisystem", "kind": "new_system_setup", "unit_id": "UL-KS",
            "estimated_cost": "2500000.00", "description": "Upphandling pågår"}
    await repeat_checks(api, "/development-cases", body, bearer(*IT_ADMIN), None, "case_id", "estimated_cost",
                        "100.00", ())
    manager = await api.post("/development-cases", json=body, headers=bearer("E2001", "unit-manager", unit="UL-KS"))
    assert manager.status_code == 409 and manager.json()["detail"].startswith("case_id:")
    assert not revealed(manager, "Upphandling", "at_steering_group", "2500000"), manager.text


async def test_issue20_agreement_cloud_move_service_premises_proposal_repeats_compare_the_body(api, bearer):
    """Their creators may read them (IT): the object-level part is the body; a differing repeat is 409."""
    admin = bearer(*IT_ADMIN)
    await repeat_checks(api, "/agreements", content("APP-REP-1").model_dump(mode="json"), admin, None,
                        "agreement_id", "application", "Annat system", ())
    move = {"case_id": "CM-REP-1", "application": "Bokningssystem", "unit_id": "UL-SBF", "system_owner_ref": "E2004",
            "supplier": "Moln AB"}
    await repeat_checks(api, "/cloud-moves", move, admin, None, "case_id", "supplier", "Annan AB", ())
    delivery = {"service_code": "svc-rep-1", "name": "Follow me print",
                "agreement": content("APP-REP-2", cost_lines=[
                    {"component": "support_tools", "quantity": "12", "service_code": "svc-rep-1"}]).model_dump(
                    mode="json")}
    await repeat_checks(api, "/services", delivery, admin, None, "service_code", "name", "Annat namn", ())
    await repeat_checks(api, "/premises-projects", project("FC-REP-1"), bearer("it.staff", "it-staff"), None,
                        "project_id", "address", "Annan gata 2", ())
    acute = {"kind": "acute", "proposal_id": "acute-rep", "title": "Lagändring", "law_reference": "SFS 2026:1",
             "effective_from": str(date.today() + timedelta(days=30))}
    await repeat_checks(api, "/framework/proposals", acute, admin, None, "proposal_id", "title", "Annan", ())
