"""Who is calling: OpenID Connect bearer tokens (JWT) validated against the configured issuer.

One code path for Microsoft Entra ID in production and the local issuer of the embedded stack and the
tests (scripts/local_issuer.py): the discovery document names the JWKS, the JWKS is cached and fetched
again when a token names an unknown `kid` (key rotation), at most once per few seconds.
"""
from __future__ import annotations

import asyncio
import json
import time
import unicodedata
from dataclasses import dataclass, field, replace

import httpx
from anyio import to_thread
from fastapi import HTTPException, Request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact
from sqlalchemy.exc import SQLAlchemyError

from config import Settings
from db.people import employee_ref_of_subject, person
from domain.common import SYSTEM_ACTOR  # system moves: no token may claim it
from observability.logging import current_actor

ALGORITHMS = ("RS256", "ES256")  # asymmetric only: never HS*, never "none"
LEEWAY_SECONDS = 60  # clock skew tolerated on exp/nbf
FETCH_TIMEOUT = 5.0
REFRESH_AT_MOST_EVERY = 10.0  # an unknown kid refreshes the JWKS, but a flood of them does not


@dataclass(frozen=True)
class Principal:
    """The caller as the validated token says: the subject acts; roles decide what it may do."""

    subject: str
    roles: frozenset[str]
    team: str | None = None
    unit: str | None = None
    employee_ref: str | None = None
    claims: dict = field(default_factory=dict, compare=False, repr=False)

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


def unauthorized(description: str, error: str | None = "invalid_token") -> HTTPException:
    """401 with the RFC 6750 challenge naming what was wrong."""
    challenge = 'Bearer realm="ramflow"'
    if error:  # a header is printable ASCII here: the token's own text (alg, kid) may be anything (issue 20)
        quoted = "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in description)
        challenge += f', error="{error}", error_description="{quoted}"'
    return HTTPException(401, description, headers={"WWW-Authenticate": challenge})


class IssuerUnavailable(Exception):
    """The issuer's discovery document or JWKS could not be fetched (the API answers 503)."""


class Jwks:
    """The issuer's signing keys, fetched through its discovery document and cached."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys: KeySet | None = None
        self.fetched_at = 0.0
        self.jwks_url = settings.oidc_jwks_url
        self.min_refresh_interval = REFRESH_AT_MOST_EVERY
        self._lock = asyncio.Lock()

    async def _fetch(self) -> None:
        issuer = self.settings.oidc_issuer.rstrip("/")
        try:
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT) as http:
                if self.jwks_url is None:
                    url = self.settings.oidc_discovery_url or f"{issuer}/.well-known/openid-configuration"
                    discovery = (await http.get(url)).raise_for_status().json()
                    if discovery.get("issuer", "").rstrip("/") != issuer:
                        raise IssuerUnavailable(f"the discovery document names issuer {discovery.get('issuer')!r}")
                    self.jwks_url = discovery["jwks_uri"]
                document = (await http.get(self.jwks_url)).raise_for_status().json()
        except (httpx.HTTPError, KeyError, ValueError) as error:
            raise IssuerUnavailable(f"identity provider unreachable: {error}") from error
        usable = [k for k in document.get("keys", []) if k.get("kty") in ("RSA", "EC") and k.get("use", "sig") == "sig"]
        self.keys = KeySet.import_key_set({"keys": usable})
        self.fetched_at = time.monotonic()

    async def key(self, kid: str):
        """The key with `kid`; refreshed when stale or when the kid is unknown (the issuer rotated)."""
        async with self._lock:
            age = time.monotonic() - self.fetched_at
            if self.keys is None or age > self.settings.oidc_jwks_refresh_seconds:
                try:
                    await self._fetch()
                except IssuerUnavailable:
                    if self.keys is None:
                        raise
                    # the issuer is away but its keys are known: keep validating with them, ask again soon
                    self.fetched_at = time.monotonic() - self.settings.oidc_jwks_refresh_seconds + 60
            found = self._find(kid)
            if found is None and time.monotonic() - self.fetched_at >= self.min_refresh_interval:
                await self._fetch()
                found = self._find(kid)
            return found

    def _find(self, kid: str):
        for key in self.keys.keys if self.keys else ():
            if key.kid == kid:
                return key
        return None


def _header(token: str) -> dict:
    try:
        return extract_compact(token.encode()).protected
    except (JoseError, ValueError, json.JSONDecodeError) as error:
        raise unauthorized(f"malformed token ({error.__class__.__name__})") from error


async def validate(token: str, jwks: Jwks, settings: Settings) -> Principal:
    """Signature (RS256/ES256 with the issuer's key), issuer, audience, expiry, not-before; then the subject."""
    header = _header(token)
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise unauthorized(f"algorithm {alg!r} is not accepted (RS256, ES256)")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise unauthorized("the token names no key (kid)")
    key = await jwks.key(kid)
    if key is None:
        raise unauthorized(f"unknown signing key {kid!r}")
    try:
        decoded = jwt.decode(token, key, algorithms=[alg])
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": settings.oidc_issuer},
            aud={"essential": True, "value": settings.oidc_audience},
            exp={"essential": True},
        )
        registry.validate(decoded.claims)
    except JoseError as error:
        raise unauthorized(f"token refused: {error}") from error
    except ValueError as error:
        raise unauthorized(f"token refused: {error}") from error
    return principal_of(decoded.claims, settings)


# ASCII lookalikes folded before comparing a subject with the reserved name (Unicode ones are refused whole)
_LOOKALIKES = (("rn", "m"), ("vv", "w"), ("0", "o"), ("1", "l"), ("i", "l"), ("|", "l"))


def _skeleton(text: str) -> str:
    folded = text.casefold()
    for lookalike, letter in _LOOKALIKES:
        folded = folded.replace(lookalike, letter)
    return "".join(c for c in folded if c.isalnum())


def checked_subject(raw: object) -> str:
    """The subject as one identity: NFKC-normalised, format and control characters removed; OpenID Connect
    subjects are ASCII, so anything else is refused, as is whatever reads as the system actor."""
    if not isinstance(raw, str):
        raise unauthorized("the token has no subject")
    subject = "".join(c for c in unicodedata.normalize("NFKC", raw)
                      if unicodedata.category(c) not in ("Cf", "Cc", "Zl", "Zp")).strip()
    if not subject:
        raise unauthorized("the token has no subject")
    if not subject.isascii() or not subject.isprintable():
        raise unauthorized("the subject must be printable ASCII (OpenID Connect Core 1.0, `sub`)")
    if _skeleton(subject) == _skeleton(SYSTEM_ACTOR):
        raise unauthorized(f"subject {subject!r} is reserved for system moves")
    return subject


def _scope_claim(claims: dict, name: str) -> str | None:
    """A scoping claim (unit, team, employee number): a non-blank string, else absent (filters fail closed)."""
    value = claims.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def principal_of(claims: dict, settings: Settings) -> Principal:
    """Entra ID: the stable object id `oid`; other issuers: `sub`. Never e-mail or display name.
    `employee_ref` is the employee-number claim only: `authenticate` completes it from the people register."""
    subject = checked_subject(claims.get("oid") or claims.get("sub"))
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise unauthorized("the roles claim must be a list of strings")
    return Principal(subject=subject, roles=frozenset(roles), team=_scope_claim(claims, settings.oidc_team_claim),
                     unit=_scope_claim(claims, settings.oidc_unit_claim),
                     employee_ref=_scope_claim(claims, settings.oidc_employee_claim), claims=claims)


def employee_ref_of(session, principal: Principal, settings: Settings) -> str | None:
    """Who this person is in Ramflow's records (employee number): the token's employee claim; else the people
    register's link of the subject; else, where subjects are employee numbers (the local issuer, development),
    the subject itself unless that number belongs to someone with another login; else no one."""
    if principal.employee_ref is not None:
        return principal.employee_ref
    linked = employee_ref_of_subject(session, principal.subject)
    if linked is not None or not settings.subject_is_employee_ref:
        return linked
    holder = person(session, principal.subject)
    return principal.subject if holder is None or holder.subject in (None, principal.subject) else None


async def with_employee_ref(request: Request, principal: Principal) -> Principal:
    """The principal with its employee number resolved, once per request (api.auth.employee_ref_of)."""
    settings: Settings = request.app.state.settings

    def work() -> str | None:
        with request.app.state.sessions() as session:
            return employee_ref_of(session, principal, settings)

    try:
        return replace(principal, employee_ref=await to_thread.run_sync(work))
    except SQLAlchemyError as error:
        raise HTTPException(503, "the database is away: who you are cannot be looked up",
                            headers={"Retry-After": str(settings.retry_after_seconds)}) from error


def bearer(request: Request) -> str | None:
    value = request.headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("use the Bearer scheme", error="invalid_request")
    return token.strip()


async def authenticate(request: Request) -> Principal:
    """The validated caller, cached on the request."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = bearer(request)
    if token is None:
        raise unauthorized("a bearer token is required", error=None)
    settings: Settings = request.app.state.settings
    try:
        principal = await validate(token, request.app.state.jwks, settings)
    except IssuerUnavailable as error:
        retry = str(getattr(settings, "retry_after_seconds", 5))
        raise HTTPException(503, str(error), headers={"Retry-After": retry}) from error
    principal = await with_employee_ref(request, principal)
    request.state.principal = principal
    current_actor.set(principal.subject)  # the `actor` of this request's log events (observability.logging)
    return principal
