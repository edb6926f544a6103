"""Issue 20, medium 1: every object-level filter fails closed. A scoped role whose token lacks its scoping claim
(unit, employee number, team) — or carries it blank — gets nothing outside its scope from any list or object
endpoint of the access policy (api.policy.POLICY): 403, 404 or an empty answer."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from api.policy import EMPLOYEE, POLICY, UNIT_MANAGER
from db.billing_models import InvoiceBasisRow
from tests.api.test_forgery import delivered

# what the test creates for two units and two employees: none of it may reach a caller without a scope
MARKERS = ("ORD-S-1", "ORD-S-2", "T-S-1", "T-S-2", "E7777")
PARAMS = {"order_number": "ORD-S-1", "unit_id": "TR-KS", "person_ref": "E7777", "year": "2026",
          "category": "laptop", "municipality": "tranemo"}
# the roles narrowed by an object-level rule, each without its scoping claims (absent, then blank); IT staff's
# team claim narrows nothing (IT sees every unit by role), so it has no row here
UNSCOPED = {
    UNIT_MANAGER: [{}, {"unit": ""}, {"unit": "   "}, {"unit": "", "team": ""}],
    EMPLOYEE: [{}, {"employee_id": ""}, {"employee_id": " ", "unit": ""}],
}


async def seeded(api, sessions) -> dict[str, str]:
    """Two units' devices, tickets, a service request, a designated applicant and invoice bases."""
    await delivered(api, "ORD-S-1", "TR-KS", "E5001")
    await delivered(api, "ORD-S-2", "UL-KS", "E5002")
    for number, unit, reporter in (("T-S-1", "TR-KS", "E5001"), ("T-S-2", "UL-KS", "E5002")):
        answer = await api.post("/tickets", json={"number": number, "unit_id": unit, "reporter_ref": reporter,
                                                   "title": "x"})
        assert answer.status_code == 201, answer.text
    request = await api.post("/service-requests", headers=api.bearer("E1001", "unit-manager", unit="TR-KS"), json={
        "unit_id": "TR-KS", "details": {"kind": "physical_move", "from_location": "A", "to_location": "B"}})
    assert request.status_code == 201, request.text
    designated = await api.put("/units/TR-KS/designated-applicants/E7777",
                               headers=api.bearer("E1001", "unit-manager", unit="TR-KS"))
    assert designated.status_code == 200, designated.text
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    with sessions() as session:
        for unit, municipality in (("TR-KS", "tranemo"), ("UL-KS", "ulricehamn")):
            session.add(InvoiceBasisRow(municipality=municipality, period="2026-10", kind="month", unit_id=unit,
                                        run_id="run-s", total=Decimal("100.00"),
                                        changes={"previous_period": None, "items": [], "total_before": None,
                                                 "total_after": "100.00"},
                                        created_at=now))
        session.commit()
        basis = session.query(InvoiceBasisRow).filter_by(unit_id="TR-KS").one().id
    return {**PARAMS, "number": "T-S-1", "sr_number": request.json()["number"], "basis_id": str(basis)}


def url_of(path: str, values: dict[str, str]) -> str:
    if path.startswith("/service-requests/"):
        values = {**values, "number": values["sr_number"]}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), path)


def query_of(path: str) -> dict[str, str]:
    return {"municipality": "tranemo", "period": "2026-10"} if path == "/billing/bases" else {}


def outside_scope(answer, scoped: bool) -> list[str]:
    """What of the seeded objects the answer shows (nothing, for a caller without a scope); a scoped list
    answers empty."""
    if answer.status_code in (401, 403, 404, 422):
        return []
    assert answer.status_code == 200, (answer.request.url, answer.status_code, answer.text)
    shown = [marker for marker in MARKERS if marker in answer.text]
    body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else None
    if scoped and isinstance(body, list) and body and not shown:
        shown = [f"{len(body)} rows"]
    return shown


def reads_of(role: str) -> list[tuple[str, str, bool]]:
    """Every read the policy lets `role` call: (method, path, narrowed by an object-level rule)."""
    return [(method, path, bool(rule.scoped)) for (method, path), rule in POLICY.items()
            if rule.reads and role in rule.roles]


async def test_every_scoped_read_fails_closed_without_the_scoping_claim(api, bearer, sessions):
    values = await seeded(api, sessions)
    scoped = {(m, p) for role in UNSCOPED for m, p, narrowed in reads_of(role) if narrowed}
    assert {("GET", "/billing/bases"), ("GET", "/devices"), ("GET", "/tickets/{number}")} <= scoped
    leaks = []
    for role, variants in UNSCOPED.items():
        for claims in variants:
            caller = bearer("nobody.s", role, **claims)
            for method, path, narrowed in reads_of(role):
                answer = await api.request(method, url_of(path, values), params=query_of(path), headers=caller)
                if shown := outside_scope(answer, narrowed):
                    leaks.append((role, claims, method, path, shown))
    assert leaks == []


@pytest.mark.parametrize("claims", [{}, {"unit": ""}])
async def test_manager_without_unit_sees_no_invoice_basis_and_acts_for_no_unit(api, bearer, sessions, claims):
    values = await seeded(api, sessions)
    manager = bearer("E1001", "unit-manager", **claims)
    bases = await api.get("/billing/bases", params={"municipality": "tranemo", "period": "2026-10"}, headers=manager)
    assert bases.status_code == 200 and bases.json() == []
    assert (await api.get(f"/billing/bases/{values['basis_id']}", headers=manager)).status_code == 404
    assert (await api.get("/units/TR-KS/designated-applicants", headers=manager)).status_code == 404
    order = {"order_number": "ORD-S-9", "model_code": "LAT-5450", "unit_id": "TR-KS", "user_ref": "E5001"}
    assert (await api.post("/orders", json=order, headers=manager)).status_code == 403
    assert (await api.put("/units/TR-KS/designated-applicants/E8888", headers=manager)).status_code == 404
    # with its unit the same manager sees its own basis: the filter narrows, it does not blind
    own = bearer("E1001", "unit-manager", unit="TR-KS")
    shown = await api.get("/billing/bases", params={"municipality": "tranemo", "period": "2026-10"}, headers=own)
    assert [b["unit_id"] for b in shown.json()] == ["TR-KS"]


async def test_employee_without_a_known_number_sees_no_device_with_no_user(api, bearer, sessions):
    """A device without a user (user_ref NULL) never matches a caller whose employee number is unknown."""
    assert (await api.post("/orders", json={"order_number": "ORD-S-0", "model_code": "LAT-5450",
                                            "unit_id": "TR-KS"})).status_code == 201
    from api.auth import Principal
    from api.access import may_see, visible
    from db.models import Device

    nobody = Principal(subject="g-0000", roles=frozenset({EMPLOYEE}), employee_ref=None)
    with sessions() as session:
        from sqlalchemy import select
        assert list(session.scalars(select(Device).where(visible(nobody, Device.unit_id, Device.user_ref)))) == []
    assert not may_see(nobody, ("TR-KS",), None)
