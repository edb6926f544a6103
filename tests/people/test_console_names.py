"""The console shows people by name with their employee number (issue 22): the device list and page (with the
leaver's return flag, EQ-7) and the ticket page, rendered by the console's own templates and filters."""
from __future__ import annotations

from fastapi import FastAPI

from console import i18n
from console.ui import Ui

DEVICE = {"order_number": "ORD-1", "model_code": "LAT-5450", "category": "workstation", "unit_id": "TR-KS",
          "user_ref": "E5001", "user_name": "Eva Ek", "state": "in_use", "location": None,
          "return_flagged_at": "2031-03-02T09:00:00Z", "cost_bearer_unit_id": "TR-KS", "log": [],
          "allowed_events": [], "renewal_due_at": None, "delivered_at": None, "serial_number": "SN-1", "buyout": None}
TICKET = {"number": "T2031-00001", "title": "Skärmen", "state": "registered", "line": "first", "assignee": None,
          "unit_id": "TR-KS", "reporter_ref": "E5001", "reporter_name": "Eva Ek", "reported_at": None,
          "deadline": None, "remaining_support_seconds": None, "function": None, "log": []}


def render(name: str, **context) -> str:
    ui = Ui(FastAPI(), FastAPI(), None)  # type: ignore[arg-type]
    page = {"t": i18n.words("sv"), "lang": "sv", "session": None, "principal": None, "flash": [], "csrf": "",
            "nav": [], "path": "/console"}
    return ui.templates.get_template(name).render(**page, **context)


def test_console_shows_device_users_and_ticket_reporters_by_name_and_number():
    listed = render("devices.html", rows=[DEVICE, {**DEVICE, "order_number": "ORD-2", "user_ref": "E5999",
                                                   "user_name": None, "return_flagged_at": None}],
                    form={}, units=[], states=(), page=1, previous=None, next=None)
    assert "Eva Ek (E5001) <span" in listed and "Ska lämnas tillbaka" in listed
    assert '<td data-label="Användare">E5999</td>' in listed  # no one in the register: the number alone
    page = render("device.html", device=DEVICE, key="ORD-1", log=[], events=[])
    assert "<dd>Eva Ek (E5001) <span" in page
    ticket = render("ticket.html", item=TICKET, events=[], mirror=False)
    assert '<dd id="reporter">Eva Ek (E5001)</dd>' in ticket
