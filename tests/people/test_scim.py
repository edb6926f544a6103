"""SCIM 2.0 provisioning from Entra ID (issue 22): scim2-tester's checks pass against /scim/v2 in-process; only
the `provisioning` role calls it; errors answer in SCIM's error schema."""
from __future__ import annotations

import asyncio

from scim2_tester import Status, check_server

from tests.people.scim_client import HttpxSCIMClient, scim_http

SCIM = "http://ramflow.test/scim/v2"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def entra_user(number: str = "E7001", upn: str = "eva.ek@tranemo.se", department: str | None = "TR-KS",
               oid: str = "7a1c2d4e-0000-4000-8000-000000007001", **extra) -> dict:
    """A User as Entra ID's provisioning sends it (docs/people.md's mappings)."""
    user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE], "userName": upn,
            "externalId": oid, "active": True, "displayName": "Eva Ek",
            "name": {"givenName": "Eva", "familyName": "Ek"},
            "emails": [{"value": upn, "type": "work", "primary": True}],
            ENTERPRISE: {"employeeNumber": number, **({"department": department} if department else {})}}
    return {**user, **extra}


async def test_scim2_tester_checks_pass_against_scim_v2(api, bearer):
    app = api._transport.app
    headers = bearer("entra", "provisioning")
    loop = asyncio.get_running_loop()

    def run() -> list:
        with scim_http(app, headers, loop) as http:
            return check_server(HttpxSCIMClient(http), raise_exceptions=False)

    results = await asyncio.to_thread(run)
    failed = [f"{r.title}: {r.reason}" for r in results if r.status not in (Status.SUCCESS, Status.SKIPPED)]
    assert not failed, "\n".join(failed)
    assert sum(r.status == Status.SUCCESS for r in results) > 100  # discovery, CRUD, PATCH of every attribute


async def test_only_the_provisioning_role_calls_scim(api, bearer):
    assert (await api.get(f"{SCIM}/Users", headers={"Authorization": ""})).status_code == 401
    for roles in (("it-staff", "it-admin"), ("auditor",), ("employee",)):
        refused = await api.get(f"{SCIM}/Users", headers=bearer("it.anna", *roles))
        assert refused.status_code == 403, refused.text
        assert refused.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    created = await api.post(f"{SCIM}/Users", json=entra_user(), headers=bearer("it.anna", "it-admin"))
    assert created.status_code == 403
    assert (await api.get(f"{SCIM}/Users", headers=bearer("entra", "provisioning"))).status_code == 200
    # the machine token reads nothing of /api/v1
    assert (await api.get("/people", headers=bearer("entra", "provisioning"))).status_code == 403


async def test_scim_errors_in_scims_schema_uniqueness_not_found_invalid_value(api, bearer):
    entra = bearer("entra", "provisioning")
    created = await api.post(f"{SCIM}/Users", json=entra_user(), headers=entra)
    assert created.status_code == 201, created.text
    assert created.headers["location"].endswith(f"/scim/v2/Users/{created.json()['id']}")
    again = await api.post(f"{SCIM}/Users", json=entra_user(number="E7002", oid="other"), headers=entra)
    assert again.status_code == 409 and again.json()["scimType"] == "uniqueness"
    assert "userName" in again.json()["detail"]
    missing = await api.get(f"{SCIM}/Users/no-such-id", headers=entra)
    assert missing.status_code == 404 and missing.json()["status"] == "404"
    no_number = entra_user(upn="bo@tranemo.se", oid="bo")
    del no_number[ENTERPRISE]
    refused = await api.post(f"{SCIM}/Users", json=no_number, headers=entra)
    assert refused.status_code == 400 and refused.json()["scimType"] == "invalidValue"
    assert "employeeNumber" in refused.json()["detail"]
    bad_filter = await api.get(f"{SCIM}/Users", params={"filter": "userName zz"}, headers=entra)
    assert bad_filter.status_code == 400 and bad_filter.json()["scimType"] == "invalidFilter"


async def test_entra_lookups_by_user_name_and_external_id_and_the_register_row(api, bearer):
    entra = bearer("entra", "provisioning")
    created = (await api.post(f"{SCIM}/Users", json=entra_user(), headers=entra)).json()
    for expression in ('userName eq "EVA.EK@tranemo.se"', 'externalId eq "7a1c2d4e-0000-4000-8000-000000007001"'):
        found = (await api.get(f"{SCIM}/Users", params={"filter": expression}, headers=entra)).json()
        assert found["totalResults"] == 1 and found["Resources"][0]["id"] == created["id"], expression
    nobody = (await api.get(f"{SCIM}/Users", params={"filter": 'userName eq "nobody@x.se"'}, headers=entra)).json()
    assert nobody["totalResults"] == 0 and nobody["Resources"] == []
    person = (await api.get("/people/E7001")).json()  # the register, as IT reads it
    assert person["name"] == "Eva Ek" and person["email"] == "eva.ek@tranemo.se" and person["unit_id"] == "TR-KS"
    assert person["subject"] == "7a1c2d4e-0000-4000-8000-000000007001" and person["active"] is True
    report = entra_user(number="E7003", upn="ola@tranemo.se", oid="ola", department="Okänd avdelning")
    report[ENTERPRISE]["manager"] = {"value": created["id"]}
    reported = await api.post(f"{SCIM}/Users", json=report, headers=entra)
    assert reported.status_code == 201, reported.text
    ola = (await api.get("/people/E7003")).json()
    assert (ola["manager_ref"], ola["department"], ola["unit_id"]) == ("E7001", "Okänd avdelning", None)


async def test_entra_patch_shapes_keep_the_register_current(api, bearer):
    """Entra ID's PATCH: capitalised ops, a value path into emails, a path-less replace with "False"."""
    entra = bearer("entra", "provisioning")
    user = (await api.post(f"{SCIM}/Users", json=entra_user(), headers=entra)).json()
    boss = (await api.post(f"{SCIM}/Users", json=entra_user(number="E1001", upn="chef@tranemo.se", oid="chef"),
                           headers=entra)).json()
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "Replace", "path": "displayName", "value": "Eva Ekström"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "eva.ekstrom@tranemo.se"},
        {"op": "Add", "path": "preferredLanguage", "value": "en-GB"},
        {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": boss["id"]}]}  # Entra: the manager's id alone
    changed = await api.patch(f"{SCIM}/Users/{user['id']}", json=patch, headers=entra)
    assert changed.status_code == 200, changed.text
    person = (await api.get("/people/E7001")).json()
    assert (person["name"], person["email"], person["language"]) == ("Eva Ekström", "eva.ekstrom@tranemo.se", "en")
    assert person["manager_ref"] == "E1001"
    assert changed.json()["meta"]["version"] != user["meta"]["version"]
    off = await api.patch(f"{SCIM}/Users/{user['id']}", headers=entra, json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "value": {"active": "False"}}]})
    assert off.status_code == 200 and off.json()["active"] is False, off.text
    assert (await api.get("/people/E7001")).json()["active"] is False
    changes = [c for c in (await api.get("/reference-changes")).json() if c["entity"] == "person"]
    assert changes and {c["actor"] for c in changes} == {"entra"}  # each provisioning change is recorded
