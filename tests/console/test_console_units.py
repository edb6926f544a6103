"""Without a browser: the local issuer's authorization-code flow with PKCE, and the console's Swedish formats."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import httpx

from console.i18n import kronor, quantity, when, working_hours
from console.oidc import challenge

REDIRECT = "http://127.0.0.1:24999/console/callback"


def _code(issuer, verifier: str, sub: str = "E5001", roles: str = "employee") -> str:
    form = {"response_type": "code", "client_id": "ramflow-console", "redirect_uri": REDIRECT, "state": "s1",
            "code_challenge": challenge(verifier), "code_challenge_method": "S256", "sub": sub, "roles": roles}
    answer = httpx.post(f"{issuer.url}/authorize", data=form)
    assert answer.status_code == 303
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["s1"]
    return query["code"][0]


def _exchange(issuer, code: str, verifier: str, redirect: str = REDIRECT) -> httpx.Response:
    return httpx.post(f"{issuer.url}/token", data={"grant_type": "authorization_code", "code": code,
                                                   "redirect_uri": redirect, "client_id": "ramflow-console",
                                                   "code_verifier": verifier})


def test_local_issuer_code_flow_with_pkce_gives_a_token_of_the_chosen_user_once(issuer):
    discovery = httpx.get(f"{issuer.url}/.well-known/openid-configuration").json()
    assert discovery["authorization_endpoint"] == f"{issuer.url}/authorize"
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    verifier = secrets.token_urlsafe(48)
    code = _code(issuer, verifier)
    answer = _exchange(issuer, code, verifier)
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    from joserfc import jwt

    claims = jwt.decode(answer.json()["access_token"], issuer.key).claims
    assert (claims["sub"], claims["roles"], claims["aud"]) == ("E5001", ["employee"], issuer.audience)
    again = _exchange(issuer, code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"  # a code is used once


def test_local_issuer_refuses_a_wrong_verifier_another_redirect_and_plain_pkce(issuer):
    verifier = secrets.token_urlsafe(48)
    wrong = _exchange(issuer, _code(issuer, verifier), secrets.token_urlsafe(48))
    assert wrong.status_code == 400 and "PKCE" in wrong.json()["error_description"]
    other = _exchange(issuer, _code(issuer, verifier), verifier, redirect="http://127.0.0.1:1/evil")
    assert other.status_code == 400 and "redirect_uri" in other.json()["error_description"]
    plain = httpx.get(f"{issuer.url}/authorize", params={"response_type": "code", "client_id": "c",
                                                         "redirect_uri": REDIRECT, "code_challenge": verifier,
                                                         "code_challenge_method": "plain"})
    assert plain.status_code == 400 and "S256" in plain.text
    login = httpx.get(f"{issuer.url}/authorize", params={"response_type": "code", "client_id": "c",
                                                         "redirect_uri": REDIRECT, "code_challenge": "x",
                                                         "code_challenge_method": "S256"})
    assert login.status_code == 200 and 'lang="sv"' in login.text and "revisor.rut" in login.text


def test_swedish_formats_of_dates_money_and_working_hours():
    # issue 23: as Swedes write them, `8 dec 2026 14:05`, local time
    assert when(datetime(2026, 11, 28, 13, 5, tzinfo=timezone.utc)) == "28 nov 2026 14:05"  # CET
    assert when("2026-06-01T12:05:00+00:00") == "1 jun 2026 14:05"  # CEST
    assert when("2026-12-08T13:05:00+00:00", "en") == "8 Dec 2026 14:05"
    assert kronor("1150") == "1\u00a0150,00\u00a0kr"
    assert kronor("1234567.5") == "1\u00a0234\u00a0567,50\u00a0kr"
    assert kronor("0.005") == "0,01\u00a0kr"
    assert quantity("1.0000") == "1" and quantity("2.50") == "2,5"
    assert working_hours(5 * 3600 + 30 * 60) == "5 h 30 min" and working_hours(-600) == "−10 min"
