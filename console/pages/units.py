"""Unit managers (and support registering for them): service requests TK-9 … TK-12, ordering equipment,
and the unit's invoice bases (BL-4, BL-5). The API decides whose unit may be read or ordered for."""
from __future__ import annotations

import asyncio
import re
from datetime import date
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from console.ui import Ui, process_pages

# what each request kind's form asks (the API's NewServiceRequest.details decides what is valid)
REQUEST_KINDS = {"non_employee_account": "TK-9", "functional_mailbox": "TK-10", "program_installation": "TK-11",
                 "physical_move": "TK-12"}
ORDER_FIELDS = ("model_code", "unit_id", "user_ref", "location")  # the order number is Ramflow's (issue 23)
PERIOD_KIND = {"ulricehamn": "month", "tranemo": "tertial"}  # how each municipality is billed (BL-2)
RECENT_PERIODS = 12  # the bases list shows the unit's bases of this many recent periods


def request_details(kind: str, form: dict[str, str]) -> dict:
    """The form's words as the API's `details` of one request kind (presentation only: the API validates)."""
    text = {name: (form.get(name) or "").strip() for name in form}
    if kind == "non_employee_account":
        return {"kind": kind, "holder": text.get("holder", ""), "organisation": text.get("organisation", ""),
                "role": text.get("role") or "consultant", "valid_until": text.get("valid_until", "")}
    if kind == "functional_mailbox":
        return {"kind": kind, "address": text.get("address", ""),
                "function_description": text.get("function_description", ""), "owner_ref": text.get("owner_ref", "")}
    if kind == "program_installation":
        return {"kind": kind, "program": text.get("program", ""), "version": text.get("version") or None,
                "device_order_number": text.get("device_order_number") or None,
                "work_related_reason": text.get("work_related_reason", ""),
                "in_software_center": form.get("in_software_center") == "on"}
    return {"kind": kind, "from_location": text.get("from_location", ""), "to_location": text.get("to_location", ""),
            "device_order_numbers": [n for n in re.split(r"[\s,;]+", text.get("device_order_numbers", "")) if n],
            "description": text.get("description") or None}


def recent_periods(municipality: str, today: date, count: int = RECENT_PERIODS) -> list[str]:
    """The latest periods of the municipality's billing, newest first, and the last two years (BL-3)."""
    periods: list[str] = []
    if PERIOD_KIND.get(municipality) == "tertial":
        year, tertial = today.year, (today.month - 1) // 4 + 1
        for _ in range(count // 2):
            periods.append(f"{year}-T{tertial}")
            year, tertial = (year, tertial - 1) if tertial > 1 else (year - 1, 3)
    else:
        year, month = today.year, today.month
        for _ in range(count):
            periods.append(f"{year}-{month:02d}")
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return periods + [str(today.year), str(today.year - 1)]


def order_choices(models: list[dict], prices: list[dict], policies: list[dict],
                  municipality: str | None) -> list[dict]:
    """Each model with its price this year (EQ-4) and the renewal period in force in the unit's municipality
    (EQ-5): what the manager chooses among."""
    price_of = {p["model_code"]: p for p in prices}
    months = {p["category"]: p["renewal_months"] for p in policies if p["municipality"] == municipality}
    return [{**m, "price": price_of.get(m["code"], {}), "renewal_months": months.get(m["category"])}
            for m in models]


def register(console: FastAPI, ui: Ui) -> None:
    # --- service requests (TK-9 … TK-12) ---------------------------------------------------------------
    @console.get("/requests", include_in_schema=False)
    async def requests_(request: Request) -> Response:
        session = await ui.signed_in(request)
        async with ui.api_for(session) as api:
            answer = await api.get("/service-requests", limit=200)
        return ui.render(request, "requests.html", session, rows=answer.body if answer.ok else [],
                         kinds=REQUEST_KINDS, list_error=None if answer.ok else answer.message)

    async def request_form(request: Request, session, kind: str, form: dict, status: int = 200) -> Response:
        async with ui.api_for(session) as api:
            units = await api.get("/units")
        return ui.render(request, "request_new.html", session, status=status, kind=kind, rule=REQUEST_KINDS[kind],
                         units=units.body if units.ok else [], form=form, today=date.today().isoformat())

    @console.get("/requests/new/{kind}", include_in_schema=False)
    async def new_request(request: Request, kind: str) -> Response:
        session = await ui.signed_in(request)
        if kind not in REQUEST_KINDS:
            return ui.error(request, session, 404, kind, "unknown kind of service request")
        return await request_form(request, session, kind, {})

    @console.post("/requests/new/{kind}", include_in_schema=False)
    async def create_request(request: Request, kind: str) -> Response:
        """Through the same HTTP→process path as the API, as the signed-in user (TK-9: the applicant)."""
        session = await ui.signed_in(request)
        form = await ui.checked_form(request, session)
        if kind not in REQUEST_KINDS:
            return ui.error(request, session, 404, kind, "unknown kind of service request")
        body = {"unit_id": form.get("unit_id", ""), "details": request_details(kind, form)}
        async with ui.api_for(session) as api:
            done = await ui.created(session, api, "/service-requests", body, form.get("idempotency"),
                                    "/console/requests/{}")
        # a refusal: the form again, with the rule's own message (TK-9 403, 422 naming the field)
        return done or await request_form(request, session, kind, form, session.refusal_status)

    process_pages(console, ui, "/requests", "/service-requests", "request.html", "request")

    # --- ordering equipment ------------------------------------------------------------------------------
    @console.get("/orders/new", include_in_schema=False)
    async def new_order(request: Request) -> Response:
        session = await ui.signed_in(request)
        async with ui.api_for(session) as api:
            models, units, prices, policies = await asyncio.gather(
                api.get("/catalogue/models"), api.get("/units"), api.get("/price-list", year=ui.now().year),
                api.get("/renewal-policies"))
        units_list = units.body if units.ok else []
        return ui.render(request, "order_new.html", session, units=units_list, models=order_choices(
            models.body if models.ok else [], prices.body if prices.ok else [], policies.body if policies.ok else [],
            next((u["municipality"] for u in units_list if u["id"] == session.principal.unit), None)))

    @console.post("/orders/new", include_in_schema=False)
    async def place_order(request: Request) -> Response:
        session = await ui.signed_in(request)
        form = await ui.checked_form(request, session)
        body = {k: form.get(k) or None for k in ORDER_FIELDS}
        async with ui.api_for(session) as api:  # no order number: Ramflow allocates it, once per form (its key)
            done = await ui.created(session, api, "/orders", {k: v for k, v in body.items() if v is not None},
                                    form.get("idempotency"), "/console/devices/{}")
        return done or RedirectResponse("/console/orders/new", status_code=303)

    # --- invoice bases (BL-4, BL-5) ---------------------------------------------------------------------
    @console.get("/invoices", include_in_schema=False)
    async def invoices(request: Request, municipality: str = "", period: str = "", unit_id: str = "") -> Response:
        """A unit manager's own unit's bases (the API answers no other); economy and it-admin see all."""
        session = await ui.signed_in(request)
        principal = session.principal
        async with ui.api_for(session) as api:
            units = await api.get("/units")
            known = {u["id"]: u for u in units.body} if units.ok else {}
            if not municipality:
                own = known.get(principal.unit or "")
                municipality = own["municipality"] if own else "tranemo"
            periods = [period.strip()] if period.strip() else recent_periods(municipality, date.today())
            answers = await asyncio.gather(*(api.get("/billing/bases", municipality=municipality, period=p,
                                                     unit_id=unit_id.strip(), lines="false") for p in periods))
        refusal = next((a for a in answers if not a.ok and a.status in (401, 403)), None)
        if refusal is not None:
            return ui.refused(request, session, refusal)
        rows = [basis for answer in answers if answer.ok for basis in answer.body]
        rows.sort(key=lambda b: (b["period"], b["unit_id"]), reverse=True)
        return ui.render(request, "invoices.html", session, rows=rows, municipality=municipality, period=period,
                         unit_id=unit_id, municipalities=tuple(PERIOD_KIND))

    @console.get("/invoices/{basis_id}", include_in_schema=False)
    async def invoice(request: Request, basis_id: str) -> Response:
        return await ui.page(request, f"/billing/bases/{quote(basis_id)}", "invoice.html")  # the API checks the id
