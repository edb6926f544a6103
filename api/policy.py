"""What each role may do: the whole access policy of the API, as data, enforced in one place.

`POLICY` maps every operation (method, route path template) to the roles that may call it; `enforce`
(a dependency of the whole app) applies it to every request before the route runs. Object-level rules
(whose device, which unit, which body) are in `api.access`, one line in the routes that need them; the
per-event rules they use are the tables below. `docs/security.md` renders this module (a test keeps it equal).

A new endpoint needs a line in POLICY: without one it answers 403 to everyone, and
tests/api/test_access_policy.py fails until it has one.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import compile_path

from api.auth import Principal, authenticate
from api.errors import ErrorDetail
from api.ratelimit import RateLimiter

PREFIX = "/api/v1"
SCIM = "/scim/v2"  # the SCIM endpoint (api/scim.py): its own paths, outside /api/v1

# --- roles (app roles of the Entra ID app registration; the `roles` claim) ---------------------------------
IT_STAFF = "it-staff"  # with a team claim: användarstöd, verksamhetsstöd, infrastruktur
IT_ADMIN = "it-admin"
UNIT_MANAGER = "unit-manager"  # with a unit claim: the one unit they manage
EMPLOYEE = "employee"
SYSTEM_OWNER = "system-owner"
IT_FORUM = "it-forum-utveckling"
IT_STYRGRUPP = "it-styrgrupp"
KS_TRANEMO = "kommunstyrelsen-tranemo"
KS_ULRICEHAMN = "kommunstyrelsen-ulricehamn"
SAMVERKANSNAMND = "samverkansnamnd-it"
AUDITOR = "auditor"
ECONOMY = "economy"  # the municipalities' economy staff: billing (issue 12)
PROVISIONING = "provisioning"  # Entra ID's app provisioning: the SCIM endpoint only (issue 22)
PAYROLL = "payroll"  # the municipalities' payroll office: salary-deduction files (issue 25, EQ-11)

ROLES: dict[str, str] = {
    IT_STAFF: "IT staff (team: användarstöd, verksamhetsstöd, infrastruktur): tickets, service requests, "
              "device events, incidents, operational messages",
    IT_ADMIN: "IT administration: catalogue, prices, renewal policies, agreements (IT's approval), schedules, "
              "framework proposals",
    UNIT_MANAGER: "manager of one unit (unit claim): orders, tickets, service requests of the unit; sees the "
                  "unit's devices, tickets and charges",
    EMPLOYEE: "an employee: own devices and tickets, answers own buyout offer (EQ-11) and survey (TK-6)",
    SYSTEM_OWNER: "system owner: approves the agreements they own (AG-4)",
    IT_FORUM: "secretary of it-forum utveckling: records its decisions (GV-2, GV-4)",
    IT_STYRGRUPP: "secretary of it-styrgrupp: records its decisions (GV-2, GV-3)",
    KS_TRANEMO: "secretary of kommunstyrelsen Tranemo: records its decision (GV-2)",
    KS_ULRICEHAMN: "secretary of kommunstyrelsen Ulricehamn: records its decision (GV-2)",
    SAMVERKANSNAMND: "secretary of samverkansnämnd IT: records its decision (GV-2)",
    AUDITOR: "auditor: reads everything, changes nothing",
    ECONOMY: "economy staff of the municipalities: billing runs, invoice bases, the CSV export, the SIE 4I file, "
             "the ledger mapping and price lists, the forecast (reads only)",
    PAYROLL: "payroll office of the municipalities: the PAXml salary-deduction files and their receipts; "
             "records a deduction payroll refused (EQ-11, issue 25)",
    PROVISIONING: "Entra ID's app provisioning (a machine, not a person): the SCIM endpoint /scim/v2 only, which "
                  "keeps the people register current (issue 22)",
}
BODY_ROLES = (IT_FORUM, IT_STYRGRUPP, KS_TRANEMO, KS_ULRICEHAMN, SAMVERKANSNAMND)
IT = (IT_STAFF, IT_ADMIN)
EVERYONE = tuple(r for r in ROLES if r != PROVISIONING)  # any person's token with a Ramflow role
READERS = IT + (SYSTEM_OWNER,) + BODY_ROLES + (AUDITOR,)  # agreements and governance: not personal data


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    scoped: str | None = None  # the object-level rule that narrows it further (api.access), for the docs
    reads: bool = False  # changes nothing (every GET; a POST that only computes an answer): the auditor may

    @property
    def public(self) -> bool:
        return not self.roles


PUBLIC = Rule(frozenset())


def allow(*roles: str | Iterable[str], scoped: str | None = None) -> Rule:
    flat: set[str] = set()
    for role in roles:
        flat.update((role,) if isinstance(role, str) else role)
    unknown = flat - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return Rule(frozenset(flat), scoped)


def read(*roles: str | Iterable[str], scoped: str | None = None) -> Rule:
    """A read: the auditor reads everything."""
    rule = allow(*roles, AUDITOR, scoped=scoped)
    return Rule(rule.roles, rule.scoped, reads=True)


OWN_UNIT = "unit-manager: own unit only (another unit's object is 404)"
FOR_OWN_UNIT = "unit-manager: for their own unit only (403)"
FILES_SCOPE = "economy: economy and ordering files; payroll: payroll files (another's is 404)"
OWN = "unit-manager: own unit; employee: own only (anyone else's object is 404)"

# AG-4: an agreement's drawing-up and its revisions take the same events from the same parties
AGREEMENT_EVENT = allow(IT_ADMIN, SYSTEM_OWNER, scoped="per event (AGREEMENT_EVENTS); the owner approves only their "
                                                       "own; no one approves for both parties")

POLICY: dict[tuple[str, str], Rule] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/ready"): PUBLIC,
    # equipment (EQ-1 … EQ-14)
    ("POST", "/orders"): allow(IT_STAFF, UNIT_MANAGER, scoped=FOR_OWN_UNIT),
    ("GET", "/devices"): read(IT, UNIT_MANAGER, EMPLOYEE, scoped=OWN),
    ("GET", "/devices/{order_number}"): read(IT, UNIT_MANAGER, EMPLOYEE, scoped=OWN),
    ("GET", "/devices/{order_number}/history"): read(IT, UNIT_MANAGER, EMPLOYEE, scoped=OWN),
    ("POST", "/devices/{order_number}/events"): allow(
        IT_STAFF, UNIT_MANAGER, EMPLOYEE, scoped="per event (DEVICE_EVENTS); own unit / own device"),
    ("PUT", "/devices/{order_number}/renewal-period"): allow(IT_ADMIN),
    ("GET", "/catalogue/categories"): read(EVERYONE),
    ("GET", "/catalogue/models"): read(EVERYONE),
    ("POST", "/catalogue/models"): allow(IT_ADMIN),
    ("GET", "/price-list"): read(EVERYONE),
    ("PUT", "/price-list/{year}/{model_code}"): allow(IT_ADMIN),
    ("GET", "/renewal-policies"): read(EVERYONE),
    ("PUT", "/renewal-policies/{category}/{municipality}"): allow(IT_ADMIN),
    ("GET", "/renewal-policies/{category}/{municipality}/rearm"): read(IT),
    ("GET", "/municipalities"): read(EVERYONE),
    ("GET", "/units"): read(EVERYONE),
    ("GET", "/erasure-vendors"): read(EVERYONE),
    # the people register (issues 20-22): personal data, IT and auditors only
    ("GET", "/people"): read(IT),
    ("GET", "/me"): read(EVERYONE, scoped="the caller's own name and unit (issue 23)"),
    ("GET", "/people/{employee_ref}"): read(IT),
    ("PUT", "/people/{employee_ref}"): allow(IT_ADMIN),
    # importing the existing device register (issue 22)
    ("GET", "/imports/devices/template.csv"): read(IT),
    ("GET", "/imports/devices/template.xlsx"): read(IT),
    ("POST", "/imports/devices"): allow(IT_ADMIN),
    ("GET", "/imports/{import_id}"): read(IT),
    ("GET", "/outbox"): read(IT),
    # support (TK-1 … TK-12, AV-1 … AV-4)
    ("POST", "/tickets"): allow(IT_STAFF, UNIT_MANAGER, EMPLOYEE,
                                scoped="unit-manager: own unit; employee: reports as themself"),
    ("GET", "/tickets"): read(IT, UNIT_MANAGER, EMPLOYEE, scoped=OWN),
    ("GET", "/tickets/{number}"): read(IT, UNIT_MANAGER, EMPLOYEE, scoped=OWN),
    ("GET", "/tickets/{number}/history"): read(IT, UNIT_MANAGER, EMPLOYEE, scoped=OWN),
    ("POST", "/tickets/{number}/events"): allow(IT_STAFF),
    ("PUT", "/tickets/{number}/classification"): allow(IT_STAFF),
    # a ticket's conversation (issue 21): who reads the ticket reads it; internal notes IT and auditors only
    ("GET", "/tickets/{number}/messages"): read(IT, UNIT_MANAGER, EMPLOYEE, scoped=OWN + "; no internal notes"),
    ("GET", "/tickets/{number}/attachments/{attachment_id}"): read(IT, UNIT_MANAGER, EMPLOYEE,
                                                                    scoped=OWN + "; no internal notes"),
    ("POST", "/tickets/{number}/messages"): allow(IT_STAFF, EMPLOYEE,
                                                  scoped="employee: the ticket's reporter answers (TK-5)"),
    ("GET", "/mail/rejected"): read(IT),  # the support mailbox's kept-aside mail (personal data)
    ("POST", "/tickets/{number}/survey"): allow(EMPLOYEE, scoped="the ticket's reporter only (TK-6)"),
    ("GET", "/survey/questions"): read(EVERYONE),
    # issue 21: the mailed survey link (TK-6): the signed, single-use, expiring token is the credential
    ("GET", "/survey/{token}"): PUBLIC,
    ("POST", "/survey/{token}"): PUBLIC,
    ("GET", "/support-matters"): read(EVERYONE),
    ("GET", "/intefunktion-functions"): read(EVERYONE),
    ("POST", "/service-requests"): allow(IT_STAFF, UNIT_MANAGER, EMPLOYEE, scoped="a non-employee account: the "
                                         "applicant is the caller (TK-9), the unit's manager or a designated "
                                         "employee; IT staff register the other kinds"),
    ("GET", "/service-requests"): read(IT, UNIT_MANAGER, scoped=OWN_UNIT),
    ("GET", "/service-requests/{number}"): read(IT, UNIT_MANAGER, scoped=OWN_UNIT),
    ("GET", "/service-requests/{number}/history"): read(IT, UNIT_MANAGER, scoped=OWN_UNIT),
    ("POST", "/service-requests/{number}/events"): allow(IT_STAFF),
    ("GET", "/units/{unit_id}/designated-applicants"): read(IT, UNIT_MANAGER, scoped=OWN_UNIT),
    ("PUT", "/units/{unit_id}/designated-applicants/{person_ref}"): allow(UNIT_MANAGER, scoped=OWN_UNIT),
    ("DELETE", "/units/{unit_id}/designated-applicants/{person_ref}"): allow(UNIT_MANAGER, scoped=OWN_UNIT),
    ("POST", "/incidents"): allow(IT_STAFF, UNIT_MANAGER, scoped="unit-manager: reported_by=unit, own unit"),
    ("GET", "/incidents"): read(EVERYONE),
    ("PUT", "/incidents/{incident_id}/end"): allow(IT_STAFF),
    ("POST", "/operational-messages"): allow(IT_STAFF),
    ("GET", "/feeds/{municipality}/driftinformation.atom"): PUBLIC,  # AV-4: for the intranets, no personal data
    ("GET", "/reports/tertial"): read(IT, BODY_ROLES),
    ("GET", "/reports/tertial.csv"): read(IT, BODY_ROLES),
    ("GET", "/calendar/deadline"): read(EVERYONE),
    ("GET", "/calendar/service-windows"): read(EVERYONE),
    # agreements (AG-1 … AG-8)
    ("POST", "/agreements"): allow(IT_ADMIN),
    ("GET", "/agreements"): read(READERS),
    ("GET", "/agreements/{agreement_id}"): read(READERS),
    ("GET", "/agreements/{agreement_id}/versions"): read(READERS),
    ("GET", "/agreements/{agreement_id}/versions/compare"): read(READERS),
    ("GET", "/agreements/{agreement_id}/versions/{version}"): read(READERS),
    ("GET", "/agreements/{agreement_id}/versions/{version}/sketch"): read(READERS),
    ("POST", "/agreements/{agreement_id}/terminate"): allow(IT_ADMIN),
    ("GET", "/agreements/{agreement_id}/drawing-up"): read(READERS),
    ("POST", "/agreements/{agreement_id}/drawing-up/events"): AGREEMENT_EVENT,
    ("POST", "/agreements/{agreement_id}/revisions"): allow(IT_ADMIN),
    ("GET", "/agreements/{agreement_id}/revisions/{for_year}"): read(READERS),
    ("POST", "/agreements/{agreement_id}/revisions/{for_year}/events"): AGREEMENT_EVENT,
    ("GET", "/agreement-revisions"): read(READERS),
    ("POST", "/agreement-revisions/rounds"): allow(IT_ADMIN),
    ("GET", "/application-prices/{year}"): read(EVERYONE),
    ("PUT", "/application-prices/{year}"): allow(IT_ADMIN),
    ("GET", "/units/{unit_id}/application-charges/{year}"): read(IT, UNIT_MANAGER, scoped=OWN_UNIT),
    ("POST", "/services"): allow(IT_ADMIN),
    ("GET", "/services"): read(READERS),
    ("GET", "/services/{service_code}"): read(READERS),
    ("POST", "/services/{service_code}/events"): allow(IT_ADMIN),
    ("POST", "/cloud-moves"): allow(IT_ADMIN),
    ("GET", "/cloud-moves/{case_id}"): read(READERS),
    ("POST", "/cloud-moves/{case_id}/events"): allow(IT_ADMIN),
    # governance (GV-1 … GV-4)
    ("GET", "/framework/versions"): read(EVERYONE),
    ("GET", "/framework/parameters"): read(EVERYONE),
    ("POST", "/framework/proposals"): allow(IT_ADMIN),
    ("GET", "/framework/proposals"): read(READERS),
    ("GET", "/framework/proposals/{proposal_id}"): read(READERS),
    ("POST", "/framework/proposals/{proposal_id}/events"): allow(
        IT_ADMIN, BODY_ROLES, scoped="per event (FRAMEWORK_EVENTS): only a body's secretary records its "
                                     "decision; no one records for two bodies"),
    ("GET", "/framework/proposals/{proposal_id}/decisions"): read(READERS),
    ("POST", "/framework/yearly-rounds"): allow(IT_ADMIN),
    ("POST", "/development-cases"): allow(IT_ADMIN, UNIT_MANAGER, scoped=FOR_OWN_UNIT),
    ("GET", "/development-cases"): read(READERS),
    ("GET", "/development-cases/{case_id}"): read(READERS),
    ("POST", "/development-cases/{case_id}/events"): allow(
        IT_ADMIN, IT_FORUM, IT_STYRGRUPP, scoped="per event (CASE_EVENTS)"),
    ("GET", "/governance-processes"): read(READERS),
    ("GET", "/governance-processes/{workflow_id}/history"): read(READERS),
    # security records (this issue)
    ("GET", "/security/refused-attempts"): read(IT_ADMIN),
    ("GET", "/reference-changes"): read(IT_ADMIN),
    # SCIM 2.0 (issue 22): Entra ID's provisioning keeps the people register; no person, not even the auditor,
    # calls it (they read the register through /people)
    **{(method, f"{SCIM}{path}"): allow(PROVISIONING, scoped="Entra ID's provisioning only") for method, path in (
        ("GET", "/ServiceProviderConfig"), ("GET", "/ResourceTypes"), ("GET", "/ResourceTypes/{name}"),
        ("GET", "/Schemas"), ("GET", "/Schemas/{schema_id}"), ("GET", "/Users"), ("POST", "/Users"),
        ("POST", "/Users/.search"), ("POST", "/.search"), ("GET", "/Users/{user_id}"), ("PUT", "/Users/{user_id}"),
        ("PATCH", "/Users/{user_id}"), ("DELETE", "/Users/{user_id}"))},
    # movers (issue 22, EQ-7/EQ-8): the old unit's manager confirms that the devices follow
    ("GET", "/people-moves"): read(IT, UNIT_MANAGER, scoped=OWN_UNIT),
    ("POST", "/people-moves/{move_id}/confirm"): allow(UNIT_MANAGER, scoped="the old unit's manager only"),
    # reorganisations (issue 22, EQ-7/EQ-8): it-admin keeps units (reference data with a history); IT staff move in bulk
    ("POST", "/units"): allow(IT_ADMIN),
    ("PUT", "/units/{unit_id}"): allow(IT_ADMIN),
    ("POST", "/units/{unit_id}/merge-into/{target}"): allow(IT_ADMIN),
    ("POST", "/devices/bulk-reassign"): allow(IT_STAFF, IT_ADMIN),
    ("POST", "/tickets/bulk-reassign"): allow(IT_STAFF, IT_ADMIN),
    # --- routes of the other branches of this wave, ready for their merge ---------------------------------
    # operations (issue 13): scraped by Prometheus inside the network; the TLS proxy does not forward it
    ("GET", "/metrics"): PUBLIC,
    # the auditors' workspace (issue 11)
    ("GET", "/audit/trail"): read(IT_ADMIN),
    ("GET", "/audit/verify"): read(IT_ADMIN),
    ("GET", "/audit/archive"): read(IT_ADMIN),
    ("GET", "/audit/processes/{workflow_id}/transitions"): read(IT_ADMIN),
    ("GET", "/audit/processes/{workflow_id}/refusals"): read(IT_ADMIN),
    ("GET", "/audit/processes/{workflow_id}/diagram"): read(IT_ADMIN),
    ("GET", "/audit/processes/{workflow_id}/consistency"): read(IT_ADMIN),
    ("GET", "/audit/processes/{workflow_id}/history"): read(IT_ADMIN),
    ("GET", "/audit/processes/{workflow_id}/bundle"): read(IT_ADMIN),
    ("POST", "/codec/decode"): read(IT_STAFF, IT_ADMIN),  # decodes payloads, changes nothing
    # premises projects (rule fidelity, FC-1 … FC-4): IT's demands on property owners
    ("POST", "/premises-projects"): allow(IT_STAFF, IT_ADMIN),
    ("GET", "/premises-projects"): read(IT),
    ("GET", "/premises-projects/{project_id}"): read(IT),
    ("POST", "/premises-projects/{project_id}/events"): allow(IT_STAFF),
    ("GET", "/premises-projects/{project_id}/history"): read(IT),
    # billing (issue 12, BL-1 … BL-6): it-admin runs it, economy reads and exports, a manager reads their unit's
    ("POST", "/billing/runs"): allow(IT_ADMIN),
    ("GET", "/billing/runs"): read(IT_ADMIN, ECONOMY),
    ("GET", "/billing/runs/{run_id}"): read(IT_ADMIN, ECONOMY),
    ("GET", "/billing/bases"): read(ECONOMY, IT_ADMIN, UNIT_MANAGER, scoped=OWN_UNIT),
    ("GET", "/billing/bases/{basis_id}"): read(ECONOMY, IT_ADMIN, UNIT_MANAGER, scoped=OWN_UNIT),
    ("GET", "/billing/bases/{basis_id}.html"): read(ECONOMY, IT_ADMIN, UNIT_MANAGER, scoped=OWN_UNIT),
    ("GET", "/billing/{municipality}/{period}/export.csv"): read(ECONOMY),
    ("PUT", "/billing/central-costs/{year}/{unit_id}"): allow(IT_ADMIN),
    ("GET", "/billing/forecast/{municipality}"): read(ECONOMY, IT_ADMIN),
    ("GET", "/billing/forecast/{municipality}.csv"): read(ECONOMY, IT_ADMIN),
    ("GET", "/billing/forecast/{municipality}.svg"): read(ECONOMY, IT_ADMIN),
    # issue 25: the run as SIE 4I vouchers, the ledger mapping behind it, the price lists invoiced by
    ("GET", "/billing/runs/{run_id}/sie"): read(ECONOMY, IT_ADMIN),
    ("POST", "/billing/runs/{run_id}/sie/delivery"): allow(IT_ADMIN),
    ("GET", "/billing/ledger-mappings/{municipality}"): read(ECONOMY, IT_ADMIN),
    ("PUT", "/billing/ledger-mappings/{municipality}/{charge_kind}/{category}"): allow(IT_ADMIN),
    ("GET", "/billing/price-lists/{year}"): read(ECONOMY, IT_ADMIN),
    # files for the economy, payroll and ordering systems and their receipts (issue 25)
    ("GET", "/files/deliveries"): read(IT_ADMIN, ECONOMY, PAYROLL, scoped=FILES_SCOPE),
    ("GET", "/files/deliveries/{delivery_id}"): read(IT_ADMIN, ECONOMY, PAYROLL, scoped=FILES_SCOPE),
    ("GET", "/files/deliveries/{delivery_id}/content"): read(IT_ADMIN, ECONOMY, PAYROLL, scoped=FILES_SCOPE),
    ("POST", "/files/deliveries/{delivery_id}/retry"): allow(IT_ADMIN),
    ("GET", "/salary-deductions"): read(IT_ADMIN, PAYROLL),
    ("POST", "/salary-deductions/paxml"): allow(IT_ADMIN),
    ("POST", "/salary-deductions/{order_number}/refused"): allow(PAYROLL, IT_ADMIN),
    ("POST", "/call-offs/{order_number}/order"): allow(IT_STAFF, IT_ADMIN),
    ("POST", "/orders/responses"): allow(IT_STAFF, IT_ADMIN),
    ("POST", "/orders/responses/poll"): allow(IT_ADMIN),
    ("POST", "/erasure-reports"): allow(IT_STAFF, IT_ADMIN),
}
# paths outside /api/v1 keep their own path
UNPREFIXED = {"/health", "/ready", "/metrics"}

# --- who may send which event (the body of one endpoint carries many acts) -------------------------------
DEVICE_EVENTS: dict[str, frozenset[str]] = {
    "accept_buyout": frozenset({EMPLOYEE}),  # EQ-11: the offered employee, in person
    "decline_buyout": frozenset({EMPLOYEE}),
    "give_notice": frozenset({IT_STAFF, UNIT_MANAGER}),  # EQ-8: the unit gives notice on its own device
    "withdraw_notice": frozenset({IT_STAFF, UNIT_MANAGER}),
    "report_stolen": frozenset({IT_STAFF, UNIT_MANAGER}),  # EQ-9
    "report_damaged": frozenset({IT_STAFF, UNIT_MANAGER}),
    "report_lost": frozenset({IT_STAFF, UNIT_MANAGER}),
    "record_erasure": frozenset({IT_STAFF}),  # EQ-12: IT staff only, naming the vendor it was sent to
}
DEVICE_EVENT_DEFAULT = frozenset({IT_STAFF})

AGREEMENT_PARTY_ROLE = {"it": IT_ADMIN, "system_owner": SYSTEM_OWNER}  # AG-4: approve / reject per party
AGREEMENT_EVENT_DEFAULT = frozenset({IT_ADMIN})  # record_meeting, revise, cancel

FRAMEWORK_EVENTS: dict[str, str] = {  # GV-2: each body's secretary records its own decision
    "forum_prepare": IT_FORUM,
    "steering_approve": IT_STYRGRUPP, "steering_reject": IT_STYRGRUPP,
    "board_approve:tranemo": KS_TRANEMO, "board_reject:tranemo": KS_TRANEMO,
    "board_approve:ulricehamn": KS_ULRICEHAMN, "board_reject:ulricehamn": KS_ULRICEHAMN,
    "committee_decide": SAMVERKANSNAMND, "committee_reject": SAMVERKANSNAMND,
    "revise": IT_ADMIN, "withdraw": IT_ADMIN,
}
CASE_EVENTS: dict[str, str] = {  # GV-3, GV-4
    "forum_pass": IT_FORUM, "forum_reject": IT_FORUM,
    "prioritise": IT_STYRGRUPP, "steering_reject": IT_STYRGRUPP,
    "strategist_approve": IT_ADMIN, "strategist_reject": IT_ADMIN, "escalate": IT_ADMIN,
    "start_work": IT_ADMIN, "complete": IT_ADMIN, "withdraw": IT_ADMIN,
}


def full_path(path: str) -> str:
    return path if path in UNPREFIXED or path.startswith(SCIM + "/") else PREFIX + path


def policy_by_full_path() -> dict[tuple[str, str], Rule]:
    return {(method, full_path(path)): rule for (method, path), rule in POLICY.items()}


_POLICY = policy_by_full_path()
_PATTERNS = {key: compile_path(key[1])[0] for key in _POLICY}


def rule_for(method: str, template: str) -> Rule | None:
    return _POLICY.get((method, template))


def route_template(request: Request) -> str:
    """The matched route's full path template (as in the OpenAPI document). The route object knows its
    path below the router's prefix; the policy entry whose template ends with it and matches the URL is it."""
    route_path = getattr(request.scope.get("route"), "path", None) or request.url.path
    url_path = request.url.path
    for (method, template), pattern in _PATTERNS.items():
        if method == request.method and template.endswith(route_path) and pattern.match(url_path):
            return template
    return route_path


# Documented on every route (the OpenAPI document says what the access policy answers).
ACCESS_RESPONSES: dict[int | str, dict] = {
    401: {"model": ErrorDetail, "description": "no valid bearer token",
          "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer realm=\"ramflow\", …"}}},
    403: {"model": ErrorDetail, "description": "the token's roles or an object-level rule do not allow it "
                                               "(docs/security.md)"},
    429: {"model": ErrorDetail, "description": "rate limit of the identity: retry after Retry-After seconds",
          "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}},
}
# Only for the OpenAPI document (the docs' "Authorize" button): api.auth reads and checks the header itself.
BEARER_SCHEME = HTTPBearer(auto_error=False, scheme_name="OpenID Connect bearer token",
                           description="an access token of the configured issuer (Entra ID; `make token` locally)")


async def documented_bearer(
        _token: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER_SCHEME)] = None) -> None:
    """A dependency of the /api/v1 routers: the OpenAPI document says they need the bearer token."""


async def enforce(request: Request) -> None:
    """Every request: authenticate (401), rate-limit (429), authorise against POLICY (403)."""
    method, template = request.method, route_template(request)
    rule = rule_for(method, template)
    limiter: RateLimiter = request.app.state.rate_limiter
    if rule is not None and rule.public:
        return
    try:
        principal = await authenticate(request)
    except HTTPException as error:
        if error.status_code == 401:
            await limiter.hit(f"address {request.client.host if request.client else 'unknown'}")
        raise
    await limiter.hit(f"subject {principal.subject}")
    if rule is None:
        raise HTTPException(403, f"no access policy for {method} {template}: denied to everyone until it has one")
    if not principal.roles & rule.roles:
        raise HTTPException(403, f"roles: {method} {template} needs one of {sorted(rule.roles)}")


def require(principal: Principal, roles: Iterable[str], what: str) -> None:
    """403 unless the caller has one of `roles` (for the per-event tables)."""
    needed = frozenset(roles)
    if not principal.roles & needed:
        raise HTTPException(403, f"roles: {what} needs one of {sorted(needed)}")


# --- the docs (docs/security.md, kept equal to this module by tests/api/test_access_policy.py) -------------
def role_table_markdown() -> str:
    lines = ["| role (app role value) | who, and what for |", "|---|---|"]
    lines += [f"| `{role}` | {text} |" for role, text in ROLES.items()]
    return "\n".join(lines)


def policy_table_markdown() -> str:
    lines = ["| operation | roles | object-level rule |", "|---|---|---|"]
    for (method, path), rule in POLICY.items():
        roles = "anyone, no token" if rule.public else (
            "every role" if rule.roles >= set(EVERYONE) else ", ".join(f"`{r}`" for r in ROLES if r in rule.roles))
        lines.append(f"| `{method} {full_path(path)}` | {roles} | {rule.scoped or ''} |")
    return "\n".join(lines)


def event_table_markdown() -> str:
    lines = ["| process | event | who may send it |", "|---|---|---|"]
    for event, roles in DEVICE_EVENTS.items():
        lines.append(f"| device | `{event}` | {', '.join(f'`{r}`' for r in sorted(roles))} |")
    lines.append(f"| device | every other event | {', '.join(f'`{r}`' for r in sorted(DEVICE_EVENT_DEFAULT))} |")
    for party, role in AGREEMENT_PARTY_ROLE.items():
        lines.append(f"| agreement | `approve` / `reject` for party `{party}` | `{role}` |")
    lines.append(f"| agreement | every other event | {', '.join(f'`{r}`' for r in sorted(AGREEMENT_EVENT_DEFAULT))} |")
    for key, role in FRAMEWORK_EVENTS.items():
        event, _, municipality = key.partition(":")
        lines.append(f"| framework proposal | `{event}`{f' ({municipality})' if municipality else ''} | `{role}` |")
    for event, role in CASE_EVENTS.items():
        lines.append(f"| development case | `{event}` | `{role}` |")
    return "\n".join(lines)
