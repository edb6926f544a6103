"""The console at phone width and over the whole fleet (issue 23), in Chromium against the embedded stack: every
persona's pages fit 390 px (no horizontal overflow) with no serious or critical axe-core violation at phone
and desktop width; a serial number is found among thousands of devices through the API's search, a page at a
time; a refused event is said in Swedish with its rule."""
from __future__ import annotations

import pytest

from bench.fleet_rows import insert_fleet, order_of, serial_of
from tests.console.test_console_browser import accessible, sign_in, submit_event

PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}
FLEET = 3000  # register rows written straight into the stack's database (20,000 in bench/search.py)
PERSONAS = ("it.anna", "it.admin", "E1001", "E5001", "owner.sara", "sekr.styrgrupp", "revisor.rut")


@pytest.fixture(scope="module")
def fleet(console_stack):
    from db.session import make_sessionmaker

    stack, keys = console_stack
    sessions = make_sessionmaker(f"sqlite:///{stack.db}")
    insert_fleet(sessions, FLEET, tickets=200)
    sessions.kw["bind"].dispose()
    return stack, keys


def fits(page, width: int = 390) -> None:
    """Nothing off-screen: the document is no wider than the viewport."""
    wide = page.evaluate("document.scrollingElement.scrollWidth")
    assert wide <= width, f"{page.url}: {wide} px wide at {width} px"


def pages_of(page, base: str, keys: dict[str, str]) -> list[str]:
    """The persona's menu, and a ticket's and a device's page where the menu leads to them."""
    hrefs = page.locator("header nav a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    urls = [base + href for href in hrefs]
    if any(u.endswith("/console/queue") or u.endswith("/console/tickets") for u in urls):
        urls.append(f"{base}/console/tickets/{keys['ticket_first']}")
    if any(u.endswith("/console/devices") for u in urls):
        urls.append(f"{base}/console/devices/{keys['own_device']}")
    return urls


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_page_of_each_persona_fits_a_phone_and_passes_axe_at_both_widths(fleet, page, persona):
    stack, keys = fleet
    sign_in(page, stack.base, persona, persona=True)
    urls = pages_of(page, stack.base, keys)
    assert urls, persona
    for url in urls:
        page.set_viewport_size(PHONE)
        answer = page.goto(url)
        if answer.status in (403, 404):  # not this persona's ticket or device: the refusal page must fit too
            fits(page)
            continue
        fits(page)
        accessible(page)
        page.set_viewport_size(DESKTOP)
        page.reload()
        accessible(page)


def test_eq7_a_serial_number_is_found_among_thousands_of_devices_a_page_at_a_time(fleet, page):
    stack, _ = fleet
    sign_in(page, stack.base, "it.anna", persona=True)
    page.set_viewport_size(PHONE)
    page.goto(f"{stack.base}/console/devices")
    wanted = FLEET - 3  # far past the first 1,000 rows the console once searched in memory
    page.fill("#q", serial_of(wanted).lower())
    with page.expect_navigation():
        page.get_by_role("button", name="Sök").click()
    rows = page.locator("main table tbody tr")
    assert rows.count() == 1 and order_of(wanted) in rows.inner_text()
    assert serial_of(wanted) in rows.inner_text()
    fits(page)
    accessible(page)
    page.get_by_role("link", name="In English").click()  # English one click away, the search kept
    assert page.get_by_role("heading", level=1).inner_text() == "Devices" and order_of(wanted) in page.locator(
        "main table tbody").inner_text()
    page.get_by_role("link", name="På svenska").click()
    page.goto(f"{stack.base}/console/devices?unit_id=TR-KS")  # a unit's devices: 50 a page, then the next
    assert page.locator("main table tbody tr").count() == 50
    page.get_by_role("link", name="Nästa sida").click()
    assert "page=2" in page.url and page.locator("main table tbody tr").count() == 50
    assert page.get_by_role("link", name="Föregående sida").is_visible()
    answer = page.goto(f"{stack.base}/console/devices?delivered_from=inte-ett-datum")
    assert answer.status == 422 and "delivered_from" in page.get_by_role("alert").inner_text()
    assert "ska vara ett datum" in page.get_by_role("alert").inner_text()


def test_tk2_tickets_are_searched_by_words_of_their_title_in_the_console(fleet, page):
    stack, keys = fleet
    sign_in(page, stack.base, "it.anna", persona=True)
    page.goto(f"{stack.base}/console/search")
    page.fill("#q", "outlook")
    with page.expect_navigation():
        page.get_by_role("button", name="Sök").click()
    text = page.locator("main table tbody").inner_text()
    assert keys["ticket_first"] in text and "Kan inte logga in i Outlook" in text
    accessible(page)


def test_a_refused_event_is_said_in_swedish_naming_its_rule(fleet, page):
    stack, keys = fleet
    sign_in(page, stack.base, "it.anna", persona=True)
    page.goto(f"{stack.base}/console/tickets/{keys['ticket_second']}")
    stale = page.context.new_page()
    stale.goto(page.url)
    submit_event(page, "escalate", to="infrastruktur")
    submit_event(stale, "escalate", to="infrastruktur")
    alert = stale.get_by_role("alert").inner_text()
    assert "regel TK-2" in alert and "rule " not in alert, alert
    stale.close()
