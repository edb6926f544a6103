"""Who is calling: OpenID Connect bearer tokens (JWT) validated against the configured issuer.

One code path for Microsoft Entra ID in production and the local issuer of the embedded stack and the
tests (scripts/local_issuer.py): the discovery document names the JWKS, the JWKS is cached and fetched
again when a token names an unknown `kid` (key rotation), at most once per few seconds.
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import httpx
from fastapi import HTTPException, Request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from config import Settings
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


def principal_of(claims: dict, settings: Settings) -> Principal:
    """Entra ID: the stable object id `oid`; other issuers: `sub`. Never e-mail or display name."""
    subject = claims.get("oid") or claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise unauthorized("the token has no subject")
    if subject.strip().lower() == SYSTEM_ACTOR:
        raise unauthorized(f"subject {subject!r} is reserved for system moves")
    roles = claims.get("roles") or []
    if isinstance(roles, str):
        roles = roles.split()
    employee = claims.get(settings.oidc_employee_claim)
    return Principal(subject=subject, roles=frozenset(r for r in roles if isinstance(r, str)),
                     team=claims.get(settings.oidc_team_claim), unit=claims.get(settings.oidc_unit_claim),
                     employee_ref=employee if isinstance(employee, str) else subject, claims=claims)


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
    request.state.principal = principal
    current_actor.set(principal.subject)  # the `actor` of this request's log events (observability.logging)
    return principal
