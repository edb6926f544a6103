"""What every page of the console shares: rendering, the signed-in session, CSRF-checked forms, the API
client with the user's token, one event sent through the API, and which pages and buttons to offer.
The console decides only what to show; the API's policy and rules decide what may be done."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from api import policy
from console import i18n
from console.api_client import Answer, Api
from console.refusals import said
from console.session import COOKIE, LANG_COOKIE, ConsoleSession, SessionStore, csrf_ok

HERE = Path(__file__).parent
DECISION_ROLES = (policy.SYSTEM_OWNER, policy.IT_ADMIN, *policy.BODY_ROLES)

# Which inputs an event's form shows (presentation only: the API validates and decides).
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "assign": ("assignee",), "wait_for_customer": ("question",), "escalate": ("to",), "transfer": ("to",), "resolve": ("resolution",),
    "deliver": ("serial_number",), "offer_buyout": ("price", "buyer_ref"), "reassign": ("unit_id", "user_ref"),
    "record_erasure": ("vendor", "certificate_id"), "send_to_erasure": ("vendor",),
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
# a service request's events take other inputs than a device's of the same name (TK-9 … TK-12)
REQUEST_EVENT_FIELDS: dict[str, tuple[str, ...]] = {"start_work": ("assignee",), "deliver": ("result", "minutes_worked")}
EVENT_ROUTES = {"ticket": "/tickets/{number}/events", "request": "/service-requests/{number}/events"}


def moved(event: str, state: str | None, lang: str) -> str:
    """The confirmation of a sent event: `tilldela (assign) → tilldelat (assigned)`."""
    return f"{i18n.name(event, lang)} → {i18n.name(state, lang)}"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Answered(Exception):
    """A page answered before its handler's work: the sign-in redirect or a refused form."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class Ui:
    """The helpers of every page, bound to one console app and the API it calls."""

    def __init__(self, console: FastAPI, api_app: FastAPI, store: SessionStore) -> None:
        self.console, self.api_app, self.store = console, api_app, store
        templates = Jinja2Templates(directory=str(HERE / "templates"))
        templates.env.filters["name"] = lambda code, lang="sv": i18n.name(code, lang)
        templates.env.globals["new_key"] = lambda: uuid.uuid4().hex  # one Idempotency-Key per rendered form
        templates.env.filters.update(when=pass_context(lambda ctx, v: i18n.when(v, ctx.get("lang", "sv"))),
                                     day=pass_context(lambda ctx, v: i18n.day(v, ctx.get("lang", "sv"))),
                                     kronor=i18n.kronor, hours=i18n.working_hours,
                                     quantity=i18n.quantity, person=i18n.person,
                                     said=lambda text, lang="sv": said(text, lang),
                                     line_text=pass_context(lambda ctx, v: i18n.line_text(v, ctx.get("lang", "sv"))),
                                     age=i18n.age)
        self.templates = templates

    def now(self) -> datetime:
        """'Now' for the queue's marks: the real clock; a test app sets `console.state.clock` (never a header)."""
        clock: Callable[[], datetime] = getattr(self.console.state, "clock", None) or utc_now
        return clock()

    @staticmethod
    def lang_of(request: Request) -> str:
        lang = request.cookies.get(LANG_COOKIE, "sv")
        return lang if lang in i18n.LANGUAGES else "sv"

    def t_of(self, request: Request) -> dict[str, str]:
        return i18n.words(self.lang_of(request))

    async def session_of(self, request: Request) -> ConsoleSession | None:
        session = await self.store.get(request.cookies.get(COOKIE))
        if session is not None:
            session.lang = self.lang_of(request)
        request.state.console_session = session  # its flash is saved after the page (console.app)
        return session

    def render(self, request: Request, name: str, session: ConsoleSession | None, status: int = 200,
               **context: Any) -> HTMLResponse:
        lang = self.lang_of(request)
        flash = list(session.flash) if session else []
        if session:
            session.flash.clear()
        principal = session.principal if session else None
        return self.templates.TemplateResponse(request, name, {
            "t": i18n.words(lang), "lang": lang, "session": session, "principal": principal, "flash": flash,
            "csrf": session.csrf if session else "", "nav": navigation(principal) if principal else [],
            "path": request.url.path, "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            **context}, status_code=status)

    def error(self, request: Request, session: ConsoleSession | None, status: int, heading: str,
              message: str) -> HTMLResponse:
        return self.render(request, "error.html", session, status=status, heading=heading, message=message)

    @staticmethod
    def login_redirect(request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/console/login?next={quote(target)}", status_code=303)

    def api_for(self, session: ConsoleSession) -> Api:
        return Api(self.api_app, session.access_token, session.lang)

    def refused(self, request: Request, session: ConsoleSession, answer: Answer) -> HTMLResponse:
        t = self.t_of(request)
        text = t["not_found"] if answer.status == 404 else t["not_allowed"] if answer.status == 403 else t["error"]
        return self.error(request, session, answer.status if answer.status >= 400 else 502, text, answer.message)

    async def form_of(self, request: Request, session: ConsoleSession) -> dict[str, str] | None:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        return form if csrf_ok(session, form.get("csrf")) else None

    def csrf_refused(self, request: Request, session: ConsoleSession) -> HTMLResponse:
        request.state.console_session = session  # the refusal's record names the user (api.refusals)
        return self.error(request, session, 403, "CSRF",
                          "the form's CSRF token is missing or wrong: reload the page and try again")

    async def signed_in(self, request: Request) -> ConsoleSession:
        """The page's session; without one the page answers with the sign-in redirect (one place for all pages)."""
        session = await self.session_of(request)
        if session is None:
            raise Answered(self.login_redirect(request))
        return session

    async def checked_form(self, request: Request, session: ConsoleSession) -> dict[str, str]:
        """The posted form; a missing or wrong CSRF token answers 403 (one place for all forms)."""
        form = await self.form_of(request, session)
        if form is None:
            raise Answered(self.csrf_refused(request, session))
        return form

    async def send(self, request: Request, api_path: str, back: str) -> Response:
        """One event through the API (the rule's own message on refusal: 409/403/422), then back to the page."""
        session = await self.signed_in(request)
        form = await self.checked_form(request, session)
        body = {"action": action_of(form), "reason": form.get("reason") or None}
        async with self.api_for(session) as api:
            answer = await api.post(api_path, body, form.get("idempotency"))
        if answer.ok:
            session.flash.append(("ok", moved(body["action"]["event"], answer.body.get("state"), session.lang)))
        else:
            session.flash.append(("error", answer.message))
        return RedirectResponse(back, status_code=303)

    @staticmethod
    async def created(session: ConsoleSession, api: Api, api_path: str, body: dict, key: str | None,
                      page: str) -> Response | None:
        """POST a new process; on success the redirect to its page (`page` formatted with the answer), else
        None with the API's refusal (the rule's own message) in the session's flash."""
        answer = await api.post(api_path, body, key)
        if answer.ok:
            number = answer.body.get("number") or answer.body.get("order_number")
            session.flash.append(("ok", f"{number}: {i18n.name(answer.body['state'], session.lang)}"))
            return RedirectResponse(page.format(quote(number)), status_code=303)
        session.flash.append(("error", answer.message))
        session.refusal_status = answer.status
        return None

    async def fetch(self, request: Request, api_path: str, **params: Any) -> tuple[ConsoleSession, Answer]:
        """(the session, the API's answer to GET api_path); a refusal answers the page with its message."""
        session = await self.signed_in(request)
        async with self.api_for(session) as api:
            answer = await api.get(api_path, **params)
        if not answer.ok:
            raise Answered(self.refused(request, session, answer))
        return session, answer

    async def page(self, request: Request, api_path: str, template: str, kind: str | None = None,
                   **context: Any) -> Response:
        """A page showing one API answer as `item` (with its allowed events' forms for a process `kind`)."""
        session, answer = await self.fetch(request, api_path)
        events = event_forms(answer.body, kind, session) if kind else []
        return self.render(request, template, session, item=answer.body, events=events,
                           mirror=answer.headers.get("x-ramflow-view") == "mirror", **context)


def process_pages(console: FastAPI, ui: Ui, page: str, api_path: str, template: str, kind: str) -> None:
    """A process's page (GET page/{number}) and its events (POST page/{number}/events), both through the API."""
    async def view(request: Request, number: str) -> Response:
        return await ui.page(request, f"{api_path}/{quote(number)}", template, kind)

    async def event(request: Request, number: str) -> Response:
        return await ui.send(request, f"{api_path}/{quote(number)}/events", f"/console{page}/{quote(number)}")

    console.add_api_route(page + "/{number}", view, methods=["GET"], include_in_schema=False)
    console.add_api_route(page + "/{number}/events", event, methods=["POST"], include_in_schema=False)


# the decisions whose action carries its own reason (rejections, cancellations, withdrawals, a case's
# escalation): the API refuses a field an action does not have (issue 20), so the others get it only beside
REASONED_DECISIONS = frozenset({"reject", "reject_move", "reject_design", "cancel", "withdraw", "escalate",
                                "board_reject", "committee_reject", "steering_reject", "forum_reject",
                                "strategist_reject"})


def action_of(form: dict[str, str], decision: bool = False) -> dict[str, Any]:
    action: dict[str, Any] = {"event": form.get("event", "")}
    for name in {f for table in (EVENT_FIELDS, REQUEST_EVENT_FIELDS) for fields in table.values() for f in fields}:
        if form.get(name):
            action[name] = form[name]
    if decision and form.get("reason") and action["event"] in REASONED_DECISIONS:
        action["reason"] = form["reason"]  # rejections carry their reason in the decision itself
    return action


def navigation(principal) -> list[tuple[str, str]]:
    """Which pages to offer (what the API will answer for this role); the API still decides every call."""
    items: list[tuple[str, str]] = []
    if principal.has(policy.IT_STAFF):
        items += [("/console/queue", "queue"), ("/console/queue?line=all&mine=1", "mine"),
                  ("/console/search", "search_tickets"),
                  ("/console/tickets/new", "new_ticket"), ("/console/devices", "devices"),
                  ("/console/requests", "requests")]
    if principal.has(policy.UNIT_MANAGER):
        items += [("/console/devices", "devices"), ("/console/tickets", "tickets"),
                  ("/console/search", "search_tickets"), ("/console/requests", "requests"),
                  ("/console/orders/new", "order"), ("/console/tickets/new", "new_ticket"),
                  ("/console/invoices", "invoices")]
    if principal.has(policy.ECONOMY, policy.IT_ADMIN):
        items += [("/console/invoices", "invoices")]
    if principal.has(policy.EMPLOYEE) and not principal.has(policy.UNIT_MANAGER):
        items += [("/console/devices", "my_devices"), ("/console/tickets", "tickets"),
                  ("/console/tickets/report", "new_ticket")]
    if principal.has(*DECISION_ROLES):
        items += [("/console/inbox", "inbox")]
    if principal.has(policy.AUDITOR):
        items += [("/console/audit", "audit")]
    if principal.has(policy.ECONOMY, policy.PAYROLL, policy.IT_ADMIN, policy.AUDITOR):
        items += [("/console/files", "files")]  # issue 25: the files delivered and their receipts (last: homes stay)
    seen: set[str] = set()
    return [item for item in items if not (item[0] in seen or seen.add(item[0]))]


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
        fields = (REQUEST_EVENT_FIELDS if kind == "request" else EVENT_FIELDS).get(event, ())
        options = ESCALATION_TARGETS.get(view.get("line", ""), ()) if event == "escalate" else (
            ("verksamhetsstod", "infrastruktur") if event == "transfer" else ())
        forms.append({"event": event, "fields": fields, "options": options})
    return forms
