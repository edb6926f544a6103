"""Issue 20, data loss: what `POST /tickets` accepts is stored and shown (the description was dropped: in no
view, no table, no console page), and a field the API does not know is refused with 422, nothing written."""
from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import func, select

from api.routes.tickets import view_from_register
from config import Settings
from console import i18n
from console.ui import Ui
from db.ticket_models import Ticket

REPORT = {"unit_id": "TR-KS", "reporter_ref": "E5001", "title": "Skrivaren skriver inte ut",
          "description": "Papperet fastnar i fack 2 sedan i morse; lampan blinkar orange.",
          "affects_operations": True, "cannot_wait": True, "unit_started_troubleshooting": True}


def console_page(view: dict) -> str:
    """The console's ticket page for `view`, as the console renders it (Swedish)."""
    templates = Ui(FastAPI(), FastAPI(), None).templates
    return templates.env.get_template("ticket.html").render(
        item=view, t=i18n.words("sv"), lang="sv", session=None, principal=None, flash=[], csrf="", nav=[],
        path=f"/console/tickets/{view['number']}", events=[], mirror=False)


async def test_issue20_ticket_description_is_stored_and_shown_in_the_view_the_register_and_the_console(
        api, sessions, bearer):
    created = await api.post("/tickets", json=REPORT, headers=bearer("E5001", "employee"))
    assert created.status_code == 201, created.text
    view = created.json()
    for name in ("description", "affects_operations", "cannot_wait", "unit_started_troubleshooting"):
        assert view[name] == REPORT[name], name
    number = view["number"]
    live = (await api.get(f"/tickets/{number}")).json()
    assert live["description"] == REPORT["description"]
    with sessions() as s:
        row = s.get(Ticket, number)
        assert (row.description, row.affects_operations, row.cannot_wait, row.unit_started_troubleshooting) == (
            REPORT["description"], True, True, True)
        mirrored = view_from_register(s, row, Settings()).model_dump(mode="json")
    assert mirrored["description"] == REPORT["description"] and mirrored["cannot_wait"] is True
    page = console_page(live)
    assert "<dt>Beskrivning</dt>" in page and REPORT["description"] in page


async def test_issue20_an_unknown_body_field_is_422_naming_it_and_nothing_is_written(api, sessions):
    typo = await api.post("/tickets", json={**{k: REPORT[k] for k in ("unit_id", "reporter_ref", "title")},
                                            "descripton": "stavfel"})
    assert typo.status_code == 422, typo.text
    assert typo.json()["detail"][0]["loc"] == ["body", "descripton"]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 0
    created = (await api.post("/tickets", json={k: REPORT[k] for k in ("unit_id", "reporter_ref", "title")})).json()
    nested = await api.post(f"/tickets/{created['number']}/events",
                            json={"action": {"event": "assign", "assignee": "it.anna", "note": "tappas"}})
    assert nested.status_code == 422 and nested.json()["detail"][0]["loc"] == ["body", "action", "note"]
    assert (await api.get(f"/tickets/{created['number']}")).json()["assignee"] is None
