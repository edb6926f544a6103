"""Who is calling: bearer tokens validated against the local OpenID Connect issuer over HTTP, by the same
code as for Entra ID (issue 8). These need no Temporal: the routes they call read the database only."""
from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from api.main import create_app
from config import Settings


@pytest.fixture
async def http(settings, sessions):
    app = create_app(settings=settings, sessions=sessions)
    app.state.jwks.min_refresh_interval = 0  # an unknown kid refetches at once in these tests
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ramflow.test") as client:
        client.app = app
        yield client


def as_bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def assert_401(response: httpx.Response, fragment: str = "") -> None:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="ramflow"')
    assert fragment.lower() in response.json()["detail"].lower()


async def test_valid_rs256_and_es256_tokens_are_accepted(http, issuer):
    for alg in ("RS256", "ES256"):
        response = await http.get("/api/v1/units", headers=as_bearer(issuer.mint("it.anna", ["it-staff"], alg=alg)))
        assert response.status_code == 200, response.text


async def test_missing_token_is_401_with_bearer_challenge(http):
    response = await http.get("/api/v1/units")
    assert_401(response, "bearer token is required")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="ramflow"'
    basic = await http.get("/api/v1/units", headers={"Authorization": "Basic aXQuYW5uYTpwdw=="})
    assert_401(basic, "bearer")


async def test_x_actor_header_is_ignored(http):
    assert_401(await http.get("/api/v1/units", headers={"X-Actor": "it.anna"}))


async def test_wrong_signature_is_401(http, issuer):
    forger = RSAKey.generate_key(2048, parameters={"kid": issuer.key.kid})  # same kid, another key
    claims = {"iss": issuer.url, "aud": issuer.audience, "sub": "it.anna", "roles": ["it-admin"],
              "exp": int(time.time()) + 600}
    token = jwt.encode({"alg": "RS256", "kid": issuer.key.kid}, claims, forger)
    assert_401(await http.get("/api/v1/units", headers=as_bearer(token)), "token refused")


async def test_wrong_issuer_is_401(http, issuer):
    token = issuer.mint("it.anna", ["it-admin"], iss="https://login.microsoftonline.com/other-tenant/v2.0")
    assert_401(await http.get("/api/v1/units", headers=as_bearer(token)), "iss")


async def test_wrong_audience_is_401(http, issuer):
    assert_401(await http.get("/api/v1/units", headers=as_bearer(issuer.mint("it.anna", ["it-admin"],
                                                                              aud="api://another-app"))), "aud")


async def test_expired_token_is_401(http, issuer):
    now = int(time.time())
    token = issuer.mint("it.anna", ["it-admin"], iat=now - 7200, nbf=now - 7200, exp=now - 3600)
    assert_401(await http.get("/api/v1/units", headers=as_bearer(token)), "expired")


async def test_token_not_yet_valid_is_401(http, issuer):
    token = issuer.mint("it.anna", ["it-admin"], nbf=int(time.time()) + 3600)
    assert_401(await http.get("/api/v1/units", headers=as_bearer(token)), "not yet valid")


async def test_token_without_expiry_is_401(http, issuer):
    token = issuer.mint("it.anna", ["it-admin"], exp=None)
    assert_401(await http.get("/api/v1/units", headers=as_bearer(token)))


async def test_alg_none_is_401(http, issuer):
    claims = {"iss": issuer.url, "aud": issuer.audience, "sub": "it.anna", "roles": ["it-admin"],
              "exp": int(time.time()) + 600}
    token = f"{b64({'alg': 'none', 'kid': issuer.key.kid})}.{b64(claims)}."
    assert_401(await http.get("/api/v1/units", headers=as_bearer(token)), "'none'")


async def test_hs256_with_the_public_key_as_secret_is_401(http, issuer):
    """The classic key confusion: only RS256/ES256 are accepted, never a symmetric algorithm."""
    secret = OctKey.import_key(json.dumps(issuer.key.as_dict(private=False)).encode())
    claims = {"iss": issuer.url, "aud": issuer.audience, "sub": "it.anna", "exp": int(time.time()) + 600}
    token = jwt.encode({"alg": "HS256", "kid": issuer.key.kid}, claims, secret)
    assert_401(await http.get("/api/v1/units", headers=as_bearer(token)), "HS256")


async def test_unknown_kid_is_401_after_refetching_the_jwks(http, issuer):
    stranger = RSAKey.generate_key(2048, parameters={"kid": "not-published"})
    claims = {"iss": issuer.url, "aud": issuer.audience, "sub": "it.anna", "exp": int(time.time()) + 600}
    token = jwt.encode({"alg": "RS256", "kid": "not-published"}, claims, stranger)
    assert_401(await http.get("/api/v1/units", headers=as_bearer(token)), "unknown signing key")


async def test_discovery_and_jwks_are_fetched_once_and_cached(http, issuer):
    before = dict(issuer.fetches)
    for user in ("it.anna", "it.bo", "E5001"):
        for _ in range(3):
            token = issuer.mint(user, ["it-staff"])
            assert (await http.get("/api/v1/units", headers=as_bearer(token))).status_code == 200
    assert issuer.fetches == {"discovery": before["discovery"] + 1, "jwks": before["jwks"] + 1}


async def test_rotated_key_is_fetched_on_its_unknown_kid(http, issuer):
    assert (await http.get("/api/v1/units", headers=as_bearer(issuer.mint("it.anna", ["it-staff"])))).status_code == 200
    issuer.rotate()  # the API's cached JWKS does not know the new kid yet
    fresh = issuer.mint("it.anna", ["it-staff"])
    assert (await http.get("/api/v1/units", headers=as_bearer(fresh))).status_code == 200


async def test_malformed_token_is_401(http):
    assert_401(await http.get("/api/v1/units", headers=as_bearer("not-a-jwt")), "malformed")


async def test_reserved_system_actor_cannot_be_claimed(http, issuer):
    for subject in ("ramflow", "Ramflow"):
        assert_401(await http.get("/api/v1/units", headers=as_bearer(issuer.mint(subject, ["it-admin"]))), "reserved")


async def test_entra_id_object_id_is_the_subject(http, issuer, sessions):
    """Entra ID: authorise on `oid` (stable), never on e-mail or name; it is the actor of the audit record."""
    token = issuer.mint("pairwise-sub", ["it-admin"], oid="3f2b8c1e-0000-4000-8000-00000000a11a",
                        preferred_username="anna@tranemo.se", name="Anna")
    response = await http.put("/api/v1/price-list/2026/LAT-5450", headers=as_bearer(token), json={
        "year": 2026, "model_code": "LAT-5450", "monthly_rent": "231.00"})
    assert response.status_code == 200, response.text
    changes = (await http.get("/api/v1/reference-changes", headers=as_bearer(token))).json()
    assert changes[0]["actor"] == "3f2b8c1e-0000-4000-8000-00000000a11a"


async def test_issuer_unreachable_is_503_with_retry_after(database_url, sessions, issuer):
    settings = Settings(database_url=database_url, oidc_issuer="http://127.0.0.1:9", oidc_audience=issuer.audience)
    app = create_app(settings=settings, sessions=sessions)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ramflow.test") as client:
        response = await client.get("/api/v1/units", headers=as_bearer(issuer.mint("it.anna", ["it-staff"])))
    assert response.status_code == 503 and response.headers["Retry-After"]


async def test_liveness_answers_without_a_token_and_everything_else_does_not(http):
    assert (await http.get("/health")).status_code == 200
    assert (await http.get("/openapi.json")).status_code == 200  # the docs, where enabled
    assert_401(await http.get("/api/v1/catalogue/models"))
    assert_401(await http.post("/api/v1/orders", json={}))


async def test_docs_can_be_switched_off(database_url, sessions, issuer):
    settings = Settings(database_url=database_url, oidc_issuer=issuer.url, api_docs_enabled=False)
    app = create_app(settings=settings, sessions=sessions)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ramflow.test") as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await client.get(path)).status_code in (401, 404)
        assert (await client.get("/health")).status_code == 200


async def test_security_headers(http, issuer):
    response = await http.get("/api/v1/devices", headers=as_bearer(issuer.mint("it.anna", ["it-staff"])))
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"  # personal data is never cached
    refused = await http.get("/api/v1/devices")
    assert refused.headers["Cache-Control"] == "no-store" and refused.headers["X-Content-Type-Options"] == "nosniff"
    assert (await http.get("/health")).headers["X-Content-Type-Options"] == "nosniff"


async def test_rate_limit_per_identity_is_429_with_retry_after(database_url, sessions, issuer):
    settings = Settings(database_url=database_url, oidc_issuer=issuer.url, rate_limit_per_minute=5)
    app = create_app(settings=settings, sessions=sessions)
    anna, bo = (as_bearer(issuer.mint(user, ["it-staff"])) for user in ("it.anna", "it.bo"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ramflow.test") as client:
        statuses = [(await client.get("/api/v1/units", headers=anna)).status_code for _ in range(7)]
        limited = await client.get("/api/v1/units", headers=anna)
        other = await client.get("/api/v1/units", headers=bo)  # another identity has its own budget
        anonymous = [(await client.get("/api/v1/units")).status_code for _ in range(7)]  # per address
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert "rate limit" in limited.json()["detail"] and "it.anna" in limited.json()["detail"]
    assert other.status_code == 200
    assert anonymous[:5] == [401] * 5 and anonymous[5:] == [429, 429]


def test_make_token_prints_one_token_from_the_running_issuer_and_nothing_else(issuer):
    """`make -s token USER=… ROLES=…` (the curl walkthroughs): one line, a JWT the API accepts."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "OIDC_ISSUER": issuer.url, "OIDC_AUDIENCE": issuer.audience}
    made = subprocess.run(["make", "-s", f"PY={sys.executable}", "token", "USER=E1001", "ROLES=unit-manager",
                           "UNIT=TR-KS"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    lines = made.stdout.splitlines()
    assert len(lines) == 1 and lines[0].count(".") == 2
    claims = jwt.decode(lines[0], issuer.key).claims
    assert (claims["sub"], claims["roles"], claims["unit"], claims["iss"]) == (
        "E1001", ["unit-manager"], "TR-KS", issuer.url)
    without_user = subprocess.run(["make", "-s", f"PY={sys.executable}", "token", "ROLES=it-admin"], cwd=ROOT,
                                  env=env, capture_output=True, text=True, timeout=60)
    assert without_user.returncode != 0 and "usage" in without_user.stderr and not without_user.stdout


async def test_known_keys_keep_working_while_the_issuer_is_away(http, issuer):
    token = as_bearer(issuer.mint("it.anna", ["it-staff"]))
    assert (await http.get("/api/v1/units", headers=token)).status_code == 200
    jwks = http.app.state.jwks
    jwks.fetched_at -= jwks.settings.oidc_jwks_refresh_seconds + 1  # stale: the next call asks the issuer again
    jwks.jwks_url = "http://127.0.0.1:9/jwks"  # … which does not answer
    assert (await http.get("/api/v1/units", headers=token)).status_code == 200
