"""The web console (issue 14): server-rendered pages (Jinja2, no JavaScript) mounted at /console.

Every read and every action is a call to /api/v1 with the signed-in user's token (console.api_client):
the console decides only what to show; the API's policy and rules decide what may be done.
"""
from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from api import policy
from api.auth import validate
from console import audit_data, i18n
from console.api_client import Answer, Api
from console.oidc import Oidc, check_id_token
from console.session import COOKIE, LANG_COOKIE, LOGIN_COOKIE, ConsoleSession, SessionStore, csrf_ok

HERE = Path(__file__).parent
LINES = ("first_line", "second_line", "verksamhetsstod", "infrastruktur")
QUEUE_LIMIT = 100
DECISION_ROLES = (policy.SYSTEM_OWNER, policy.IT_ADMIN, *policy.BODY_ROLES)

# Which inputs an event's form shows (presentation only: the API validates and decides).
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "assign": ("assignee",), "escalate": ("to",), "transfer": ("to",), "resolve": ("resolution",),
    "deliver": ("serial_number",), "offer_buyout": ("price", "buyer_ref"), "reassign": ("unit_id", "user_ref"),
    "record_erasure": ("vendor", "certificate"), "send_to_erasure": ("vendor",),
    "record_police_report": ("police_report_ref",),
    "forum_prepare": ("decided_on", "minutes_ref"), "steering_approve": ("decided_on", "minutes_ref"),
    "steering_reject": ("decided_on", "minutes_ref"), "board_approve": ("decided_on", "minutes_ref", "municipality"),
    "board_reject": ("decided_on", "minutes_ref", "municipality"), "committee_decide": ("decided_on", "minutes_ref"),
    "committee_reject": ("decided_on", "minutes_ref"), "forum_pass": ("decided_on", "minutes_ref"),
    "forum_reject": ("decided_on",), "prioritise": ("decided_on", "minutes_ref", "priority"),
    "strategist_approve": ("decided_on",), "strategist_reject": ("decided_on",),
    "approve": ("party",), "reject": ("party",),
}
ESCALATION_TARGETS = {"first_line": ("second_line",), "second_line": ("verksamhetsstod", "infrastruktur")}


class Answered(Exception):
    """A page answered before its handler's work: the sign-in redirect or a refused form."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def create_console(api_app: FastAPI) -> FastAPI:
    """The console app; `api_app` is the API it calls (in process) and whose settings and keys it shares."""
    settings = api_app.state.settings
    console = FastAPI(title="Ramflow console", docs_url=None, redoc_url=None, openapi_url=None)
    store = SessionStore()
    oidc = Oidc(settings)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["name"] = lambda code, lang="sv": i18n.name(code, lang)
    templates.env.globals["new_key"] = lambda: uuid.uuid4().hex  # one Idempotency-Key per rendered form
    templates.env.filters.update(when=i18n.when, day=i18n.day, kronor=i18n.kronor, hours=i18n.working_hours)
    console.state.store = store
    console.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @console.middleware("http")
    async def headers(request: Request, call_next):
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; "
                                    "form-action 'self'; base-uri 'none'")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if not request.url.path.startswith("/console/static"):
            response.headers["Cache-Control"] = "no-store"
        return response

    # --- helpers ------------------------------------------------------------------------------------
    def lang_of(request: Request) -> str:
        lang = request.cookies.get(LANG_COOKIE, "sv")
        return lang if lang in i18n.LANGUAGES else "sv"

    def t_of(request: Request) -> dict[str, str]:
        return i18n.words(lang_of(request))

    def session_of(request: Request) -> ConsoleSession | None:
        return store.get(request.cookies.get(COOKIE))

    def render(request: Request, name: str, session: ConsoleSession | None, status: int = 200,
               **context: Any) -> HTMLResponse:
        lang = lang_of(request)
        flash = list(session.flash) if session else []
        if session:
            session.flash.clear()
        principal = session.principal if session else None
        return templates.TemplateResponse(request, name, {
            "t": i18n.words(lang), "lang": lang, "session": session, "principal": principal, "flash": flash,
            "csrf": session.csrf if session else "", "nav": navigation(principal) if principal else [],
            "path": request.url.path, **context}, status_code=status)

    def login_redirect(request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/console/login?next={quote(target)}", status_code=303)

    def api_for(session: ConsoleSession) -> Api:
        return Api(api_app, session.access_token)

    def refused(request: Request, session: ConsoleSession, answer: Answer) -> HTMLResponse:
        t = i18n.words(lang_of(request))
        text = t["not_found"] if answer.status == 404 else t["not_allowed"] if answer.status == 403 else t["error"]
        return render(request, "error.html", session, status=answer.status if answer.status >= 400 else 502,
                      heading=text, message=answer.message)

    async def form_of(request: Request, session: ConsoleSession) -> dict[str, str] | None:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        return form if csrf_ok(session, form.get("csrf")) else None

    def csrf_refused(request: Request, session: ConsoleSession) -> HTMLResponse:
        return render(request, "error.html", session, status=403, heading="CSRF",
                      message="the form's CSRF token is missing or wrong: reload the page and try again")

    def signed_in(request: Request) -> ConsoleSession:
        """The page's session; without one the page answers with the sign-in redirect (one place for all pages)."""
        session = session_of(request)
        if session is None:
            raise Answered(login_redirect(request))
        return session

    async def checked_form(request: Request, session: ConsoleSession) -> dict[str, str]:
        """The posted form; a missing or wrong CSRF token answers 403 (one place for all forms)."""
        form = await form_of(request, session)
        if form is None:
            raise Answered(csrf_refused(request, session))
        return form

    @console.exception_handler(Answered)
    async def answered(_request: Request, error: Answered) -> Response:
        return error.response

    # --- sign-in (authorization code + PKCE) -------------------------------------------------------------
    @console.get("/login", include_in_schema=False)
    async def login(request: Request, next: str = "/console/") -> Response:
        pending = store.begin(next if next.startswith("/console") else "/console/")
        redirect_uri = str(request.url_for("callback"))
        try:
            url = await oidc.authorize_url(redirect_uri, pending.state, pending.verifier, pending.nonce)
        except Exception as error:  # noqa: BLE001 — the issuer is away
            return render(request, "error.html", None, status=503, heading="OpenID Connect",
                          message=f"the identity provider did not answer: {error}")
        response = RedirectResponse(url, status_code=303)
        response.set_cookie(LOGIN_COOKIE, pending.state, httponly=True, samesite="lax", max_age=600,
                            secure=settings.console_cookie_secure, path="/console")
        return response

    @console.get("/callback", name="callback", include_in_schema=False)
    async def callback(request: Request, code: str = "", state: str = "") -> Response:
        # the state must be the one this browser started with (login CSRF), once
        if not state or request.cookies.get(LOGIN_COOKIE) != state or (pending := store.finish(state)) is None:
            return render(request, "error.html", None, status=400, heading="OpenID Connect",
                          message="unknown or expired sign-in: start again")
        try:
            token, id_token = await oidc.exchange(code, str(request.url_for("callback")), pending.verifier)
            if id_token is not None:
                await check_id_token(id_token, api_app.state.jwks, settings.console_client_id, pending.nonce)
            principal = await validate(token, api_app.state.jwks, settings)
        except Exception as error:  # noqa: BLE001
            return render(request, "error.html", None, status=401, heading="OpenID Connect", message=str(error))
        sid = store.create(token, principal, settings.console_session_hours * 3600)
        response = RedirectResponse(pending.next_path, status_code=303)
        response.set_cookie(COOKIE, sid, httponly=True, samesite="lax", secure=settings.console_cookie_secure,
                            path="/console", max_age=int(settings.console_session_hours * 3600))
        response.delete_cookie(LOGIN_COOKIE, path="/console")
        return response

    @console.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        session = session_of(request)
        if session is not None:
            if await form_of(request, session) is None:
                return csrf_refused(request, session)
            store.drop(request.cookies.get(COOKIE))
        response = RedirectResponse("/console/signed-out", status_code=303)
        response.delete_cookie(COOKIE, path="/console")
        return response

    @console.get("/signed-out", include_in_schema=False)
    async def signed_out(request: Request) -> Response:
        return render(request, "signed_out.html", None)

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
        session = signed_in(request)
        items = navigation(session.principal)
        return RedirectResponse(items[0][0] if items else "/console/devices", status_code=303)

    # --- tickets ----------------------------------------------------------------------------------------
    @console.get("/queue", include_in_schema=False)
    async def queue(request: Request, line: str = "first_line") -> Response:
        session = signed_in(request)
        line = line if line in LINES else "first_line"
        async with api_for(session) as api:
            answer = await api.get("/tickets", line=line, open="true", limit=QUEUE_LIMIT)
            if not answer.ok:
                return refused(request, session, answer)
            # the live view (time left, warning) only of tickets with a fix deadline (intefunktion, TK-5):
            # each is one API call of this user, within their rate limit
            async def live(row: dict) -> Answer | None:
                return await api.get(f"/tickets/{row['number']}") if row["deadline"] is not None else None
            views = await asyncio.gather(*(live(row) for row in answer.body))
        now = datetime.now(timezone.utc)
        rows = []
        for row, view in zip(answer.body, views):
            live = view.body if view is not None and view.ok else {}
            warning_at = live.get("warning_at")
            mark = "breached" if (live.get("breached") or row["breached"]) else (
                "warning" if warning_at and datetime.fromisoformat(warning_at) <= now else "ok")
            if live.get("clock_paused") and mark == "ok":
                mark = "paused"
            if (live.get("deadline", row["deadline"])) is None:
                mark = "none"  # no intefunktion: no fix deadline (TK-5)
            rows.append({**row, "remaining": live.get("remaining_support_seconds"), "mark": mark,
                         "deadline": live.get("deadline", row["deadline"])})
        rows.sort(key=lambda r: (r["deadline"] is None, r["deadline"] or "", r["number"]))
        return render(request, "queue.html", session, rows=rows, line=line, lines=LINES)

    @console.get("/tickets", include_in_schema=False)
    async def tickets(request: Request) -> Response:
        session = signed_in(request)
        async with api_for(session) as api:
            answer = await api.get("/tickets", limit=200)
        if not answer.ok:
            return refused(request, session, answer)
        rows = sorted(answer.body, key=lambda r: r["reported_at"], reverse=True)
        return render(request, "tickets.html", session, rows=rows)

    @console.get("/tickets/new", include_in_schema=False)
    async def new_ticket(request: Request) -> Response:
        session = signed_in(request)
        async with api_for(session) as api:
            units, functions = await asyncio.gather(api.get("/units"), api.get("/intefunktion-functions"))
        return render(request, "ticket_new.html", session, units=units.body if units.ok else [],
                      functions=functions.body if functions.ok else [], form={})

    @console.post("/tickets/new", include_in_schema=False)
    async def create_ticket(request: Request) -> Response:
        session = signed_in(request)
        form = await checked_form(request, session)
        body = {k: form.get(k) or None for k in ("unit_id", "reporter_ref", "title", "description",
                                                  "device_order_number", "support_level", "function")}
        body["affects_operations"] = form.get("affects_operations") == "on"
        body = {k: v for k, v in body.items() if v is not None}
        async with api_for(session) as api:
            answer = await api.post("/tickets", body, form.get("idempotency"))
            if answer.ok:
                session.flash.append(("ok", f"{answer.body['number']}: {answer.body['state']}"))
                return RedirectResponse(f"/console/tickets/{answer.body['number']}", status_code=303)
            units, functions = await asyncio.gather(api.get("/units"), api.get("/intefunktion-functions"))
        session.flash.append(("error", answer.message))
        return render(request, "ticket_new.html", session, status=answer.status, units=units.body if units.ok else [],
                      functions=functions.body if functions.ok else [], form=form)

    @console.get("/tickets/{number}", include_in_schema=False)
    async def ticket(request: Request, number: str) -> Response:
        session = signed_in(request)
        async with api_for(session) as api:
            answer = await api.get(f"/tickets/{quote(number)}")
        if not answer.ok:
            return refused(request, session, answer)
        view = answer.body
        return render(request, "ticket.html", session, ticket=view, events=event_forms(view, "ticket", session),
                      mirror=answer.headers.get("x-ramflow-view") == "mirror")

    @console.post("/tickets/{number}/events", include_in_schema=False)
    async def ticket_event(request: Request, number: str) -> Response:
        return await send_event(request, f"/tickets/{quote(number)}/events", f"/console/tickets/{quote(number)}")

    # --- service requests ---------------------------------------------------------------------------
    @console.get("/requests", include_in_schema=False)
    async def requests_(request: Request) -> Response:
        session = signed_in(request)
        async with api_for(session) as api:
            answer, units = await asyncio.gather(api.get("/service-requests", limit=200), api.get("/units"))
        rows = answer.body if answer.ok else []
        return render(request, "requests.html", session, rows=rows, units=units.body if units.ok else [],
                      list_error=None if answer.ok else answer.message, today=date.today().isoformat())

    @console.get("/requests/{number}", include_in_schema=False)
    async def service_request(request: Request, number: str) -> Response:
        session = signed_in(request)
        async with api_for(session) as api:
            answer = await api.get(f"/service-requests/{quote(number)}")
        if not answer.ok:
            return refused(request, session, answer)
        return render(request, "request.html", session, item=answer.body,
                      events=event_forms(answer.body, "request", session))

    @console.post("/requests/{number}/events", include_in_schema=False)
    async def request_event(request: Request, number: str) -> Response:
        return await send_event(request, f"/service-requests/{quote(number)}/events",
                                f"/console/requests/{quote(number)}")

    @console.post("/requests", include_in_schema=False)
    async def create_request(request: Request) -> Response:
        session = signed_in(request)
        form = await checked_form(request, session)
        details = {"kind": "non_employee_account", "holder": form.get("holder", ""),
                   "organisation": form.get("organisation", ""), "role": form.get("role") or "consultant",
                   "valid_until": form.get("valid_until", "")}
        async with api_for(session) as api:
            answer = await api.post("/service-requests", {"unit_id": form.get("unit_id", ""), "details": details},
                                    form.get("idempotency"))
        session.flash.append(("ok", f"{answer.body['number']}: {answer.body['state']}") if answer.ok
                             else ("error", answer.message))
        return RedirectResponse("/console/requests", status_code=303)

    # --- devices ------------------------------------------------------------------------------------
    @console.get("/devices", include_in_schema=False)
    async def devices(request: Request, q: str = "", unit_id: str = "", state: str = "") -> Response:
        session = signed_in(request)
        async with api_for(session) as api:
            answer = await api.get("/devices", unit_id=unit_id, state=state, limit=1000)
        if not answer.ok:
            return refused(request, session, answer)
        needle = q.strip().lower()
        rows = [r for r in answer.body if not needle or any(
            needle in str(r.get(k) or "").lower() for k in ("order_number", "model_code", "user_ref", "serial_number",
                                                            "location", "unit_id"))]
        return render(request, "devices.html", session, rows=rows, q=q, unit_id=unit_id, state=state)

    @console.get("/devices/{order_number}", include_in_schema=False)
    async def device(request: Request, order_number: str) -> Response:
        session = signed_in(request)
        async with api_for(session) as api:
            answer = await api.get(f"/devices/{quote(order_number)}")
            if answer.status in (404, 409):  # ended long ago: its timeline from the register
                history = await api.get(f"/devices/{quote(order_number)}/history")
                if history.ok:
                    return render(request, "device.html", session, device=None, key=order_number,
                                  log=history.body, events=[], mirror=True)
        if not answer.ok:
            return refused(request, session, answer)
        view = answer.body
        return render(request, "device.html", session, device=view, key=order_number, log=view["log"],
                      events=event_forms(view, "device", session), mirror=answer.headers.get("x-ramflow-view") == "mirror")

    @console.post("/devices/{order_number}/events", include_in_schema=False)
    async def device_event(request: Request, order_number: str) -> Response:
        return await send_event(request, f"/devices/{quote(order_number)}/events",
                                f"/console/devices/{quote(order_number)}")

    @console.get("/orders/new", include_in_schema=False)
    async def new_order(request: Request) -> Response:
        session = signed_in(request)
        async with api_for(session) as api:
            models, units = await asyncio.gather(api.get("/catalogue/models"), api.get("/units"))
        return render(request, "order_new.html", session, models=models.body if models.ok else [],
                      units=units.body if units.ok else [])

    @console.post("/orders/new", include_in_schema=False)
    async def place_order(request: Request) -> Response:
        session = signed_in(request)
        form = await checked_form(request, session)
        body = {k: form.get(k) or None for k in ("order_number", "model_code", "unit_id", "user_ref", "location")}
        async with api_for(session) as api:
            answer = await api.post("/orders", {k: v for k, v in body.items() if v is not None})
        if answer.ok:
            session.flash.append(("ok", f"{answer.body['order_number']}: {answer.body['state']}"))
            return RedirectResponse(f"/console/devices/{quote(answer.body['order_number'])}", status_code=303)
        session.flash.append(("error", answer.message))
        return RedirectResponse("/console/orders/new", status_code=303)

    # --- decision makers' inbox ---------------------------------------------------------------------
    @console.get("/inbox", include_in_schema=False)
    async def inbox(request: Request) -> Response:
        session = signed_in(request)
        principal = session.principal
        async with api_for(session) as api:
            answer = await api.get("/governance-processes", limit=500)
            if not answer.ok:
                return refused(request, session, answer)
            rows = [r for r in answer.body if r["process"] in ("framework_change", "development_case")
                    or (r["process"] == "agreement" and "-revision-" not in r["workflow_id"])]
            views = await asyncio.gather(*(api.get(view_path(r)) for r in rows))
        items = []
        for row, view in zip(rows, views):
            if not view.ok:
                continue
            mine = [e for e in decision_events(row["process"], view.body, principal)]
            if mine:
                items.append({"row": row, "view": view.body, "events": mine, "post": view_path(row) + "/events"})
        labels = {"decided_on": t_of(request)["decided_on"], "minutes_ref": t_of(request)["minutes_ref"],
                  "priority": t_of(request)["priority"]}
        return render(request, "inbox.html", session, items=items, today=date.today().isoformat(), labels=labels)

    @console.post("/inbox", include_in_schema=False)
    async def decide(request: Request) -> Response:
        session = signed_in(request)
        form = await checked_form(request, session)
        target = form.get("target", "")
        if ".." in target or not target.startswith(("/framework/proposals/", "/development-cases/", "/agreements/")):
            return render(request, "error.html", session, status=422, heading="target", message="unknown process")
        action = action_of(form)
        body = {"action": action, "reason": form.get("reason") or None}
        async with api_for(session) as api:
            answer = await api.post(target, body, form.get("idempotency"))
        session.flash.append(("ok", f"{action['event']}: {answer.body.get('state')}") if answer.ok
                             else ("error", answer.message))
        return RedirectResponse("/console/inbox", status_code=303)

    # --- auditors -------------------------------------------------------------------------------------
    @console.get("/audit", include_in_schema=False)
    async def audit(request: Request, kind: str = "", key: str = "", unit: str = "", actor: str = "",
                    rule: str = "", since: str = "", until: str = "", state: str = "") -> Response:
        session = signed_in(request)
        asked = {"kind": kind, "key": key, "unit": unit, "actor": actor, "rule": rule, "since": since,
                 "until": until, "state": state}
        hits = None
        if any(asked.values()) or "search" in request.query_params:
            try:
                since_day = date.fromisoformat(since) if since else None
                until_day = date.fromisoformat(until) if until else None
            except ValueError:
                session.flash.append(("error", "since/until: use YYYY-MM-DD"))
                since_day = until_day = None
            async with api_for(session) as api:
                hits = await audit_data.search(api, kind if kind in (*audit_data.KINDS, "governance") else None,
                                               key.strip() or None, unit.strip() or None, actor.strip() or None,
                                               rule.strip() or None, since_day, until_day, state.strip() or None)
        return render(request, "audit.html", session, asked=asked, hits=hits, kinds=(*audit_data.KINDS, "governance"))

    @console.get("/audit/{kind}/{key}", include_in_schema=False)
    async def audit_timeline(request: Request, kind: str, key: str) -> Response:
        session = signed_in(request)
        if kind not in (*audit_data.KINDS, "governance"):
            return render(request, "error.html", session, status=404, heading=kind, message="unknown process type")
        async with api_for(session) as api:
            log = await audit_data.timeline(api, kind, key)
        if request.query_params.get("format") == "csv":  # export (auditors)
            import csv
            import io

            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(["seq", "at", "event", "from_state", "to_state", "actor", "reason", "rule"])
            for r in log:
                writer.writerow([r["seq"], r["at"], r["event"], r["from_state"], r["to_state"], r["actor"],
                                 r.get("reason") or "", r["rule"]])
            return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
                "Content-Disposition": f'attachment; filename="{kind}-{key}.csv"'})
        return render(request, "timeline.html", session, kind=kind, key=key, log=log)

    # --- one event, through the API ------------------------------------------------------------------
    async def send_event(request: Request, api_path: str, back: str) -> Response:
        session = signed_in(request)
        form = await checked_form(request, session)
        body = {"action": action_of(form), "reason": form.get("reason") or None}
        async with api_for(session) as api:
            answer = await api.post(api_path, body, form.get("idempotency"))
        if answer.ok:
            session.flash.append(("ok", f"{body['action']['event']} → {answer.body.get('state')}"))
        else:
            session.flash.append(("error", answer.message))  # the rule's own message (409/403/422)
        return RedirectResponse(back, status_code=303)

    return console


def action_of(form: dict[str, str]) -> dict[str, Any]:
    action: dict[str, Any] = {"event": form.get("event", "")}
    for name in {f for fields in EVENT_FIELDS.values() for f in fields}:
        if form.get(name):
            action[name] = form[name]
    if form.get("reason"):
        action["reason"] = form["reason"]  # rejections carry their reason in the decision itself
    return action


def navigation(principal) -> list[tuple[str, str]]:
    """Which pages to offer (what the API will answer for this role); the API still decides every call."""
    items: list[tuple[str, str]] = []
    if principal.has(policy.IT_STAFF):
        items += [("/console/queue", "queue"), ("/console/tickets/new", "new_ticket"), ("/console/devices", "devices"),
                  ("/console/requests", "requests")]
    if principal.has(policy.UNIT_MANAGER):
        items += [("/console/devices", "devices"), ("/console/tickets", "tickets"), ("/console/requests", "requests"),
                  ("/console/orders/new", "order"), ("/console/tickets/new", "new_ticket")]
    if principal.has(policy.EMPLOYEE) and not principal.has(policy.UNIT_MANAGER):
        items += [("/console/devices", "my_devices"), ("/console/tickets", "tickets")]
    if principal.has(*DECISION_ROLES):
        items += [("/console/inbox", "inbox")]
    if principal.has(policy.AUDITOR):
        items += [("/console/audit", "audit")]
    seen: set[str] = set()
    return [item for item in items if not (item[0] in seen or seen.add(item[0]))]


def view_path(row: dict) -> str:
    subject = quote(row["subject"])
    return {"framework_change": f"/framework/proposals/{subject}", "development_case": f"/development-cases/{subject}",
            "agreement": f"/agreements/{subject}/drawing-up"}[row["process"]]


def decision_events(process: str, view: dict, principal) -> list[dict]:
    """The allowed events of a process this person may send, by the API's own tables (api.policy)."""
    out = []
    for event in view.get("allowed_events", []):
        if process == "framework_change":
            for key, role in policy.FRAMEWORK_EVENTS.items():
                name, _, municipality = key.partition(":")
                if name == event and principal.has(role):
                    out.append({"event": event, "municipality": municipality or None,
                                "fields": EVENT_FIELDS.get(event, ())})
        elif process == "development_case":
            if principal.has(policy.CASE_EVENTS.get(event, "")):
                out.append({"event": event, "fields": EVENT_FIELDS.get(event, ())})
        elif process == "agreement" and event in ("approve", "reject"):
            for party, role in policy.AGREEMENT_PARTY_ROLE.items():
                if principal.has(role):
                    out.append({"event": event, "party": party, "fields": ()})
    return out


EVENT_ROUTES = {"ticket": "/tickets/{number}/events", "request": "/service-requests/{number}/events"}


def may_send(kind: str, event: str) -> frozenset[str]:
    """Who may send the event, from the API's policy (api.policy), never decided here."""
    if kind == "device":
        return policy.DEVICE_EVENTS.get(event, policy.DEVICE_EVENT_DEFAULT)
    rule = policy.rule_for("POST", policy.PREFIX + EVENT_ROUTES[kind])
    return rule.roles if rule else frozenset()


def event_forms(view: dict, kind: str, session: ConsoleSession | None = None) -> list[dict]:
    """One form per allowed event (the API's `allowed_events`), with the inputs the event takes."""
    forms = []
    principal = session.principal if session else None
    for event in view.get("allowed_events", []):
        if principal is not None and not principal.has(*may_send(kind, event)):
            continue  # the API would refuse it (403): no button for it
        fields = EVENT_FIELDS.get(event, ())
        options = ESCALATION_TARGETS.get(view.get("line", ""), ()) if event == "escalate" else (
            ("verksamhetsstod", "infrastruktur") if event == "transfer" else ())
        forms.append({"event": event, "fields": fields, "options": options})
    return forms
