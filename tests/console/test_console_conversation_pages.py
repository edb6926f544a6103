"""Issue 23 without a browser: the ticket page shows reporter, unit, device (a link), support level, line,
technician (TK-2), deadline and the conversation with its attachments; who gets which form; the queue's sort
never sinks a ticket without a deadline below every dated one."""
from __future__ import annotations

from datetime import datetime, timezone

from fastapi import FastAPI

from api.auth import Principal
from console import i18n
from console.pages.conversation import writes_of
from console.pages.support import SORTS
from console.ui import Ui

VIEW = {"number": "T2026-00042", "title": "Skrivaren skriver inte ut", "state": "waiting_for_customer",
        "line": "first_line", "assignee": "it.anna", "unit_id": "TR-KS", "reporter_ref": "E5001",
        "reporter_name": "Anna Berg", "description": "Papperet fastnar i fack 2.", "device_order_number": "TR-0007",
        "support_level": "managed", "reported_at": "2026-12-07T08:00:00+00:00", "deadline": None,
        "remaining_support_seconds": 7200.0, "clock_paused": True, "breached": False, "deadline_met": None,
        "function": "printing", "allowed_events": ["resume"], "log": []}
MESSAGES = [{"seq": 1, "at": "2026-12-07T09:00:00+00:00", "author": "it.anna", "direction": "out",
             "body": "Vilket fack?", "attachments": []},
            {"seq": 2, "at": "2026-12-07T09:05:00+00:00", "author": "it.anna", "direction": "internal",
             "body": "Trolig valsskada.", "attachments": []},
            {"seq": 3, "at": "2026-12-07T10:00:00+00:00", "author": "E5001", "direction": "in", "body": "Fack 2.",
             "attachments": [{"id": 7, "filename": "fack.png", "size": 2048}]}]


def render(name: str, **context) -> str:
    templates = Ui(FastAPI(), FastAPI(), None).templates
    return templates.env.get_template(name).render(t=i18n.words("sv"), lang="sv", session=None, principal=None,
                                                   flash=[], csrf="c", nav=[], path="/console/x", mirror=False,
                                                   events=[], **context)


def test_tk2_tk5_ticket_page_shows_reporter_device_level_technician_and_the_whole_conversation():
    page = render("ticket.html", item=VIEW, messages=MESSAGES, writes=("note", "reply"))
    for text in ("Anna Berg (E5001)", 'href="/console/devices/TR-0007"', "managed", "it.anna", "regel TK-2",
                 "Papperet fastnar i fack 2.", "Klockan står", "2 h 00 min", "Vilket fack?", "Trolig valsskada.",
                 "Intern anteckning", "Från anmälaren", 'href="/console/tickets/T2026-00042/attachments/7"'):
        assert text in page, text
    assert 'enctype="multipart/form-data"' in page and 'id="write-note"' in page and 'id="write-answer"' not in page


def test_tk5_the_reporter_gets_the_answer_form_it_the_question_only_while_it_may_wait():
    employee = Principal(subject="E5001", roles=frozenset({"employee"}))
    it = Principal(subject="it.anna", roles=frozenset({"it-staff"}))
    assert writes_of(employee, VIEW, "E5001") == ("answer",) and writes_of(employee, VIEW, "E5002") == ()
    assert writes_of(employee, VIEW, None) == ()
    assert writes_of(it, VIEW, None) == ("note", "reply")
    assert writes_of(it, {**VIEW, "allowed_events": ["wait_for_customer"]}, None) == ("note", "reply", "question")
    page = render("ticket.html", item=VIEW, messages=MESSAGES, writes=("answer",))
    assert "IT har en fråga till dig" in page and 'name="file"' in page


def test_tk5_queue_sort_places_tickets_without_a_deadline_by_their_report_time_never_below_all_dated_ones():
    def row(number, reported, deadline=None, mark="ok"):
        return {"number": number, "reported_at": reported, "deadline": deadline, "mark": mark}
    rows = [row("T-late", "2026-12-07T08:00:00+00:00", "2026-12-10T15:00:00+00:00"),
            row("T-old-undated", "2026-12-01T08:00:00+00:00", mark="none"),
            row("T-breached", "2026-12-07T09:00:00+00:00", "2026-12-07T12:00:00+00:00", "breached"),
            row("T-soon", "2026-12-07T09:00:00+00:00", "2026-12-08T10:00:00+00:00")]
    assert [r["number"] for r in sorted(rows, key=SORTS["due"])] == ["T-breached", "T-old-undated", "T-soon", "T-late"]
    assert [r["number"] for r in sorted(rows, key=SORTS["reported"])][0] == "T-old-undated"


def test_queue_shows_reported_time_age_and_the_filters():
    now = datetime(2026, 12, 8, 10, 30, tzinfo=timezone.utc)
    rows = [{"number": "T2026-00042", "title": "x", "unit_id": "TR-KS", "state": "first_line", "assignee": None,
             "reported_at": "2026-12-05T08:00:00+00:00", "deadline": None, "remaining": None, "mark": "none",
             "function": None}]
    page = render("queue.html", rows=rows, line="all", lines=("first_line", "second_line"), now=now,
                  filters={"state": "", "unit_id": "", "mine": "1", "sort": "due"}, states=("assigned",),
                  sorts=("due", "reported", "newest"))
    assert "3 d 2 h" in page and "Mina ärenden" in page and 'id="q-state"' in page and "Alla linjer" in page
    assert "5 dec 2026 09:00" in page  # reported, local time


def test_eq11_consequential_actions_ask_first_and_the_buyout_page_explains_price_erasure_salary_and_deadline():
    from console.confirm import needs_confirmation

    for event in ("renew_now", "report_stolen", "give_notice", "accept_buyout", "board_reject"):
        assert needs_confirmation({"event": event}) and not needs_confirmation({"event": event, "confirmed": "yes"})
    assert not needs_confirmation({"event": "deliver"})
    page = render("confirm.html", event="accept_buyout", fields={"event": "accept_buyout", "idempotency": "k1"},
                  action="/console/devices/ORD-1/events", back="/console/devices/ORD-1",
                  buyout={"price": "1150.00", "deadline": "2026-12-20T12:00:00+00:00"})
    for text in ("1\u00a0150,00\u00a0kr", "certifierad radering", "nettolön", "20 dec 2026 13:00", "EQ-11",
                 'name="confirmed" value="yes"', 'name="idempotency" value="k1"'):
        assert text in page, text
    assert 'name="csrf" value="c"' in page  # the second POST is a form of its own (no JavaScript)


def test_self_service_report_is_the_person_their_unit_and_the_function_only_when_it_stops_their_work():
    from console.pages.selfservice import report_of

    me = {"employee_ref": "E5001", "unit_id": "TR-KS"}
    form = {"title": "Skrivaren", "device": "ORD-1", "function": "network_printing", "blocked": "no",
            "reporter_ref": "E9999", "unit_id": "UL-KS"}  # typed-in reporter or unit are never taken
    assert report_of(form, me) == {"unit_id": "TR-KS", "reporter_ref": "E5001", "title": "Skrivaren",
                                   "device_order_number": "ORD-1", "affects_operations": False,
                                   "cannot_wait": False}
    assert report_of({**form, "blocked": "yes"}, me)["function"] == "network_printing"


def test_eq4_eq5_order_choices_show_this_years_price_and_the_renewal_period_of_the_units_municipality():
    from console.pages.units import order_choices

    models = [{"code": "LAT-5450", "name": "Dell", "category": "workstation"}]
    prices = [{"model_code": "LAT-5450", "monthly_rent": "350.00"}]
    policies = [{"category": "workstation", "municipality": "tranemo", "renewal_months": 48},
                {"category": "workstation", "municipality": "ulricehamn", "renewal_months": 36}]
    (choice,) = order_choices(models, prices, policies, "tranemo")
    assert choice["price"]["monthly_rent"] == "350.00" and choice["renewal_months"] == 48
    page = render("order_new.html", models=[choice], units=[])
    assert "350,00\u00a0kr/mån" in page and "förnyas efter 48 mån" in page and 'name="order_number"' not in page
