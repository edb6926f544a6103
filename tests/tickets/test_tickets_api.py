"""The support API through FastAPI to a real (time-skipping) Temporal server and a real database."""
from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from db.models import OutboxMessage
from db.ticket_models import SupportCharge, Ticket
from db.ticket_models import aware as aware_utc
from tests.helpers import poll
from tests.tickets.helpers import CAL, TZ, add_device, decide_framework_version, local

WALKTHROUGH = {"unit_id": "TR-KS", "reporter_ref": "E5001", "title": "Outlook does not start",
               "function": "email_calendar"}


async def create(api, **body):
    response = await api.post("/tickets", json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def event(api, number: str, action: dict, reason: str | None = None, actor: str = "it.anna"):
    return await api.post(f"/tickets/{number}/events", json={"action": action, "reason": reason},
                          headers=api.bearer(actor, "it-staff"))


# --- tickets ---------------------------------------------------------------------------------------

async def test_tk2_tk5_walkthrough_first_line_to_infrastruktur_closes_with_the_deadline_kept(api, sessions):
    ticket = await create(api, **WALKTHROUGH)
    number = ticket["number"]
    assert ticket["state"] == "first_line" and ticket["intefunktion"] and ticket["deadline"] is not None
    assert number.startswith("T") and ticket["workflow_id"] == f"ticket-{number}"
    steps = [
        ({"event": "assign", "assignee": "it.first"}, "1st line takes it", "it.lead1"),
        ({"event": "escalate", "to": "second_line"}, "needs a visit", "it.first"),
        ({"event": "assign", "assignee": "it.tech"}, None, "it.lead2"),
        ({"event": "escalate", "to": "infrastruktur"}, "Exchange connector down", "it.tech"),
        ({"event": "assign", "assignee": "it.infra"}, None, "it.lead3"),
        ({"event": "resolve", "resolution": "connector restarted"}, None, "it.infra"),
        ({"event": "close"}, "customer confirmed", "it.infra"),
    ]
    for action, reason, actor in steps:
        response = await event(api, number, action, reason, actor)
        assert response.status_code == 200, response.text
        if action["event"] == "assign":
            assert response.json()["assignee"] == action["assignee"]  # TK-2: shown on the ticket
    done = (await api.get(f"/tickets/{number}")).json()
    assert (done["state"], done["resolved_line"], done["breached"]) == ("closed", "infrastruktur", False)
    assert done["deadline"] == ticket["deadline"] and done["deadline_met"] is True  # TK-4/TK-5: kept
    assert [r["event"] for r in done["log"]] == ["report", "assign", "escalate", "assign", "escalate", "assign",
                                                 "resolve", "close"]
    history = (await api.get(f"/tickets/{number}/history")).json()
    assert history[3]["actor"] == "it.lead2" and history[4]["reason"] == "Exchange connector down"
    rows = (await api.get("/tickets", params={"line": "infrastruktur", "state": "closed"})).json()
    assert [r["number"] for r in rows] == [number]
    again = await api.post("/tickets", json={**WALKTHROUGH, "number": number})
    assert again.status_code == 200 and again.json()["state"] == "closed"


async def test_tk5_ticket_reported_after_the_fact_has_breached(api, sessions):
    reported = (datetime.now(timezone.utc) - timedelta(days=14)).astimezone(TZ).replace(microsecond=0)
    ticket = await create(api, **WALKTHROUGH, number="T-API-BREACH", reported_at=reported.isoformat())
    assert datetime.fromisoformat(ticket["reported_at"]) == reported
    breached = await poll(api, "/tickets/T-API-BREACH", lambda t: t["breached"])
    assert breached["breached"] and breached["log"][-1]["event"] == "deadline_breached"
    assert "deadline_warning" not in [r["event"] for r in breached["log"]]  # already past: the breach only
    listed = (await api.get("/tickets", params={"breached": "true"})).json()
    assert [r["number"] for r in listed] == ["T-API-BREACH"]
    notes = await poll(api, "/outbox?workflow_id=ticket-T-API-BREACH&topic=deadline_breached", lambda n: len(n) == 2)
    assert {m["recipient"] for m in notes} == {"lead:first_line", "lead:it"}  # escalated to the leads


async def test_reported_at_in_the_future_is_422_and_writes_nothing(api, sessions):
    future = (datetime.now(timezone.utc) + timedelta(hours=2)).isoformat()
    response = await api.post("/tickets", json={**WALKTHROUGH, "number": "T-API-FUT", "reported_at": future})
    assert response.status_code == 422 and "reported_at" in response.json()["detail"]
    with sessions() as s:
        assert s.get(Ticket, "T-API-FUT") is None


async def test_unknown_unit_or_device_is_422(api):
    response = await api.post("/tickets", json={**WALKTHROUGH, "unit_id": "XX-NONE"})
    assert response.status_code == 422 and "unit_id" in response.json()["detail"]
    response = await api.post("/tickets", json={**WALKTHROUGH, "device_order_number": "ORD-NONE"})
    assert response.status_code == 422 and "device_order_number" in response.json()["detail"]


async def test_tk7_stated_support_level_must_match_the_device(api, sessions):
    add_device(sessions, "ORD-API-TEACH", "TP-E14")
    response = await api.post("/tickets", json={**WALKTHROUGH, "device_order_number": "ORD-API-TEACH",
                                                "support_level": "one_to_one"})
    assert response.status_code == 422 and "TK-7" in response.json()["detail"]


async def test_tk2_illegal_event_is_409_and_changes_nothing(api):
    ticket = await create(api, **WALKTHROUGH, number="T-API-409")
    response = await event(api, "T-API-409", {"event": "escalate", "to": "infrastruktur"})
    assert response.status_code == 409 and "TK-2" in response.json()["detail"]
    response = await event(api, "T-API-409", {"event": "close"})
    assert response.status_code == 409 and "'first_line'" in response.json()["detail"]
    after = (await api.get("/tickets/T-API-409")).json()
    assert after["state"] == "first_line" and len(after["log"]) == len(ticket["log"]) == 1


async def test_unknown_ticket_is_404(api):
    assert (await api.get("/tickets/T-NONE")).status_code == 404
    assert (await event(api, "T-NONE", {"event": "close"})).status_code == 404
    assert (await api.get("/tickets/T-NONE/history")).status_code == 404


async def test_list_and_filter_the_register(api):
    await create(api, **WALKTHROUGH, number="T-API-L1")
    await create(api, unit_id="UL-KS", reporter_ref="E2101", title="New screen?", number="T-API-L2")
    await event(api, "T-API-L2", {"event": "escalate", "to": "second_line"})
    await create(api, unit_id="UL-KS", reporter_ref="E2102", title="Printer", number="T-API-L3")
    await event(api, "T-API-L3", {"event": "resolve"})
    await event(api, "T-API-L3", {"event": "close"})

    async def numbers(**params) -> list[str]:
        return [r["number"] for r in (await api.get("/tickets", params=params)).json()]

    assert await numbers(intefunktion="true") == ["T-API-L1"]
    assert await numbers(intefunktion="false") == ["T-API-L2", "T-API-L3"]
    assert await numbers(unit_id="UL-KS") == ["T-API-L2", "T-API-L3"]
    assert await numbers(line="second_line") == ["T-API-L2"]
    assert await numbers(state="closed") == ["T-API-L3"]
    assert await numbers(open="true") == ["T-API-L1", "T-API-L2"]
    assert await numbers(breached="false", function="email_calendar") == ["T-API-L1"]
    assert await numbers(municipality="ulricehamn", limit=1) == ["T-API-L2"]


async def test_tk7_classification_through_the_api_hands_back(api, sessions):
    add_device(sessions, "ORD-API-1TO1", "CB-314")
    await create(api, unit_id="TR-BUF", reporter_ref="E1100", title="Printing", number="T-API-CL",
                 device_order_number="ORD-API-1TO1")
    response = await api.put("/tickets/T-API-CL/classification", json={"matter": "printing"})
    assert response.status_code == 200 and response.json()["state"] == "handed_back"
    again = await api.put("/tickets/T-API-CL/classification", json={"matter": "printing"})
    assert again.status_code == 409
    table = (await api.get("/support-matters")).json()
    assert {r["matter"]: r["owners"]["one_to_one"] for r in table}["printing"] == "unit"


async def test_tk6_survey_answer_only_for_tickets_drawn_for_it(api, settings, sessions):
    assert len((await api.get("/survey/questions")).json()) == 2
    settings.survey_share = 1.0  # everyone drawn: the answer path
    await create(api, **WALKTHROUGH, number="T-API-SV1")
    await event(api, "T-API-SV1", {"event": "resolve"})
    closed = (await event(api, "T-API-SV1", {"event": "close"})).json()
    assert closed["survey_selected"] is True
    reporter = api.bearer(WALKTHROUGH["reporter_ref"], "employee")
    by_it = await api.post("/tickets/T-API-SV1/survey", json={"solved_satisfactorily": True, "treatment": 5})
    assert by_it.status_code == 403  # rule TK-6: the reporter answers
    other = await api.post("/tickets/T-API-SV1/survey", json={"solved_satisfactorily": True, "treatment": 5},
                           headers=api.bearer("E9876", "employee"))
    assert other.status_code == 404
    answer = await api.post("/tickets/T-API-SV1/survey", json={"solved_satisfactorily": True, "treatment": 5},
                            headers=reporter)
    assert answer.status_code == 201 and answer.json()["treatment"] == 5
    twice = await api.post("/tickets/T-API-SV1/survey", json={"solved_satisfactorily": False, "treatment": 1},
                           headers=reporter)
    assert twice.status_code == 409
    settings.survey_share = 0.0  # nobody drawn
    await create(api, **WALKTHROUGH, number="T-API-SV2")
    await event(api, "T-API-SV2", {"event": "resolve"})
    assert (await event(api, "T-API-SV2", {"event": "close"})).json()["survey_selected"] is False
    refused = await api.post("/tickets/T-API-SV2/survey", json={"solved_satisfactorily": True, "treatment": 4},
                             headers=reporter)
    assert refused.status_code == 409 and "TK-6" in refused.json()["detail"]
    bad = await api.post("/tickets/T-API-SV1/survey", json={"solved_satisfactorily": True, "treatment": 9},
                         headers=reporter)
    assert bad.status_code == 422
    survey_mail = (await api.get("/outbox", params={"topic": "survey"})).json()
    assert [m["workflow_id"] for m in survey_mail] == ["ticket-T-API-SV1"]


# --- the calendar ----------------------------------------------------------------------------------

async def test_tk5_calendar_deadline_answers_the_rule_examples(api):
    examples = {
        "2026-03-10T10:00:00+01:00": "2026-03-11T10:00:00+01:00",
        "2026-03-12T16:15:00+01:00": "2026-03-13T16:00:00+01:00",
        "2026-03-13T15:00:00+01:00": "2026-03-16T15:00:00+01:00",
        "2026-03-14T11:00:00+01:00": "2026-03-16T16:30:00+01:00",
    }
    for reported, deadline in examples.items():
        body = (await api.get("/calendar/deadline", params={"reported_at": reported})).json()
        assert (body["reported_at"], body["deadline"]) == (reported, deadline)
    raw = await api.get("/calendar/deadline?reported_at=2026-04-02T10:00:00+02:00")  # '+' not encoded
    assert raw.status_code == 200 and raw.json()["deadline"] == "2026-04-07T10:00:00+02:00"  # Easter
    assert (await api.get("/calendar/deadline", params={"reported_at": "not a date"})).status_code == 422


async def test_av2_service_windows_of_a_month(api):
    body = (await api.get("/calendar/service-windows", params={"year": 2026, "month": 3})).json()
    assert body["windows"] == [
        {"kind": "primary", "start": "2026-03-17T18:00:00+01:00", "end": "2026-03-17T22:00:00+01:00"},
        {"kind": "secondary", "start": "2026-03-24T18:00:00+01:00", "end": "2026-03-24T21:00:00+01:00"},
    ]
    assert (await api.get("/calendar/service-windows", params={"year": 2026, "month": 13})).status_code == 422


SHORTER_HOURS = [{"weekday": d, "opens": "08:00", "closes": "14:00"} for d in range(5)]


def hours_change_day() -> date:
    """A Tuesday at least a week ago (tickets may be reported after the fact, never ahead) with working
    days on the Monday before and the Wednesday after."""
    day = datetime.now(TZ).date() - timedelta(days=8)
    while not (day.weekday() == 1 and all(CAL.is_working_day(day + timedelta(days=i)) for i in (-1, 0, 1))):
        day -= timedelta(days=1)
    return day


async def test_gv2_tk1_tk5_support_hours_in_force_on_the_report_date_set_the_deadline(api, sessions):
    """A decided version with shorter support hours (08:00–14:00) from Tuesday: a ticket reported on the
    Monday before keeps the document's hours even though its deadline falls on Tuesday; one reported on
    Tuesday at 15:00 is outside the new hours and is due at Wednesday's new closing time (TK-5)."""
    tuesday = hours_change_day()
    monday, wednesday = tuesday - timedelta(days=1), tuesday + timedelta(days=1)
    decide_framework_version(sessions, "acute-gv2-hours", tuesday, support_hours=SHORTER_HOURS)
    before = await create(api, **WALKTHROUGH, reported_at=local(monday, 15).isoformat())
    after = await create(api, **WALKTHROUGH, reported_at=local(tuesday, 15).isoformat())
    assert datetime.fromisoformat(before["deadline"]) == local(tuesday, 15)  # open until 16:30: the same time
    assert datetime.fromisoformat(after["deadline"]) == local(wednesday, 14)  # closed at 15:00: next closing
    with sessions() as s:  # the register holds the deadlines the workflows computed
        assert aware_utc(s.get(Ticket, after["number"]).deadline) == local(wednesday, 14)


async def test_gv2_tk1_calendar_deadline_uses_the_hours_in_force_on_the_asked_date(api, sessions):
    tuesday = hours_change_day()
    monday, wednesday = tuesday - timedelta(days=1), tuesday + timedelta(days=1)
    decide_framework_version(sessions, "acute-gv2-calendar", tuesday, support_hours=SHORTER_HOURS)
    for reported, expected, open_then in ((local(monday, 15), local(tuesday, 15), True),
                                          (local(tuesday, 15), local(wednesday, 14), False),
                                          (local(tuesday, 7, 45), local(tuesday, 14), False)):  # before 08:00
        body = (await api.get("/calendar/deadline", params={"reported_at": reported.isoformat()})).json()
        assert datetime.fromisoformat(body["deadline"]) == expected and body["support_open_at_report"] is open_then


async def test_gv2_av2_service_windows_follow_the_version_in_force_on_the_month(api, sessions):
    """From 2027-03-01 a decision moves the primary window to the second Wednesday 19–23, without a secondary."""
    decide_framework_version(sessions, "acute-gv2-windows", date(2027, 3, 1), service_windows=[
        {"kind": "primary", "weekday": 2, "week_of_month": 2, "starts": "19:00", "ends": "23:00"}])
    february = (await api.get("/calendar/service-windows", params={"year": 2027, "month": 2})).json()["windows"]
    march = (await api.get("/calendar/service-windows", params={"year": 2027, "month": 3})).json()["windows"]
    assert [(w["kind"], w["start"]) for w in february] == [
        ("primary", "2027-02-16T18:00:00+01:00"), ("secondary", "2027-02-23T18:00:00+01:00")]
    assert [(w["kind"], w["start"], w["end"]) for w in march] == [
        ("primary", "2027-03-10T19:00:00+01:00", "2027-03-10T23:00:00+01:00")]


# --- service requests ------------------------------------------------------------------------------

REQUEST_NUMBERS = itertools.count(1)


async def submit(api, body: dict, who: dict | None = None, allocate: bool = False):
    """Explicit numbers: every test has a fresh database but all share one Temporal server. `who`: the
    caller's headers (default: it.anna of IT)."""
    if not allocate:
        body = {"number": f"SR-TEST-{next(REQUEST_NUMBERS):04d}", **body}
    return await api.post("/service-requests", json=body, headers=who or {})


ACCOUNT = {"kind": "non_employee_account", "holder": "Consultant K", "organisation": "Konsult AB",
           "valid_until": "2027-06-30"}


async def test_tk9_only_the_manager_or_a_designated_person_may_apply(api):
    refused = await submit(api, {"unit_id": "TR-KS", "applicant_ref": "E9999", "details": ACCOUNT})
    assert refused.status_code == 403 and "TK-9" in refused.json()["detail"]
    manager = api.bearer("E1001", "unit-manager", unit="TR-KS")
    by_manager = await submit(api, {"unit_id": "TR-KS", "details": ACCOUNT}, manager)
    assert by_manager.status_code == 201 and by_manager.json()["state"] == "submitted"
    assert by_manager.json()["rule"] == "TK-9" and by_manager.json()["applicant_ref"] == "E1001"
    by_it = await api.put("/units/TR-KS/designated-applicants/E7777")
    assert by_it.status_code == 403
    not_manager = await api.put("/units/TR-KS/designated-applicants/E7777",
                                headers=api.bearer("E1009", "unit-manager", unit="TR-KS"))
    assert not_manager.status_code == 403 and "TK-9" in not_manager.json()["detail"]
    assert (await api.put("/units/TR-KS/designated-applicants/E7777", headers=manager)).status_code == 200
    designee = api.bearer("E7777", "employee")
    designated = await submit(api, {"unit_id": "TR-KS", "details": ACCOUNT}, designee)
    assert designated.status_code == 201 and designated.json()["applicant_ref"] == "E7777"
    other_unit = await submit(api, {"unit_id": "UL-KS", "details": ACCOUNT}, designee)
    assert other_unit.status_code == 403
    number = designated.json()["number"]
    await api.post(f"/service-requests/{number}/events", json={"action": {"event": "start_work", "assignee": "it.acc"}})
    done = await api.post(f"/service-requests/{number}/events",
                          json={"action": {"event": "deliver", "result": "account ext-konsultk until 2027-06-30"}})
    assert done.status_code == 200 and done.json()["state"] == "delivered"
    assert (await api.delete("/units/TR-KS/designated-applicants/E7777", headers=manager)).status_code == 204
    assert (await submit(api, {"unit_id": "TR-KS", "details": ACCOUNT}, designee)).status_code == 403


async def test_tk10_functional_mailbox_is_ordered_through_support(api):
    created = await submit(api, {"unit_id": "TR-SBF", "details": {
        "kind": "functional_mailbox", "address": "bygglov", "function_description": "building permits",
        "owner_ref": "E1004"}}, allocate=True)
    assert created.status_code == 201 and created.json()["rule"] == "TK-10"
    assert created.json()["number"].startswith("SR")
    number = created.json()["number"]
    early = await api.post(f"/service-requests/{number}/events", json={"action": {"event": "deliver"}})
    assert early.status_code == 409
    await api.post(f"/service-requests/{number}/events", json={"action": {"event": "start_work", "assignee": "it.mail"}})
    done = await api.post(f"/service-requests/{number}/events",
                          json={"action": {"event": "deliver", "result": "bygglov@tranemo.se"}})
    assert done.json()["state"] == "delivered"
    rows = (await api.get("/service-requests", params={"kind": "functional_mailbox"})).json()
    assert [(r["number"], r["state"], r["result"]) for r in rows] == [(number, "delivered", "bygglov@tranemo.se")]
    mail = (await api.get("/outbox", params={"workflow_id": f"request-{number}"})).json()
    assert mail[0]["recipient"] == "employee:it.anna" and "bygglov@tranemo.se" in mail[0]["body"]


async def test_tk11_program_missing_from_software_center(api, sessions):
    add_device(sessions, "ORD-API-WS11", "LAT-5450", unit_id="TR-KS")
    add_device(sessions, "ORD-API-CB11", "CB-314")
    program = {"kind": "program_installation", "program": "QGIS", "work_related_reason": "maps for planning"}
    in_center = await submit(api, {"unit_id": "TR-KS", "details": {**program, "device_order_number": "ORD-API-WS11",
                                                                   "in_software_center": True}})
    assert in_center.status_code == 422 and "Software Center" in in_center.json()["detail"]
    managed = await submit(api, {"unit_id": "TR-KS", "details": {**program, "device_order_number": "ORD-API-WS11"}})
    assert managed.status_code == 201 and managed.json()["state"] == "submitted"
    student = await submit(api, {"unit_id": "TR-BUF", "details": {**program, "device_order_number": "ORD-API-CB11"}})
    assert student.status_code == 201
    assert student.json()["state"] == "handed_back" and "TK-7" in student.json()["handed_back_reason"]
    again = (await api.get(f"/service-requests/{student.json()['number']}")).json()  # from the register
    assert again["state"] == "handed_back" and again["details"]["program"] == "QGIS"
    assert "TK-7" in again["handed_back_reason"] and again["log"][-1]["actor"] == "ramflow"


async def test_tk12_physical_move_is_charged_per_hour(api, sessions):
    created = await submit(api, {"unit_id": "UL-VOF", "details": {
        "kind": "physical_move", "from_location": "Hus A plan 2", "to_location": "Hus B plan 1"}})
    number = created.json()["number"]
    await api.post(f"/service-requests/{number}/events", json={"action": {"event": "start_work", "assignee": "it.tech"}})
    no_time = await api.post(f"/service-requests/{number}/events", json={"action": {"event": "deliver"}})
    assert no_time.status_code == 409 and "TK-12" in no_time.json()["detail"]
    done = await api.post(f"/service-requests/{number}/events",
                          json={"action": {"event": "deliver", "minutes_worked": 70}})
    assert done.status_code == 200 and done.json()["state"] == "delivered"
    with sessions() as s:
        charge = s.scalars(select(SupportCharge).where(SupportCharge.reference == number)).one()
    assert (charge.source, charge.unit_id, charge.minutes_charged) == ("physical_move", "UL-VOF", 90)
    assert (str(charge.hours), str(charge.amount)) == ("1.50", "975.00")
    again = await api.post("/service-requests", json={"number": number, "unit_id": "UL-VOF", "details": {
        "kind": "physical_move", "from_location": "Hus A plan 2", "to_location": "Hus B plan 1"}})
    assert again.status_code == 200 and again.json()["state"] == "delivered"  # a repeated call, not a new move
    history = (await api.get(f"/service-requests/{number}/history")).json()
    assert [(h["event"], h["rule"]) for h in history] == [("submit", "TK-12"), ("start_work", "TK-12"),
                                                          ("deliver", "TK-12")]


# --- incidents (AV-3, AV-4) ------------------------------------------------------------------------

async def test_av4_it_incident_is_published_on_both_intranets(api, sessions):
    created = await api.post("/incidents", json={
        "kind": "outage", "title": "E-mail down", "reported_by": "it", "started_at": "2026-03-10T08:00:00+01:00"})
    assert created.status_code == 201, created.text
    incident = created.json()
    ended = await api.put(f"/incidents/{incident['id']}/end", json={"ended_at": "2026-03-10T09:30:00+01:00"})
    assert ended.status_code == 200 and ended.json()["ended_at"] == "2026-03-10T09:30:00+01:00"
    assert (await api.put(f"/incidents/{incident['id']}/end", json={"ended_at": "2026-03-10T09:40:00+01:00"})
            ).status_code == 409
    with sessions() as s:
        published = s.scalars(select(OutboxMessage).where(OutboxMessage.topic == "operational_message")
                              .order_by(OutboxMessage.id)).all()
    assert [m.recipient for m in published] == ["intranet:tranemo", "intranet:ulricehamn"] * 2


async def test_av4_unit_reports_its_own_incident_to_it(api):
    missing_unit = await api.post("/incidents", json={
        "kind": "incident", "title": "x", "reported_by": "unit", "started_at": "2026-03-10T08:00:00+01:00"})
    assert missing_unit.status_code == 422
    created = await api.post("/incidents", json={
        "kind": "incident", "title": "Phishing mail opened", "reported_by": "unit", "unit_id": "UL-VOF",
        "started_at": "2026-03-10T08:00:00+01:00"})
    assert created.status_code == 201
    assert [m["recipient"] for m in (await api.get("/outbox", params={"topic": "unit_incident"})).json()] == [
        "lead:infrastruktur"]
    assert (await api.get("/outbox", params={"topic": "operational_message"})).json() == []
    message = await api.post("/operational-messages", json={"subject": "Service window Tuesday",
                                                           "body": "18–22", "municipality": "ulricehamn"})
    assert message.status_code == 201 and message.json() == ["intranet:ulricehamn"]
