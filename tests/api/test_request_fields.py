"""Issue 20, data loss: every field of every request body the API accepts (walked from the OpenAPI document:
each create and event endpoint's model, nested objects and every variant of an event's `action`) is either
shown in the answer's own model under its name, or named below with where it is shown; and a field no model
has is refused with 422 on every body route (api.strict_bodies), so nothing accepted is silently dropped."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute

from api.main import create_app
from api.strict_bodies import refuse_unknown_fields

DETAILS = "the event's transition record (log[].details and /history)"
# (method, path, field) → where it is shown when the answer's model has no field of that name
SHOWN_AS: dict[tuple[str, str, str], str] = {
    ("POST", "/api/v1/imports/devices", "file"): "the import's rows: GET /imports/{id} (each row's outcome)",
    ("POST", "/api/v1/orders/responses", "file"): "the call-off's response (GET /devices/{order_number}), each file's "
                                                  "outcome in the answer",
    ("POST", "/api/v1/erasure-reports", "file"): "each line's outcome in the answer; the certificates on the devices",
    ("POST", "/api/v1/survey/{token}", "solved_satisfactorily"): "the survey answer (TK-6), as POST /tickets/{number}/survey answers it; the tertial report",
    ("POST", "/api/v1/survey/{token}", "treatment"): "the survey answer (TK-6), as POST /tickets/{number}/survey answers it; the tertial report",
    ("POST", "/api/v1/survey/{token}", "comment"): "the survey answer (TK-6), as POST /tickets/{number}/survey answers it; the tertial report",
    ("PUT", "/api/v1/renewal-policies/{category}/{municipality}", "apply_to_running"):
        "the answer's `rearm` (the running devices re-armed), GET …/rearm",
    ("PUT", "/api/v1/renewal-policies/{category}/{municipality}", "reason"): "GET /reference-changes `reason`",
    ("POST", "/api/v1/operational-messages", "subject"): "GET /outbox `subject`",
    ("POST", "/api/v1/operational-messages", "body"): "GET /outbox `body`",
    ("POST", "/api/v1/operational-messages", "municipality"): "the answer: its recipients (the intranets)",
    ("POST", "/api/v1/agreements/{agreement_id}/terminate", "reason"): "the answer's `termination_reason`",
    ("POST", "/api/v1/salary-deductions/{order_number}/refused", "reason"): "the answer's `refusal_reason`",
    ("POST", "/api/v1/agreement-revisions/rounds", "year"): "the answer's workflow ids (…-revision-<year+1>)",
    ("POST", "/api/v1/framework/yearly-rounds", "year"): "the answer's workflow id (yearly-<year+1>)",
    ("POST", "/api/v1/tickets/{number}/messages", "to_reporter"): "the answer's `direction` (out / internal)",
    ("POST", "/api/v1/tickets/{number}/messages", "attachments.content_base64"):
        "the answer's `attachments[].sha256`; the file at GET /tickets/{number}/attachments/{attachment_id}",
    ("POST", "/api/v1/billing/runs", "kind"): "GET /billing/runs/{run_id}",
    ("POST", "/api/v1/billing/runs", "municipality"): "GET /billing/runs/{run_id}",
    ("POST", "/api/v1/billing/runs", "period"): "GET /billing/runs/{run_id}",
    ("POST", "/api/v1/devices/{order_number}/events", "action.amount"): DETAILS,
    ("POST", "/api/v1/devices/{order_number}/events", "action.settlement"): DETAILS,
    ("POST", "/api/v1/devices/{order_number}/events", "action.answer_days"): "`buyout.deadline` and " + DETAILS,
    ("POST", "/api/v1/devices/{order_number}/events", "action.buyer"): DETAILS,
    ("POST", "/api/v1/devices/{order_number}/events", "action.vendor"): "`erasure_vendor` and " + DETAILS,
    ("POST", "/api/v1/devices/{order_number}/events", "action.certificate_id"): "`erasure_certificate` and " + DETAILS,
    ("POST", "/api/v1/tickets/{number}/events", "action.minutes_worked"): DETAILS,
    ("POST", "/api/v1/tickets/{number}/events", "action.question"): DETAILS,
    ("POST", "/api/v1/tickets/{number}/events", "action.resolution"): DETAILS,
    ("POST", "/api/v1/tickets/{number}/events", "action.to"): "`line` and " + DETAILS,
    ("POST", "/api/v1/agreements/{agreement_id}/drawing-up/events", "action.changes"): "`content` and " + DETAILS,
    ("POST", "/api/v1/agreements/{agreement_id}/revisions/{for_year}/events", "action.changes"):
        "`content` and " + DETAILS,
    ("POST", "/api/v1/services/{service_code}/events", "action.decided_on"): DETAILS,
    ("POST", "/api/v1/services/{service_code}/events", "action.minutes_ref"): DETAILS,
    ("POST", "/api/v1/development-cases/{case_id}/events", "action.minutes_ref"): DETAILS,
    # reorganisations (issue 22): the units' changes are reference changes; bulk moves show in each process
    ("POST", "/api/v1/units", "reason"): "GET /reference-changes `reason`",
    ("PUT", "/api/v1/units/{unit_id}", "reason"): "GET /reference-changes `reason`",
    ("POST", "/api/v1/units/{unit_id}/merge-into/{target}", "reason"): "GET /reference-changes `reason`",
    ("POST", "/api/v1/units/{unit_id}/merge-into/{target}", "on"): "the answer's `closed_on`",
    ("POST", "/api/v1/devices/bulk-reassign", "order_numbers"): "the answer's `key` per device",
    ("POST", "/api/v1/devices/bulk-reassign", "unit_id"): "each device's `unit_id` and log",
    ("POST", "/api/v1/devices/bulk-reassign", "reason"): "each device's log[].reason",
    ("POST", "/api/v1/tickets/bulk-reassign", "numbers"): "the answer's `key` per ticket",
    ("POST", "/api/v1/tickets/bulk-reassign", "unit_id"): "each ticket's `unit_id`; GET /reference-changes",
    ("POST", "/api/v1/tickets/bulk-reassign", "reason"): "GET /reference-changes `reason`",
}
# the `action` wrapper itself: its fields are walked, each on its own
WRAPPERS = {"action"}


def _deref(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _variants(schema: dict, components: dict) -> Iterator[dict]:
    schema = _deref(schema, components)
    for key in ("anyOf", "oneOf", "allOf"):
        for item in schema.get(key, []):
            yield from _variants(item, components)
    if "items" in schema:
        yield from _variants(schema["items"], components)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _variants(schema["additionalProperties"], components)
    yield schema


def shown_names(schema: dict, components: dict, seen: set[int] | None = None) -> set[str]:
    """Every property name anywhere in an answer's model."""
    seen = set() if seen is None else seen
    names: set[str] = set()
    for variant in _variants(schema, components):
        if id(variant) in seen:
            continue
        seen.add(id(variant))
        for name, child in variant.get("properties", {}).items():
            names.add(name)
            names |= shown_names(child, components, seen)
    return names


def accepted_fields(schema: dict, components: dict, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, str]]:
    """(dotted path, name) of every field a request body may carry, every variant of every nested object."""
    for variant in _variants(schema, components):
        for name, child in variant.get("properties", {}).items():
            yield prefix + name, name
            if depth < 3:
                yield from accepted_fields(child, components, f"{prefix}{name}.", depth + 1)


def body_operations(document: dict) -> Iterator[tuple[str, str, dict, dict]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody")
            if not body:
                continue
            answers = operation["responses"]
            answer = next((answers[code]["content"]["application/json"]["schema"] for code in ("200", "201", "202")
                           if "application/json" in answers.get(code, {}).get("content", {})), {})
            forms = [body["content"][kind]["schema"] for kind in ("application/json", "multipart/form-data",
                                                                  "application/x-www-form-urlencoded")
                     if "schema" in body["content"].get(kind, {})]
            if forms:  # a file's bytes as the body (an import's CSV) carry no fields
                yield method.upper(), path, forms[0], answer


def test_issue20_every_accepted_body_field_is_shown_or_says_where(settings, sessions):
    document = create_app(settings=settings, sessions=sessions).openapi()
    components = document["components"]["schemas"]
    dropped, stale, walked = [], set(SHOWN_AS), 0
    for method, path, request, answer in body_operations(document):
        shown = shown_names(answer, components)
        for dotted, name in accepted_fields(request, components):
            walked += 1
            stale.discard((method, path, dotted))
            if name in shown or name in WRAPPERS or (method, path, dotted) in SHOWN_AS:
                continue
            dropped.append(f"{method} {path}: {dotted}")
    assert walked > 300
    assert not dropped, "accepted but shown nowhere (store and show it, or refuse it):\n" + "\n".join(dropped)
    assert not stale, f"SHOWN_AS names fields no request has any more: {sorted(stale)}"


def _api_routes(routes: list) -> Iterator[Any]:
    """The API's routes, also those of included routers (FastAPI wraps them; their contexts have `dependant`)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "effective_candidates"):
            yield from route.effective_candidates()


def test_issue20_every_body_route_refuses_fields_its_model_does_not_have(settings, sessions):
    app = create_app(settings=settings, sessions=sessions)
    assert any(getattr(d, "dependency", None) is refuse_unknown_fields for d in app.router.dependencies)
    routes = [r for r in _api_routes(app.routes) if r.dependant.body_params]
    assert len(routes) > 30
    several = [r.path for r in routes if len(r.dependant.body_params) != 1]
    assert not several, f"the check reads one body model per route: {several}"


async def test_issue20_service_price_decision_date_is_recorded(api):
    delivery: dict[str, Any] = {"service_code": "svc-fields-1", "name": "Follow me print", "agreement": {
        "agreement_id": "APP-FIELDS-1", "application": "Print", "unit_id": "TR-SOC", "system_owner_ref": "E1003",
        "variant": "light", "application_kind": "small_application",
        "cost_lines": [{"component": "support_tools", "quantity": "12", "service_code": "svc-fields-1"}]}}
    created = await api.post("/services", json=delivery)
    assert created.status_code == 201, created.text
    events = "/services/svc-fields-1/events"
    described = await api.post(events, json={"action": {"event": "describe", "component": "support_tools",
                                                        "description": "Utskrift med passerkort", "unit": "printer"}})
    assert described.status_code == 200, described.text
    priced = await api.post(events, json={"action": {"event": "set_price", "unit_price": "120.00",
                                                    "decided_on": "2026-11-30", "minutes_ref": "TJG 12"}})
    assert priced.status_code == 200, priced.text
    record = next(r for r in priced.json()["log"] if r["event"] == "set_price")
    assert record["details"]["decided_on"] == "2026-11-30" and record["details"]["minutes_ref"] == "TJG 12"
