"""The console in a real browser (Debian's chromium via Playwright) against the embedded stack: sign-in
through the local issuer (authorization code + PKCE), every action through the API, axe-core on each page.

CONSOLE_SCREENSHOTS=docs/img saves the README's screenshots from this run."""
from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS")


def sign_in(page, base: str, sub: str, roles: str = "", unit: str = "", team: str = "", persona: bool = False,
            start: str = "/console/") -> None:
    """Through the issuer's login page, as a real user would (persona button or the form)."""
    page.goto(base + start)
    assert "/authorize?" in page.url  # the issuer's login page (authorization code + PKCE)
    if persona:
        page.get_by_role("button", name=re.compile(rf"— {re.escape(sub)} ")).click()
    else:
        page.fill("#sub", sub)
        page.fill("#roles", roles)
        page.fill("#unit", unit)
        page.fill("#team", team)
        page.click("#sign-in")
    page.wait_for_url(re.compile(re.escape(base) + r"/console/"))


def fill_request(page, base: str, form: str, **fields: str) -> None:
    """The unit manager E1001 opens the request form `form` from the request page and fills it in."""
    sign_in(page, base, "E1001", persona=True)
    page.goto(f"{base}/console/requests")
    page.get_by_role("link", name=form).click()
    for field, value in fields.items():
        page.fill(f"#{field}", value)


def send_form(page, url: str, unit_id: str | None = None, **fields: str) -> None:
    """Open a console form, choose the unit (if given), fill in the fields and send it."""
    page.goto(url)
    if unit_id is not None:
        page.select_option("#unit_id", unit_id)
    for field, value in fields.items():
        page.fill(f"#{field}", value)
    page.get_by_role("button", name="Skicka").click()


def accessible(page, name: str | None = None) -> None:
    """axe-core: no serious or critical violation (WCAG 2.1 A/AA rules)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a",
                                                                             "wcag21aa"]}})
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in results.response["violations"]
           if v["impact"] in ("serious", "critical")]
    assert not bad, f"{page.url}: {bad}"
    if SHOTS and name:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"console-{name}.png"), full_page=True)


def api_get(stack, path: str, **params):
    headers = stack.bearer("it.check", "it-staff")
    return httpx.get(f"{stack.base}/api/v1{path}", params=params, headers=headers, timeout=10).json()


def submit_event(page, event: str, **fields: str) -> None:
    form = page.locator("form.event").filter(has=page.locator(f"input[name=event][value='{event}']"))
    for name, value in fields.items():
        control = form.locator(f"[name={name}]")
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    form.get_by_role("button", name=event).click()
    page.wait_for_load_state()


def test_tk2_technician_takes_a_ticket_from_first_line_to_infrastruktur_and_closes_it_before_its_deadline(
        console_stack, page):
    stack, keys = console_stack
    number = keys["ticket_first"]
    sign_in(page, stack.base, "it.anna", persona=True)
    assert page.url.endswith("/console/queue")
    assert page.locator("html").get_attribute("lang") == "sv"
    assert page.get_by_role("heading", level=1).inner_text().startswith("Ärendekö")
    row = page.get_by_role("row").filter(has_text=number)
    assert "Intefunktion" in page.locator("thead").inner_text() and "email_calendar" in row.inner_text()
    late = page.get_by_role("row").filter(has_text=keys["ticket_breached"])
    assert "Överskriden" in late.inner_text() and "mark-breached" in late.get_attribute("class")  # TK-5
    numbers = [n.inner_text() for n in page.locator("table.queue tbody tr td:first-child a").all()]
    assert numbers.index(keys["ticket_breached"]) < numbers.index(number)  # sorted by deadline
    accessible(page, "queue")
    row.get_by_role("link", name=number, exact=True).click()
    assert page.locator("#line").inner_text() == "1:a linjen (användarstöd)"
    for event, fields in (("assign", {}), ("escalate", {"to": "second_line"}), ("assign", {"assignee": "it.tech"})):
        submit_event(page, event, **fields)
        assert page.get_by_role("status").first.is_visible()
    stale = page.context.new_page()  # a colleague's tab, opened before the move below
    stale.goto(page.url)
    submit_event(page, "escalate", to="infrastruktur")
    assert page.locator("#line").inner_text() == "3:e linjen infrastruktur"
    # a refused move shows the rule's message: the stale tab escalates again (the 3rd line is the last)
    submit_event(stale, "escalate", to="infrastruktur")
    assert "TK-2" in stale.get_by_role("alert").inner_text()
    stale.close()
    submit_event(page, "assign", assignee="it.infra")
    accessible(page, "ticket")
    submit_event(page, "resolve", resolution="Connector omstartad")
    submit_event(page, "close")
    assert page.locator("#state").inner_text() == "stängt (closed)"
    assert "I tid" in page.locator("#time-left").inner_text()  # TK-4: fixed before its deadline
    timeline = page.locator("table.timeline").inner_text()
    assert timeline.count("escalate") == 2 and "TK-6" in timeline and "it.anna" in timeline


def test_tk5_deadline_shown_matches_the_calendar_api(console_stack, page):
    stack, keys = console_stack
    number = keys["ticket_second"]
    sign_in(page, stack.base, "it.ivar", "it-staff", team="infrastruktur", start=f"/console/tickets/{number}")
    ticket = api_get(stack, f"/tickets/{number}")
    answer = api_get(stack, "/calendar/deadline", reported_at=ticket["reported_at"])
    from console.i18n import when

    assert page.locator("#deadline").inner_text() == when(answer["deadline"])
    # issue 23: as Swedes write it, `8 dec 2026 14:05`
    assert re.fullmatch(r"\d{1,2} [a-zå]{3} \d{4} \d\d:\d\d", page.locator("#deadline").inner_text())
    page.goto(f"{stack.base}/console/queue?line=second_line")
    assert when(answer["deadline"]) in page.get_by_role("row").filter(has_text=number).inner_text()


def test_eq11_employee_accepts_own_buyout_and_is_refused_anothers(console_stack, page):
    stack, keys = console_stack
    sign_in(page, stack.base, "E5001", "employee")
    assert page.url.endswith("/console/devices")
    listed = page.locator("main table").inner_text()
    assert keys["own_device"] in listed and keys["others_buyout"] not in listed
    page.get_by_role("link", name=keys["own_device"], exact=True).click()
    assert page.locator("#buyout-price").inner_text() == "1\u00a0150,00\u00a0kr"
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    assert "nettolön" in page.locator("#buyout-terms").inner_text()  # issue 23: the offer explains itself
    accessible(page, "device-buyout")
    submit_event(page, "accept_buyout")  # issue 23: first a confirmation page, nothing accepted yet
    assert "certifierad radering" in page.locator("#confirm-explanation").inner_text()
    assert api_get(stack, f"/devices/{keys['own_device']}")["state"] == "buyout_offered"
    accessible(page, "confirm")
    page.locator("#confirm-yes").click()
    page.wait_for_load_state()
    assert page.locator("#state").inner_text() == "utköp accepterat (buyout_accepted)"
    # another's offer: not shown, and a forged form post is refused by the API (EQ-11), nothing changes
    page.goto(f"{stack.base}/console/devices/{keys['others_buyout']}")
    assert "Finns inte" in page.get_by_role("heading", level=1).inner_text()
    answer = page.request.post(f"{stack.base}/console/devices/{keys['others_buyout']}/events",
                               form={"csrf": csrf, "event": "accept_buyout", "confirmed": "yes"})
    assert "Nekad" in answer.text() and "EQ-11" in answer.text()  # the API's refusal, shown
    assert api_get(stack, f"/devices/{keys['others_buyout']}")["state"] == "buyout_offered"


def test_unit_manager_cannot_see_another_units_device(console_stack, page):
    stack, keys = console_stack
    sign_in(page, stack.base, "E1001", "unit-manager", unit="TR-KS", persona=False)
    page.goto(f"{stack.base}/console/devices")
    listed = page.locator("main table").inner_text()
    assert keys["own_device"] in listed and keys["other_unit_device"] not in listed
    accessible(page, "unit-devices")
    response = page.goto(f"{stack.base}/console/devices/{keys['other_unit_device']}")
    shown = page.locator("main").inner_text()
    assert response.status == 404 and "Finns inte" in shown and "UL-KS" not in shown and "E2101" not in shown


def test_auditor_finds_a_closed_device_and_reads_its_timeline(console_stack, page):
    stack, keys = console_stack
    closed = keys["closed_device"]
    # a refused attempt on the ended process (it never entered Temporal's history): the auditor sees it
    refused = httpx.post(f"{stack.base}/api/v1/devices/{closed}/events", json={"action": {"event": "write_off"}},
                         headers=stack.bearer("it.check", "it-staff"), timeout=10)
    assert refused.status_code == 409
    sign_in(page, stack.base, "revisor.rut", persona=True)
    assert page.url.endswith("/console/audit")
    page.select_option("#process", "equipment")
    page.fill("#rule", "EQ-9")
    page.fill("#event", "write_off")
    page.get_by_role("button", name="Sök").click()
    hits = page.locator("table.hits tbody")
    assert closed in hits.inner_text() and "EQ-9" in hits.inner_text() and keys["own_device"] not in hits.inner_text()
    accessible(page, "audit-search")
    searched = page.request.get(page.url + "&format=csv")  # the API's export of the matching lines
    assert searched.headers["content-type"].startswith("text/csv") and f";{closed};" in searched.text()
    page.get_by_role("link", name=closed, exact=True).click()
    assert page.url.endswith(f"/console/audit/processes/device-{closed}")
    timeline = page.locator("table.timeline").inner_text()
    assert "write_off" in timeline and "EQ-9" in timeline and "report_lost" in timeline
    assert "409" in page.locator("table.refusals").inner_text()
    accessible(page, "device-timeline")
    exported = page.request.get(page.url + "?format=csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert ";write_off;lost;written_off;it.anna;;EQ-9" in exported.text()
    bundle = page.request.get(page.url + "?format=bundle").json()
    assert bundle["workflow_id"] == f"device-{closed}" and bundle["current_state"] == "written_off"


def test_gv3_steering_group_secretary_sees_the_large_case_in_the_inbox_with_the_chain_and_prioritises_it(
        console_stack, page):
    stack, keys = console_stack
    sign_in(page, stack.base, "sekr.styrgrupp", persona=True)
    assert page.url.endswith("/console/inbox")
    card = page.locator("section.card").filter(has_text=keys["development_case"])
    assert "E-tjänst för bygglov" in card.inner_text() and "250\u00a0000,00\u00a0kr" in card.inner_text()
    assert "to_steering_group" in card.locator("ol.chain").inner_text()  # GV-3: large, to it-styrgrupp
    accessible(page, "inbox")
    form = card.locator("form.event").filter(has=page.locator("input[name=event][value=prioritise]"))
    form.locator("input[name=minutes_ref]").fill("IT-styrgrupp 2026-11-27 § 4")
    form.locator("input[name=priority]").fill("2")
    form.get_by_role("button", name="prioritise").click()
    assert "prioritise" in page.get_by_role("status").first.inner_text()
    assert api_get(stack, f"/development-cases/{keys['development_case']}")["priority"] == 2


def test_console_in_english_session_cookie_flags_and_csrf(console_stack, page):
    stack, _ = console_stack
    sign_in(page, stack.base, "it.anna", persona=True)
    cookie = next(c for c in page.context.cookies() if c["name"] == "ramflow_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.get_by_role("link", name="In English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text().startswith("Ticket queue")
    refused = page.request.post(f"{stack.base}/console/tickets/new", form={"title": "x", "unit_id": "TR-KS"})
    assert refused.status == 403 and "CSRF" in refused.text()
    page.goto(f"{stack.base}/console/tickets/new")
    accessible(page, None)


def test_tk9_unit_manager_applies_for_an_account_and_orders_equipment(console_stack, page):
    stack, _ = console_stack
    fill_request(page, stack.base, "Konto för icke anställd (TK-9)", holder="Kim Konsult",
                 organisation="Konsultbolaget AB", valid_until="2027-06-30")
    accessible(page, None)
    page.get_by_role("button", name="Skicka").click()
    assert re.search(r"SR\d{4}-\d{5}", page.get_by_role("status").first.inner_text())
    assert "(TK-9)" in page.get_by_role("heading", level=1).inner_text() and "Kim Konsult" in page.locator("dl").inner_text()
    accessible(page, None)
    page.goto(f"{stack.base}/console/requests")
    row = page.get_by_role("row").filter(has_text="Konto för icke anställd")  # issue 23: the kind in Swedish
    assert "TR-KS" in row.inner_text() and "E1001" in row.inner_text()  # TK-9: the applicant is the manager
    accessible(page, "requests")
    page.goto(f"{stack.base}/console/orders/new")
    page.check("#model-LAT-5450")  # issue 23: the model with its price and renewal period; no number to invent
    assert "kr" in page.locator("label[for=model-LAT-5450]").inner_text()
    page.fill("#user_ref", "E5005")
    accessible(page, None)
    page.get_by_role("button", name="Skicka").click()
    assert re.search(r"/console/devices/ORD-\d{4}-\d{5}$", page.url)
    assert "TR-KS" in page.locator("dl.facts").inner_text()
    # another unit's order is the API's refusal (own unit only), shown
    page.goto(f"{stack.base}/console/orders/new")
    page.select_option("#unit_id", "UL-KS")
    page.get_by_role("button", name="Skicka").click()
    assert "Nekad" in page.get_by_role("alert").inner_text()


def test_technician_registers_a_ticket_through_the_form(console_stack, page):
    stack, _ = console_stack
    sign_in(page, stack.base, "it.anna", persona=True)
    page.get_by_role("link", name="Nytt ärende").click()
    page.fill("#title", "Trådlöst nät nere i Ulricehamns stadshus")
    page.select_option("#unit_id", "UL-KS")
    page.fill("#reporter_ref", "E2101")
    page.select_option("#function", "wireless_network")
    accessible(page, "new-ticket")
    page.get_by_role("button", name="Skapa").click()
    assert re.search(r"/console/tickets/T\d{4}-\d{5}$", page.url)
    assert page.locator("#line").inner_text() == "1:a linjen (användarstöd)"
    # issue 23: as Swedes write it, `8 dec 2026 14:05`
    assert re.fullmatch(r"\d{1,2} [a-zå]{3} \d{4} \d\d:\d\d", page.locator("#deadline").inner_text())


def test_eq5_technician_searches_the_register_and_reads_a_devices_renewal_date_and_events(console_stack, page):
    stack, keys = console_stack
    sign_in(page, stack.base, "it.anna", persona=True)
    page.goto(f"{stack.base}/console/devices")
    page.fill("#q", keys["other_unit_device"])
    with page.expect_navigation():  # the search is a new page: count its rows, not the old page's
        page.get_by_role("button", name="Sök").click()
    rows = page.locator("main table tbody tr")
    assert rows.count() == 1 and "UL-KS" in rows.inner_text()
    accessible(page, "device-register")
    page.get_by_role("link", name=keys["other_unit_device"], exact=True).click()
    view = api_get(stack, f"/devices/{keys['other_unit_device']}")
    from console.i18n import day

    assert page.locator("#renewal").inner_text() == day(view["renewal_due_at"])  # EQ-5
    buttons = page.locator("form.event button").all_inner_texts()
    assert any("(return_device)" in b for b in buttons) and not any("accept_buyout" in b for b in buttons)
    accessible(page, "device")


def test_tk5_queue_marks_a_ticket_at_its_warning_share_and_at_breach(console_stack, page):
    """The console's 'now' is the test app's clock (tests/console/clock_app.py): the marks at the warning
    share and past the deadline, with their accessible text."""
    stack, _ = console_stack
    created = httpx.post(f"{stack.base}/api/v1/tickets", json={"unit_id": "TR-KS", "reporter_ref": "E5004",
                         "title": "Telefonin fungerar inte", "function": "telephony"},
                         headers=stack.bearer("it.check", "it-staff"), timeout=30).json()
    number = created["number"]
    live = api_get(stack, f"/tickets/{number}")
    warning_at, deadline = (datetime.fromisoformat(live[k]) for k in ("warning_at", "deadline"))
    assert warning_at < deadline
    sign_in(page, stack.base, "it.anna", persona=True)
    try:
        for at, mark, text, why in ((warning_at - timedelta(minutes=1), "ok", "I tid", None),
                                    (warning_at + timedelta(minutes=1), "warning", "Varning",
                                     "varningsandelen av åtgärdstiden har gått"),
                                    (deadline + timedelta(minutes=1), "breached", "Överskriden",
                                     "åtgärdstiden har passerats")):
            stack.set_clock(at.isoformat())
            page.goto(f"{stack.base}/console/queue")
            row = page.get_by_role("row").filter(has_text=number)
            assert f"mark-{mark}" in row.get_attribute("class")
            badge = row.locator(f"span.mark.{mark}")
            label = badge.evaluate("e => e.textContent")  # what a screen reader reads (sr-only text included)
            assert label.startswith(text) and (why is None or why in label), label
            if mark == "warning":
                accessible(page, None)
    finally:
        stack.set_clock(None)
    page.goto(f"{stack.base}/console/queue")
    assert "mark-ok" in page.get_by_role("row").filter(has_text=number).get_attribute("class")


def test_tk10_tk11_unit_manager_orders_a_functional_address_and_a_program_and_is_refused_another_unit(
        console_stack, page):
    stack, _ = console_stack
    fill_request(page, stack.base, "Funktionsadress (e-post) (TK-10)", address="bygglov",
                 function_description="Frågor om bygglov från medborgare", owner_ref="E5001")
    accessible(page, "request-new")
    page.get_by_role("button", name="Skicka").click()
    assert "(TK-10)" in page.get_by_role("heading", level=1).inner_text()
    facts = page.locator("dl.facts").inner_text()
    assert "bygglov" in facts and "E1001" in facts  # the applicant is the signed-in manager
    # another unit's: the API's refusal (rule TK-9 decides who may apply), shown with the form kept
    send_form(page, f"{stack.base}/console/requests/new/functional_mailbox", "UL-KS", address="kultur",
              function_description="Kulturskolan", owner_ref="E2101")
    assert "TK-9" in page.get_by_role("alert").inner_text() and page.locator("#address").input_value() == "kultur"
    send_form(page, f"{stack.base}/console/requests/new/program_installation", program="QGIS",
              work_related_reason="Kartor för detaljplaner")
    assert "(TK-11)" in page.get_by_role("heading", level=1).inner_text()
    assert "QGIS" in page.locator("dl.facts").inner_text()


def test_tk12_move_ordered_from_it_is_delivered_only_with_the_time_worked(console_stack, page):
    stack, _ = console_stack
    sign_in(page, stack.base, "it.anna", persona=True)
    send_form(page, f"{stack.base}/console/requests/new/physical_move", "TR-KS", from_location="Kommunhuset plan 2",
              to_location="Kommunhuset plan 4", device_order_numbers="ORD-DEMO-1, ORD-DEMO-3")
    assert "(TK-12)" in page.get_by_role("heading", level=1).inner_text()
    submit_event(page, "start_work")
    submit_event(page, "deliver", result="Flyttat")
    assert "TK-12" in page.get_by_role("alert").inner_text()  # the rule's message: give the minutes worked
    accessible(page, None)
    submit_event(page, "deliver", result="Flyttat", minutes_worked="90")
    assert page.locator("#state").inner_text() == "levererad (delivered)"
    assert "TK-12" in page.locator("table.timeline").inner_text()


def test_bl5_unit_manager_reads_own_units_invoice_basis_and_never_another_units(console_stack, page):
    stack, keys = console_stack
    sign_in(page, stack.base, "E1001", persona=True)
    page.get_by_role("link", name="Fakturaunderlag").click()
    listed = page.locator("table.invoices tbody").inner_text()
    assert "TR-KS" in listed and "UL-KS" not in listed and "1\u00a0150,00\u00a0kr" in listed
    accessible(page, "invoices")
    page.goto(f"{stack.base}/console/invoices?municipality=ulricehamn&unit_id=UL-KS")
    assert "UL-KS" not in page.locator("table.invoices tbody").inner_text()  # the API answers none
    page.goto(f"{stack.base}/console/invoices")
    page.locator("table.invoices tbody a").first.click()
    assert page.url.endswith(f"/console/invoices/{keys['basis_own']}")
    assert page.locator("#total").inner_text() == "1\u00a0150,00\u00a0kr"  # Swedish money format
    assert page.locator("#lines-total").inner_text() == "1\u00a0150,00\u00a0kr"
    lines = page.locator("table.lines tbody").inner_text()
    assert "Central IT-kostnad" in lines and "1\u00a0150,00\u00a0kr" in lines
    assert "BL-4" in page.locator("#changes-h").inner_text()
    accessible(page, "invoice-basis")
    response = page.goto(f"{stack.base}/console/invoices/{keys['basis_other_unit']}")
    assert response.status == 404 and "Finns inte" in page.locator("main").inner_text()
    assert "2\u00a0300,00" not in page.locator("main").inner_text()


def test_bl5_economy_sees_every_units_invoice_basis(console_stack, page):
    stack, keys = console_stack
    sign_in(page, stack.base, "ekonomi.eva", "economy")
    page.goto(f"{stack.base}/console/invoices?municipality=ulricehamn")
    assert "UL-KS" in page.locator("table.invoices tbody").inner_text()
    page.goto(f"{stack.base}/console/invoices/{keys['basis_other_unit']}")
    assert page.locator("#total").inner_text() == "2\u00a0300,00\u00a0kr"
