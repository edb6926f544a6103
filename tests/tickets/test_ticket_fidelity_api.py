"""Rule fidelity of the support API (issue 9): what the rules decide is visible, numbers stay apart."""
from __future__ import annotations

from tests.tickets.helpers import add_device

WALKTHROUGH = {"unit_id": "TR-KS", "reporter_ref": "E5001", "title": "Outlook does not start",
               "function": "email_calendar"}


async def test_tk2_client_chosen_ticket_numbers_stay_out_of_the_servers_series(api):
    chosen = await api.post("/tickets", json={**WALKTHROUGH, "number": "T2026-00001"})
    assert chosen.status_code == 422 and "number" in chosen.json()["detail"]
    request = await api.post("/service-requests", headers=api.bearer("E1001", "unit-manager", unit="TR-KS"), json={
        "number": "SR2026-00001", "unit_id": "TR-KS", "details": {
            "kind": "physical_move", "from_location": "A", "to_location": "B"}})
    assert request.status_code == 422 and "number" in request.json()["detail"]
    own = await api.post("/tickets", json={**WALKTHROUGH, "number": "HD-4711"})
    assert own.status_code == 201
    allocated = await api.post("/tickets", json=WALKTHROUGH)
    assert allocated.status_code == 201, allocated.text
    number = allocated.json()["number"]
    assert number.startswith("T") and number.endswith("-00001")
    again = await api.post("/tickets", json={**WALKTHROUGH, "number": number})  # a retry with the number it got
    assert again.status_code == 200 and again.json()["number"] == number


async def test_tk9_units_show_their_manager_and_designated_applicants(api):
    assert (await api.put("/units/TR-KS/designated-applicants/E7777", headers=api.bearer("E1001", "unit-manager", unit="TR-KS"))).status_code == 200
    units = {u["id"]: u for u in (await api.get("/units")).json()}
    assert units["TR-KS"]["manager_ref"] == "E1001" and units["TR-KS"]["designated_applicants"] == ["E7777"]
    assert units["UL-KS"]["designated_applicants"] == []


async def test_tk12_what_a_move_was_charged_is_shown_on_the_request(api):
    created = await api.post("/service-requests", headers=api.bearer("E2003", "unit-manager", unit="UL-VOF"), json={
        "unit_id": "UL-VOF", "details": {"kind": "physical_move", "from_location": "Hus A", "to_location": "Hus B"}})
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    assert created.json()["charge"] is None
    await api.post(f"/service-requests/{number}/events", json={"action": {"event": "start_work", "assignee": "it.tech"}})
    await api.post(f"/service-requests/{number}/events", json={"action": {"event": "deliver", "minutes_worked": 70}})
    charge = (await api.get(f"/service-requests/{number}")).json()["charge"]
    assert (charge["minutes_worked"], charge["minutes_charged"], charge["hours"], charge["amount"]) == (
        70, 90, "1.50", "975.00")


async def test_tk7_reporting_a_unit_owned_matter_is_201_with_the_handed_back_ticket(api, sessions):
    add_device(sessions, "ORD-TK7-1TO1", "CB-314")
    for n in range(6):
        response = await api.post("/tickets", json={
            "unit_id": "TR-BUF", "reporter_ref": "E1100", "title": "Printing", "number": f"T-TK7-{n}",
            "device_order_number": "ORD-TK7-1TO1", "matter": "printing"})
        assert response.status_code == 201, response.text
        assert response.json()["state"] == "handed_back" and "TK-7" in response.json()["log"][-1]["rule"]
