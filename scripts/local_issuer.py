"""A real, small OpenID Connect issuer for the embedded stack and the tests (never for production).

It serves the discovery document and the JWKS the API validates against, exactly as it does Entra ID's,
and mints RS256 access tokens for whoever asks on 127.0.0.1 (`make token`). Its signing key is kept in
`var/local-issuer-key.json` so tokens survive a restart of `make run`.

    python -m scripts.local_issuer --port 18900        # serve
    python -m scripts.local_issuer --mint USER=it.anna ROLES=it-staff,it-admin
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from pydantic import BaseModel, Field

DEFAULT_AUDIENCE = "api://ramflow"


class TokenRequest(BaseModel):
    sub: str = Field(min_length=1, max_length=80)
    roles: list[str] = Field(default_factory=list)
    unit: str | None = None
    team: str | None = None
    employee_id: str | None = None
    lifetime_seconds: int = Field(3600, ge=1, le=7 * 24 * 3600)


class LocalIssuer:
    """Issuer URL, one RSA signing key (loaded or generated), the ASGI app serving the OIDC documents."""

    def __init__(self, url: str, audience: str = DEFAULT_AUDIENCE, key_file: Path | None = None) -> None:
        self.url = url.rstrip("/")
        self.audience = audience
        self.key = self._load_key(key_file)
        self.ec_key = ECKey.generate_key("P-256", parameters={"kid": f"local-ec-{uuid.uuid4().hex[:12]}",
                                                              "use": "sig", "alg": "ES256"})
        self.retired: list[RSAKey] = []
        self.fetches = {"discovery": 0, "jwks": 0}  # how often relying parties fetched the documents  # still published after a rotation, until tokens signed with them expire
        self.app = self._build_app()

    @staticmethod
    def _load_key(key_file: Path | None) -> RSAKey:
        if key_file is not None and key_file.exists():
            return RSAKey.import_key(json.loads(key_file.read_text()))
        key = RSAKey.generate_key(2048, parameters={"kid": f"local-{uuid.uuid4().hex[:12]}", "use": "sig",
                                                    "alg": "RS256"})
        if key_file is not None:
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(json.dumps(key.as_dict(private=True)))
            key_file.chmod(0o600)
        return key

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "jwks_uri": f"{self.url}/jwks",
            "token_endpoint": f"{self.url}/token",
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "grant_types_supported": ["urn:ramflow:local-dev-token"],
        }

    def jwks(self) -> dict[str, Any]:
        keys = [self.key, *self.retired, self.ec_key]
        return {"keys": [k.as_dict(private=False) for k in keys]}

    def rotate(self) -> None:
        """A new signing key (as Entra ID rolls its keys): the API meets an unknown kid and refetches."""
        self.retired.append(self.key)
        self.key = RSAKey.generate_key(2048, parameters={"kid": f"local-{uuid.uuid4().hex[:12]}", "use": "sig",
                                                         "alg": "RS256"})

    def mint(self, sub: str, roles: list[str] | tuple[str, ...] = (), unit: str | None = None, team: str | None = None,
             employee_id: str | None = None, lifetime_seconds: int = 3600, alg: str = "RS256",
             **overrides: Any) -> str:
        """An access token as Entra ID shapes it: iss, aud, sub, roles, iat, nbf, exp (+ unit, team)."""
        now = int(time.time())
        claims: dict[str, Any] = {"iss": self.url, "aud": self.audience, "sub": sub, "roles": list(roles),
                                  "iat": now, "nbf": now, "exp": now + lifetime_seconds, "jti": uuid.uuid4().hex}
        for name, value in (("unit", unit), ("team", team), ("employee_id", employee_id)):
            if value is not None:
                claims[name] = value
        claims.update(overrides)
        claims = {name: value for name, value in claims.items() if value is not None}  # exp=None: no expiry
        key = self.ec_key if alg == "ES256" else self.key
        return jwt.encode({"alg": alg, "kid": key.kid, "typ": "JWT"}, claims, key)

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="Ramflow local OpenID Connect issuer", docs_url=None, redoc_url=None, openapi_url=None)

        @app.get("/.well-known/openid-configuration")
        def openid_configuration() -> dict[str, Any]:
            self.fetches["discovery"] += 1
            return self.discovery()

        @app.get("/jwks")
        def jwks() -> dict[str, Any]:
            self.fetches["jwks"] += 1
            return self.jwks()

        @app.post("/token")
        def token(request: TokenRequest) -> dict[str, Any]:
            if request.sub.strip().lower() == "ramflow":
                raise HTTPException(422, "sub: 'ramflow' is the reserved system actor")
            access = self.mint(request.sub, request.roles, request.unit, request.team, request.employee_id,
                               request.lifetime_seconds)
            return {"access_token": access, "token_type": "Bearer", "expires_in": request.lifetime_seconds}

        return app


def _assignments(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, _, value = item.partition("=")
        out[name.upper()] = value
    return out


def request_token(issuer_url: str, user: str, roles: str, unit: str = "", team: str = "",
                  employee: str = "") -> str:
    """Ask the running issuer (started by `make run`) for a token: `make token` prints it."""
    import httpx

    body = {"sub": user, "roles": [r for r in roles.split(",") if r], "unit": unit or None, "team": team or None,
            "employee_id": employee or None, "lifetime_seconds": 8 * 3600}
    answer = httpx.post(f"{issuer_url.rstrip('/')}/token", json=body, timeout=5)
    if answer.status_code != 200:
        raise SystemExit(f"the local issuer refused: {answer.status_code} {answer.text}")
    return answer.json()["access_token"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18900)
    parser.add_argument("--audience", default=None)
    parser.add_argument("--key-file", default="var/local-issuer-key.json")
    parser.add_argument("--token", nargs="*", metavar="NAME=VALUE",
                        help="print a token from the running issuer: USER=… ROLES=a,b [UNIT=…] [TEAM=…] [EMPLOYEE=…]")
    args = parser.parse_args(argv)
    if args.token is not None:
        from config import get_settings

        given = _assignments(args.token)
        if not given.get("USER"):
            raise SystemExit("usage: make token USER=<id> ROLES=<role[,role]> [UNIT=<unit>] [TEAM=<team>]")
        print(request_token(get_settings().oidc_issuer, given["USER"], given.get("ROLES", ""), given.get("UNIT", ""),
                            given.get("TEAM", ""), given.get("EMPLOYEE", "")))
        return 0
    import uvicorn

    from config import get_settings

    settings = get_settings()
    issuer = LocalIssuer(f"http://{args.host}:{args.port}", args.audience or settings.oidc_audience,
                         Path(args.key_file))
    uvicorn.run(issuer.app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
