"""A real, small OpenID Connect issuer for the embedded stack and the tests (never for production).

It serves the discovery document and the JWKS the API validates against, exactly as it does Entra ID's,
and mints RS256 access tokens for whoever asks on 127.0.0.1 (`make token`). Its signing key is kept in
`var/local-issuer-key.json` so tokens survive a restart of `make run`.

    python -m scripts.local_issuer --port 18900        # serve
    python -m scripts.local_issuer --mint USER=it.anna ROLES=it-staff,it-admin
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import secrets
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from pydantic import BaseModel, Field, ValidationError

DEFAULT_AUDIENCE = "api://ramflow"
CODE_SECONDS = 60  # an authorization code is good for one exchange within a minute

# Who one can sign in as on the embedded stack (the login page's buttons): user, roles, unit, team, what for.
PERSONAS: list[dict[str, str]] = [
    {"sub": "it.anna", "roles": "it-staff", "team": "användarstöd", "title": "Anna, tekniker (användarstöd)"},
    {"sub": "it.ivar", "roles": "it-staff", "team": "infrastruktur", "title": "Ivar, tekniker (infrastruktur)"},
    {"sub": "it.admin", "roles": "it-staff,it-admin", "title": "IT-administratör"},
    {"sub": "E1001", "roles": "unit-manager,employee", "unit": "TR-KS", "title": "Chef, Kommunstyrelsens förvaltning (TR-KS)"},
    {"sub": "E2001", "roles": "unit-manager,employee", "unit": "UL-KS", "title": "Chef, Kommunledningsförvaltningen (UL-KS)"},
    {"sub": "E5001", "roles": "employee", "title": "Medarbetare E5001"},
    {"sub": "owner.sara", "roles": "system-owner", "title": "Systemägare"},
    {"sub": "sekr.forum", "roles": "it-forum-utveckling", "title": "Sekreterare, IT-forum utveckling"},
    {"sub": "sekr.styrgrupp", "roles": "it-styrgrupp", "title": "Sekreterare, IT-styrgrupp"},
    {"sub": "revisor.rut", "roles": "auditor", "title": "Revisor"},
]


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
        self.codes: dict[str, dict[str, Any]] = {}  # authorization code -> who signed in, PKCE challenge
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
            "authorization_endpoint": f"{self.url}/authorize",
            "response_types_supported": ["code", "token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code", "urn:ramflow:local-dev-token"],
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

        @app.get("/authorize", response_class=HTMLResponse)
        def authorize(request: Request) -> HTMLResponse:
            """Authorization-code flow with PKCE (S256 only): a login page where one picks who to be."""
            asked = dict(request.query_params)
            problem = self._authorize_problem(asked)
            if problem:
                return HTMLResponse(_page("Inloggning nekad", f"<p>{html.escape(problem)}</p>"), status_code=400)
            return HTMLResponse(_login_page(asked))

        @app.post("/authorize")
        async def sign_in(request: Request):
            form = dict(await request.form())
            problem = self._authorize_problem(form)
            if problem:
                return HTMLResponse(_page("Inloggning nekad", f"<p>{html.escape(problem)}</p>"), status_code=400)
            sub = (form.get("sub") or "").strip()
            if not sub or sub.lower() == "ramflow":
                return HTMLResponse(_login_page(form, "Ange ett användar-id (inte 'ramflow')."), status_code=422)
            code = secrets.token_urlsafe(32)
            self.codes[code] = {
                "sub": sub, "roles": [r for r in (form.get("roles") or "").replace(" ", "").split(",") if r],
                "unit": form.get("unit") or None, "team": form.get("team") or None,
                "employee_id": form.get("employee_id") or None, "client_id": form["client_id"],
                "redirect_uri": form["redirect_uri"], "challenge": form["code_challenge"],
                "nonce": form.get("nonce"), "expires": time.monotonic() + CODE_SECONDS}
            query = {"code": code, "state": form.get("state", "")}
            from urllib.parse import urlencode
            separator = "&" if "?" in form["redirect_uri"] else "?"
            return RedirectResponse(f"{form['redirect_uri']}{separator}{urlencode(query)}", status_code=303)

        @app.post("/token")
        async def token(request: Request):
            if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                return self._exchange(dict(await request.form()))
            try:
                asked = TokenRequest.model_validate(await request.json())
            except (ValidationError, ValueError) as error:
                raise HTTPException(422, f"body: {error}") from error
            if asked.sub.strip().lower() == "ramflow":
                raise HTTPException(422, "sub: 'ramflow' is the reserved system actor")
            access = self.mint(asked.sub, asked.roles, asked.unit, asked.team, asked.employee_id,
                               asked.lifetime_seconds)
            return {"access_token": access, "token_type": "Bearer", "expires_in": asked.lifetime_seconds}

        return app


    @staticmethod
    def _authorize_problem(asked: dict[str, Any]) -> str | None:
        if asked.get("response_type") != "code":
            return "response_type must be 'code'"
        if not asked.get("client_id") or not asked.get("redirect_uri"):
            return "client_id and redirect_uri are required"
        if not asked["redirect_uri"].startswith(("http://127.0.0.1", "http://localhost", "https://")):
            return "redirect_uri must be https (or http on this machine)"
        if asked.get("code_challenge_method") != "S256" or not asked.get("code_challenge"):
            return "PKCE is required: code_challenge with code_challenge_method=S256"
        return None

    def _exchange(self, form: dict[str, Any]) -> JSONResponse:
        """RFC 6749 4.1.3 with RFC 7636: the code once, for the same client and redirect URI, with the verifier."""
        def refuse(error: str, description: str) -> JSONResponse:
            return JSONResponse({"error": error, "error_description": description}, status_code=400)

        if form.get("grant_type") != "authorization_code":
            return refuse("unsupported_grant_type", "grant_type must be authorization_code")
        granted = self.codes.pop(form.get("code") or "", None)
        if granted is None or granted["expires"] < time.monotonic():
            return refuse("invalid_grant", "unknown, used or expired code")
        if form.get("client_id") != granted["client_id"] or form.get("redirect_uri") != granted["redirect_uri"]:
            return refuse("invalid_grant", "client_id or redirect_uri differ from the authorization request")
        if pkce_challenge(form.get("code_verifier") or "") != granted["challenge"]:
            return refuse("invalid_grant", "code_verifier does not match the code_challenge (PKCE)")
        lifetime = 8 * 3600
        access = self.mint(granted["sub"], granted["roles"], granted["unit"], granted["team"],
                           granted["employee_id"], lifetime)
        id_token = self.mint(granted["sub"], granted["roles"], granted["unit"], granted["team"],
                             granted["employee_id"], lifetime, aud=granted["client_id"], nonce=granted["nonce"])
        return JSONResponse({"access_token": access, "id_token": id_token, "token_type": "Bearer",
                             "expires_in": lifetime}, headers={"Cache-Control": "no-store"})


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="sv"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<style>body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;'
            'color:#1a1a1a}button{font:inherit;padding:.4rem .8rem;margin:.2rem 0;border:1px solid #1d4f91;'
            'background:#1d4f91;color:#fff;border-radius:4px;cursor:pointer}button:focus{outline:3px solid #f2a900;'
            'outline-offset:2px}label{display:block;margin-top:.5rem}input{font:inherit;padding:.3rem}'
            'ul{list-style:none;padding:0}</style></head>'
            f'<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>')


def _login_page(asked: dict[str, Any], problem: str | None = None) -> str:
    """Pick a person of the embedded stack, or type one (any user, roles, unit, team)."""
    carried = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(str(asked.get(k, "")))}">'
                      for k in ("response_type", "client_id", "redirect_uri", "code_challenge",
                                "code_challenge_method", "state", "nonce", "scope"))
    people = []
    for person in PERSONAS:
        fields = "".join(f'<input type="hidden" name="{k}" value="{html.escape(person.get(k, ""))}">'
                         for k in ("sub", "roles", "unit", "team"))
        people.append(f'<li><form method="post" action="authorize">{carried}{fields}'
                      f'<button type="submit">{html.escape(person["title"])} — {html.escape(person["sub"])} '
                      f'({html.escape(person["roles"])})</button></form></li>')
    error = f'<p role="alert">{html.escape(problem)}</p>' if problem else ""
    custom = (f'<h2>Annan användare</h2><form method="post" action="authorize">{carried}'
              '<label for="sub">Användar-id</label><input id="sub" name="sub" required>'
              '<label for="roles">Roller (kommaseparerade)</label><input id="roles" name="roles">'
              '<label for="unit">Enhet</label><input id="unit" name="unit">'
              '<label for="team">Team</label><input id="team" name="team">'
              '<label for="employee_id">Anställningsnummer</label><input id="employee_id" name="employee_id">'
              '<p><button type="submit" id="sign-in">Logga in</button></p></form>')
    return _page("Logga in i Ramflow (lokal utgivare)",
                 f"{error}<p>Den lokala OpenID Connect-utgivaren för den inbäddade miljön. Välj vem du är:</p>"
                 f"<ul>{''.join(people)}</ul>{custom}")


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
