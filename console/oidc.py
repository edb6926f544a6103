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

    async def exchange(self, code: str, redirect_uri: str, verifier: str) -> str:
        """The access token for the API, from the code and the PKCE verifier."""
        endpoint = (await self.discovery())["token_endpoint"]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "client_id": self.settings.console_client_id, "code_verifier": verifier}
        if self.settings.console_client_secret:
            form["client_secret"] = self.settings.console_client_secret
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            answer = await http.post(endpoint, data=form)
        if answer.status_code != 200:
            raise PermissionError(f"the issuer refused the code: {answer.text[:300]}")
        return answer.json()["access_token"]
