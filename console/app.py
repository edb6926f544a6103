"""The web console (issue 14): server-rendered pages (Jinja2, no JavaScript) mounted at /console.

Every read and every action is a call to /api/v1 with the signed-in user's token (console.api_client):
the console decides only what to show; the API's policy and rules decide what may be done. This module
signs people in and out; the pages live per audience in console/pages/.
"""
from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.auth import validate
from console import i18n
from console.oidc import Oidc, check_id_token
from console.pages import auditors, decisions, devmail, files, search, support, units
from console.session import COOKIE, LANG_COOKIE, LOGIN_COOKIE, SessionStore
from console.ui import HERE, Answered, Ui, navigation


def create_console(api_app: FastAPI) -> FastAPI:
    """The console app; `api_app` is the API it calls (in process) and whose settings, keys and database
    (the shared sessions) it uses."""
    settings = api_app.state.settings
    console = FastAPI(title="Ramflow console", docs_url=None, redoc_url=None, openapi_url=None)
    store = SessionStore(api_app.state.sessions, pending_max=settings.console_pending_logins_max)
    ui = Ui(console, api_app, store)
    oidc = Oidc(settings)
    console.state.store = store
    console.state.clock = None  # the real clock; a test app may set its own (console.ui.Ui.now)
    console.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @console.middleware("http")
    async def headers(request: Request, call_next):
        response: Response = await call_next(request)
        session = getattr(request.state, "console_session", None)
        if session is not None:  # messages a form left for the next page, for whichever process serves it
            await store.save_flash(session)
        response.headers.setdefault("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; "
                                    "form-action 'self'; base-uri 'none'")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if not request.url.path.startswith("/console/static"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @console.exception_handler(Answered)
    async def answered(_request: Request, error: Answered) -> Response:
        return error.response

    def cookie(response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(name, value, httponly=True, samesite="lax", secure=settings.console_cookie_secure,
                            path="/console", max_age=max_age)

    # --- sign-in (authorization code + PKCE) -------------------------------------------------------------
    @console.get("/login", include_in_schema=False)
    async def login(request: Request, next: str = "/console/") -> Response:
        try:  # issue 20: each sign-in begun writes a row; per address, across API processes
            await api_app.state.rate_limiter.hit(f"console sign-in {request.client.host if request.client else '?'}",
                                                 limit=settings.console_login_per_minute, what="sign-ins")
        except HTTPException as limited:
            t, retry = ui.t_of(request), (limited.headers or {}).get("Retry-After", "60")
            page = ui.error(request, None, 429, t["too_many"], t["retry_in"].format(seconds=retry))
            page.headers.update(limited.headers or {})
            return page
        pending = await store.begin(next if next.startswith("/console") else "/console/")
        redirect_uri = str(request.url_for("callback"))
        try:
            url = await oidc.authorize_url(redirect_uri, pending.state, pending.verifier, pending.nonce)
        except Exception as error:  # noqa: BLE001 — the issuer is away
            return ui.error(request, None, 503, "OpenID Connect", f"the identity provider did not answer: {error}")
        response = RedirectResponse(url, status_code=303)
        cookie(response, LOGIN_COOKIE, pending.state, 600)
        return response

    @console.get("/callback", name="callback", include_in_schema=False)
    async def callback(request: Request, code: str = "", state: str = "") -> Response:
        # the state must be the one this browser started with (login CSRF), once
        if not state or request.cookies.get(LOGIN_COOKIE) != state or (pending := await store.finish(state)) is None:
            return ui.error(request, None, 400, "OpenID Connect", "unknown or expired sign-in: start again")
        try:
            token, id_token = await oidc.exchange(code, str(request.url_for("callback")), pending.verifier)
            if id_token is not None:
                await check_id_token(id_token, api_app.state.jwks, settings.console_client_id, pending.nonce,
                                     settings.oidc_issuer)
            principal = await validate(token, api_app.state.jwks, settings)
        except Exception as error:  # noqa: BLE001
            return ui.error(request, None, 401, "OpenID Connect", str(error))
        lifetime = settings.console_session_hours * 3600
        sid = await store.create(token, principal, lifetime)
        response = RedirectResponse(pending.next_path, status_code=303)
        cookie(response, COOKIE, sid, int(lifetime))
        response.delete_cookie(LOGIN_COOKIE, path="/console")
        return response

    @console.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        session = await store.get(request.cookies.get(COOKIE))
        if session is not None:
            if await ui.form_of(request, session) is None:
                return ui.csrf_refused(request, session)
            await store.drop(request.cookies.get(COOKIE))  # on every API process at once
        response = RedirectResponse("/console/signed-out", status_code=303)
        response.delete_cookie(COOKIE, path="/console")
        return response

    @console.get("/signed-out", include_in_schema=False)
    async def signed_out(request: Request) -> Response:
        return ui.render(request, "signed_out.html", None)

    @console.get("/language/{lang}", include_in_schema=False)
    async def language(request: Request, lang: str, back: str = "/console/") -> Response:
        response = RedirectResponse(back if back.startswith("/console") else "/console/", status_code=303)
        if lang in i18n.LANGUAGES:
            response.set_cookie(LANG_COOKIE, lang, samesite="lax", secure=settings.console_cookie_secure,
                                path="/console", max_age=365 * 24 * 3600)
        return response

    # --- home: the first page of each role -------------------------------------------------------------
    @console.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        session = await ui.signed_in(request)
        items = navigation(session.principal)
        return RedirectResponse(items[0][0] if items else "/console/devices", status_code=303)

    for audience in (search, support, units, decisions, auditors, files):
        audience.register(console, ui)
    devmail.register(console, ui, settings.mail_dev_catch_dir)  # issue 21: only on the embedded stack
    return console
