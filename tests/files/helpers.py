"""Rows the file tests start from: a device in the register with what an external system recorded of it."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from db.models import CallOff, Device, SalaryDeduction
from db.people_models import Person

UNIT_OF = {"tranemo": "TR-KS", "ulricehamn": "UL-KS"}


def add_device(session, order_number: str, municipality: str = "tranemo", state: str = "sold_to_employee",
               serial: str | None = None, at: datetime | None = None) -> Device:
    at = at or datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
    device = Device(order_number=order_number, workflow_id=f"device-{order_number}", model_code="LAT-5450",
                    category="workstation", agreement_ref="ADDA-KLIENT-2023", municipality=municipality,
                    unit_id=UNIT_OF[municipality], state=state, serial_number=serial, ordered_at=at, updated_at=at)
    session.add(device)
    return device


def add_deduction(sessions, order_number: str, employee_ref: str, amount: str, at: datetime,
                  municipality: str = "tranemo", employment_number: str | None = None) -> None:
    with sessions.begin() as s:
        add_device(s, order_number, municipality, at=at)
        s.add(SalaryDeduction(order_number=order_number, employee_ref=employee_ref, amount=Decimal(amount), at=at))
        person = s.get(Person, employee_ref)
        if person is None:
            s.add(Person(employee_ref=employee_ref, name=f"Person {employee_ref}", employment_number=employment_number,
                         updated_at=at))
        else:
            person.employment_number = employment_number


def add_call_off(sessions, order_number: str, at: datetime, municipality: str = "tranemo",
                 state: str = "called_off") -> None:
    with sessions.begin() as s:
        add_device(s, order_number, municipality, state=state, at=at)
        s.add(CallOff(order_number=order_number, agreement_ref="ADDA-KLIENT-2023", model_code="LAT-5450",
                      reference=f"AVROP-ADDA-KLIENT-2023-{order_number}", at=at))
