"""Issue 20, low findings: designated applicants are shown to IT, auditors and the unit's manager only; CORS
only on the codec endpoint; production needs an explicit https issuer and has no API docs by default; the
system actor's name cannot be claimed with lookalikes; `roles` must be a list; the console checks the ID
token's `iss` and `exp`; idempotency keys are each caller's own; employees report tickets for their own unit."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from api.auth import Jwks
from api.main import create_app
from config import Settings
from console.oidc import check_id_token
from tests.api.test_tokens import as_bearer, assert_401, http  # noqa: F401  (the `http` fixture)

ROOT = Path(__file__).resolve().parents[2]


# --- GET /units: designated applicants (rule TK-9) are personal data ------------------------------------
async def test_units_show_designated_applicants_to_it_auditors_and_the_units_manager_only(api, bearer):
    assert (await api.put("/units/TR-KS/designated-applicants/E7777",
                          headers=bearer("E1001", "unit-manager", unit="TR-KS"))).status_code == 200

    async def shown(headers=None) -> dict:
        answer = await api.get("/units", **({"headers": headers} if headers else {}))
        assert answer.status_code == 200, answer.text
        return {u["id"]: u["designated_applicants"] for u in answer.json()}

    assert (await shown())["TR-KS"] == ["E7777"]  # IT
    assert (await shown(bearer("rev.eva", "auditor")))["TR-KS"] == ["E7777"]
    own = await shown(bearer("E1001", "unit-manager", unit="TR-KS"))
    assert own["TR-KS"] == ["E7777"] and own["UL-KS"] is None
    assert (await shown(bearer("E2001", "unit-manager", unit="UL-KS")))["TR-KS"] is None
    assert all(v is None for v in (await shown(bearer("E5001", "employee"))).values())


# --- CORS: the codec endpoint only --------------------------------------------------------------------
async def test_cors_with_credentials_answers_on_the_codec_endpoint_only(api):
    preflight = {"Origin": "http://127.0.0.1:8233", "Access-Control-Request-Method": "POST"}
    codec = await api.options("/codec/decode", headers=preflight)
    assert codec.headers["access-control-allow-origin"] == "http://127.0.0.1:8233"
    assert codec.headers["access-control-allow-credentials"] == "true"
    for path in ("/orders", "/tickets", "/people/E5001"):
        answer = await api.options(path, headers=preflight)
        assert "access-control-allow-origin" not in answer.headers, path
        assert "access-control-allow-credentials" not in answer.headers, path
    read = await api.get("/units", headers={"Origin": "http://127.0.0.1:8233"})
    assert read.status_code == 200 and "access-control-allow-origin" not in read.headers


# --- production settings ---------------------------------------------------------------------------------
def test_production_api_refuses_to_start_without_an_explicit_https_issuer(database_url):
    for given in ({}, {"oidc_issuer": "http://127.0.0.1:18900"}):
        with pytest.raises(ValueError, match="OIDC_ISSUER"):
            create_app(settings=Settings(ramflow_env="production", database_url=database_url, **given))
    issuer = "https://login.microsoftonline.com/tenant/v2.0"
    with pytest.raises(ValueError, match="SURVEY_LINK_SECRET"):  # rule TK-6: the development key is known
        create_app(settings=Settings(ramflow_env="production", database_url=database_url, oidc_issuer=issuer))
    create_app(settings=Settings(ramflow_env="production", database_url=database_url, oidc_issuer=issuer,
                                 survey_link_secret="a-key-of-production"))
    create_app(settings=Settings(database_url=database_url))  # development: the local issuer


def test_production_process_does_not_start_without_the_issuer(database_url, tmp_path):
    """`uvicorn api.main:app` imports the module: in production without OIDC_ISSUER that import fails."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OIDC_", "RAMFLOW_", "API_DOCS"))}
    env.update(RAMFLOW_ENV="production", DATABASE_URL=database_url)
    started = subprocess.run([sys.executable, "-c", "import api.main"], cwd=tmp_path, env={
        **env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert started.returncode != 0 and "OIDC_ISSUER" in started.stderr


async def test_api_docs_are_off_by_default_in_production(database_url, sessions):
    assert Settings(ramflow_env="production").api_docs_enabled is False
    assert Settings(ramflow_env="production", api_docs_enabled=True).api_docs_enabled is True
    assert Settings().api_docs_enabled is True  # development
    app = create_app(settings=Settings(ramflow_env="production", database_url=database_url,
                                       oidc_issuer="https://login.microsoftonline.com/tenant/v2.0",
                                       survey_link_secret="a-key-of-production"), sessions=sessions)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ramflow.test") as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await client.get(path)).status_code in (401, 404), path


# --- token claims --------------------------------------------------------------------------------------
@pytest.mark.parametrize("subject", ["ramflow\u200b", "\u200bramflow", "RAMFLOW", "r\u0430mflow", "ｒａｍｆｌｏｗ",
                                     "ram\u00adflow", "rarnflow", "ramf1ow", "ramfl0w", "ram-flow"])
async def test_lookalikes_of_the_system_actor_are_refused(http, issuer, subject):  # noqa: F811
    answer = await http.get("/api/v1/units", headers=as_bearer(issuer.mint(subject, ["it-staff"])))
    assert_401(answer)


async def test_a_subject_is_one_identity_whatever_invisible_characters_it_carries(http, issuer):  # noqa: F811
    token = issuer.mint("it.anna\u200b", ["it-admin"])
    answer = await http.put("/api/v1/price-list/2026/LAT-5450", headers=as_bearer(token), json={
        "year": 2026, "model_code": "LAT-5450", "monthly_rent": "232.00"})
    assert answer.status_code == 200, answer.text
    changes = (await http.get("/api/v1/reference-changes", headers=as_bearer(token))).json()
    assert changes[0]["actor"] == "it.anna"


@pytest.mark.parametrize("roles", ["it-admin", "it-admin auditor", {"it-admin": True}, ["it-admin", 7]])
async def test_roles_must_be_a_list_of_strings(http, issuer, roles):  # noqa: F811
    from joserfc import jwt

    now = int(time.time())
    claims = {"iss": issuer.url, "aud": issuer.audience, "sub": "it.anna", "roles": roles, "iat": now, "nbf": now,
              "exp": now + 600}
    token = jwt.encode({"alg": "RS256", "kid": issuer.key.kid, "typ": "JWT"}, claims, issuer.key)
    assert_401(await http.get("/api/v1/units", headers=as_bearer(token)), "roles")


# --- the console's ID token ------------------------------------------------------------------------------
async def test_console_id_token_needs_this_issuer_and_no_expiry_passed(issuer, settings):
    jwks = Jwks(settings)
    client_id = settings.console_client_id

    def id_token(**claims) -> str:
        return issuer.mint("it.anna", aud=client_id, nonce="n-1", **claims)

    await check_id_token(id_token(), jwks, client_id, "n-1", issuer.url)
    with pytest.raises(PermissionError, match="exp"):
        await check_id_token(id_token(exp=int(time.time()) - 3600), jwks, client_id, "n-1", issuer.url)
    with pytest.raises(PermissionError, match="iss"):
        await check_id_token(id_token(iss="https://evil.example"), jwks, client_id, "n-1", issuer.url)
    with pytest.raises(PermissionError, match="exp"):
        await check_id_token(id_token(exp=None), jwks, client_id, "n-1", issuer.url)


# --- idempotency keys are the caller's own -----------------------------------------------------------------
async def test_idempotency_keys_are_scoped_to_the_caller(api, bearer):
    body = {"unit_id": "TR-KS", "reporter_ref": "E5001", "title": "Skrivaren"}
    first = await api.post("/tickets", json=body, headers={"Idempotency-Key": "key-1"})
    assert first.status_code == 201, first.text
    again = await api.post("/tickets", json=body, headers={"Idempotency-Key": "key-1"})
    assert (again.status_code, again.json()["number"]) == (200, first.json()["number"])
    other = {**bearer("it.bo", "it-staff"), "Idempotency-Key": "key-1"}
    theirs = await api.post("/tickets", json={**body, "title": "Annat"}, headers=other)
    assert theirs.status_code == 201, theirs.text  # another caller's key: neither refused nor the first ticket
    assert theirs.json()["number"] != first.json()["number"]
    incident = {"kind": "outage", "title": "Nätet", "reported_by": "it", "started_at": "2026-11-02T08:00:00+01:00"}
    mine = await api.post("/incidents", json=incident, headers={"Idempotency-Key": "key-2"})
    assert mine.status_code == 201, mine.text
    other_incident = await api.post("/incidents", json={**incident, "title": "Annat"}, headers={
        **bearer("it.bo", "it-staff"), "Idempotency-Key": "key-2"})
    assert other_incident.status_code == 201 and other_incident.json()["id"] != mine.json()["id"]


# --- employees report for their own unit -----------------------------------------------------------------
async def test_employee_reports_tickets_for_their_own_unit_only(api, bearer):
    ticket = {"reporter_ref": "E5001", "title": "Skärmen"}
    claimed = bearer("E5001", "employee", unit="TR-KS")
    assert (await api.post("/tickets", json={**ticket, "unit_id": "TR-KS"}, headers=claimed)).status_code == 201
    refused = await api.post("/tickets", json={**ticket, "unit_id": "UL-KS"}, headers=claimed)
    assert refused.status_code == 403 and "unit_id" in refused.json()["detail"]
    unknown = bearer("E5001", "employee")  # no unit claim and not in the register: IT registers it
    assert (await api.post("/tickets", json={**ticket, "unit_id": "TR-KS"}, headers=unknown)).status_code == 403
    assert (await api.put("/people/E5001", json={"name": "Eva", "unit_id": "UL-KS"})).status_code == 200
    assert (await api.post("/tickets", json={**ticket, "unit_id": "UL-KS"}, headers=unknown)).status_code == 201
    assert (await api.post("/tickets", json={**ticket, "unit_id": "TR-KS"}, headers=unknown)).status_code == 403
