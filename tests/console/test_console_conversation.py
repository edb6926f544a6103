"""Issue 23 in Chromium, persona by persona: an employee reports a problem from "Nytt ärende" with an
attachment; the technician sees description, reporter, device and the conversation, asks a question (the
clock stops, TK-5); the employee answers in the console and the deadline runs again."""
from __future__ import annotations

import re

import pytest

from tests.console.test_console_browser import accessible, api_get, sign_in, submit_event
from tests.mail_in.helpers import PNG

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def persona(browser):
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    return context, context.new_page()


def test_tk4_tk5_employee_reports_with_an_attachment_technician_asks_and_the_answer_resumes_the_deadline(
        console_stack, page, browser):
    stack, _ = console_stack
    # the employee: unit and own devices prefilled from who they are
    sign_in(page, stack.base, "E5001", "employee", unit="TR-KS")
    page.get_by_role("link", name="Nytt ärende").click()
    assert page.locator("#my-unit").inner_text() == "TR-KS"
    devices = [o for o in page.locator("#device option").evaluate_all("os => os.map(o => o.value)") if o]
    assert devices and all(d.startswith("ORD-DEMO-1") for d in devices)  # only their own
    accessible(page, "report")
    page.fill("#title", "Skrivaren skriver inte ut")
    page.fill("#description", "Papperet fastnar i fack 2 sedan i morse.")
    page.select_option("#device", devices[0])
    page.check("#blocked-yes")
    page.select_option("#function", "network_printing")
    assert page.locator("#function option[value=network_printing]").inner_text() == "Jag kan inte skriva ut"
    page.set_input_files("#file", files=[{"name": "fel.png", "mimeType": "image/png", "buffer": PNG}])
    page.get_by_role("button", name="Skicka").click()
    page.wait_for_url(re.compile(r"/console/tickets/T\d{4}-\d+$"))
    number = page.url.rsplit("/", 1)[1]
    assert "fel.png" in page.locator("#conversation").inner_text()

    # the technician: the whole ticket, then a question to the customer
    context, tech = persona(browser)
    try:
        sign_in(tech, stack.base, "it.anna", persona=True, start=f"/console/tickets/{number}")
        assert "Papperet fastnar" in tech.locator("#description").inner_text()
        assert "E5001" in tech.locator("#reporter").inner_text() and tech.locator("#unit").inner_text() == "TR-KS"
        assert tech.locator("#device a").inner_text() == devices[0]
        download = tech.locator("#conversation a", has_text="fel.png")
        assert download.get_attribute("href").startswith(f"/console/tickets/{number}/attachments/")
        got = tech.request.get(stack.base + download.get_attribute("href"))
        assert got.status == 200 and got.body() == PNG
        submit_event(tech, "assign")
        tech.fill("#question-body", "Vilket fack gäller det, och vilken skrivare?")
        tech.locator("#write-question").get_by_role("button", name="Skicka fråga och vänta").click()
        tech.wait_for_load_state()
        assert tech.locator("#state").inner_text().startswith("väntar på kund")
        assert "Klockan står" in tech.locator("#deadline").inner_text()
        accessible(tech, "ticket-conversation")

        # the employee sees it among their tickets and answers in the console: the deadline runs again (TK-5)
        page.goto(f"{stack.base}/console/tickets")
        assert "IT väntar på svar" in page.get_by_role("row").filter(has_text=number).inner_text()
        page.get_by_role("link", name=number, exact=True).click()
        assert "IT har en fråga till dig" in page.locator("#waiting").inner_text()
        assert "Vilket fack" in page.locator("#conversation").inner_text()
        page.fill("#answer-body", "Fack 2 på skrivaren vid receptionen.")
        page.locator("#write-answer").get_by_role("button", name="Skicka svar").click()
        page.wait_for_load_state()
        assert "Tack! Ditt svar" in page.get_by_role("status").first.inner_text()

        tech.reload()
        assert tech.locator("#state").inner_text().startswith("tilldelat")
        # issue 23: as Swedes write it, `8 dec 2026 14:05`
        assert re.fullmatch(r"\d{1,2} [a-zå]{3} \d{4} \d\d:\d\d", tech.locator("#deadline").inner_text())
        assert "Fack 2 på skrivaren" in tech.locator("#conversation").inner_text()
        view = api_get(stack, f"/tickets/{number}")
        assert view["state"] == "assigned" and view["deadline"] is not None and view["log"][-1]["event"] == "resume"
    finally:
        context.close()
