"""The console's sign-in: OpenID Connect authorization-code flow with PKCE (RFC 7636, S256) against the
configured issuer — the local issuer on the embedded stack, Entra ID in production (same settings)."""
from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlencode

import httpx

from config import Settings

TIMEOUT = 5.0


def challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class Oidc:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._discovery: dict | None = None

    async def discovery(self) -> dict:
        if self._discovery is None:
            issuer = self.settings.oidc_issuer.rstrip("/")
            url = self.settings.oidc_discovery_url or f"{issuer}/.well-known/openid-configuration"
            async with httpx.AsyncClient(timeout=TIMEOUT) as http:
                self._discovery = (await http.get(url)).raise_for_status().json()
        return self._discovery

    async def authorize_url(self, redirect_uri: str, state: str, verifier: str, nonce: str) -> str:
        endpoint = (await self.discovery())["authorization_endpoint"]
        query = {"response_type": "code", "client_id": self.settings.console_client_id,
                 "redirect_uri": redirect_uri, "scope": self.settings.console_scope, "state": state,
                 "nonce": nonce, "code_challenge": challenge(verifier), "code_challenge_method": "S256"}
        return f"{endpoint}?{urlencode(query)}"

    async def exchange(self, code: str, redirect_uri: str, verifier: str) -> tuple[str, str | None]:
        """(access token for the API, ID token), from the code and the PKCE verifier."""
        endpoint = (await self.discovery())["token_endpoint"]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "client_id": self.settings.console_client_id, "code_verifier": verifier}
        if self.settings.console_client_secret:
            form["client_secret"] = self.settings.console_client_secret
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            answer = await http.post(endpoint, data=form)
        if answer.status_code != 200:
            raise PermissionError(f"the issuer refused the code: {answer.text[:300]}")
        tokens = answer.json()
        return tokens["access_token"], tokens.get("id_token")


async def check_id_token(id_token: str, jwks, client_id: str, nonce: str, issuer: str) -> None:
    """The ID token is signed by the issuer, names it (`iss`), has not expired (`exp`, with the API's leeway),
    is for this client, and carries the nonce of this sign-in (a replayed or injected code fails here)."""
    from joserfc import jwt
    from joserfc.errors import JoseError

    from api.auth import ALGORITHMS, LEEWAY_SECONDS, _header

    header = _header(id_token)
    if header.get("alg") not in ALGORITHMS or not isinstance(header.get("kid"), str):
        raise PermissionError("ID token: unexpected algorithm or no key id")
    key = await jwks.key(header["kid"])
    if key is None:
        raise PermissionError("ID token: unknown signing key")
    try:
        claims = jwt.decode(id_token, key, algorithms=[header["alg"]]).claims
    except (JoseError, ValueError) as error:
        raise PermissionError(f"ID token: {error}") from error
    try:  # OpenID Connect Core 3.1.3.7: iss matches the issuer, exp is in the future
        jwt.JWTClaimsRegistry(leeway=LEEWAY_SECONDS, iss={"essential": True, "value": issuer},
                              exp={"essential": True}).validate(claims)
    except JoseError as error:
        raise PermissionError(f"ID token: {error}") from error
    audience = claims.get("aud")
    if client_id not in (audience if isinstance(audience, list) else [audience]):
        raise PermissionError("ID token: issued for another client")
    if claims.get("nonce") != nonce:
        raise PermissionError("ID token: the nonce is not this sign-in's")
