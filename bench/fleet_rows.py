"""Register rows written straight into the database (issue 23): a fleet to search, without any workflow.

Used by bench/search.py (20,000 devices on PostgreSQL) and by the search tests (a few thousand on SQLite and
PostgreSQL). Deterministic: row i always has the same serial number, user and unit."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from db.models import Device
from db.people_models import Person
from db.ticket_models import Ticket

UNITS = (("TR-KS", "tranemo"), ("TR-BUF", "tranemo"), ("TR-SOC", "tranemo"), ("TR-SBF", "tranemo"),
         ("UL-KS", "ulricehamn"), ("UL-BUF", "ulricehamn"), ("UL-VOF", "ulricehamn"), ("UL-SBF", "ulricehamn"))
FIRST = ("Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Eva", "Per", "Sara", "Åsa", "Björn", "Ingrid")
LAST = ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson", "Svensson",
        "Gustafsson", "Pettersson", "Jönsson", "Lindqvist", "Öberg")
TITLES = ("Skrivaren skriver inte ut", "Kan inte logga in i Outlook", "Datorn startar inte", "Skärmen flimrar",
          "Lösenordet har gått ut", "Telefonen laddar inte", "Nätverket är långsamt", "Mappen går inte att öppna")
BASE = datetime(2024, 1, 8, 9, 0, tzinfo=timezone.utc)
BATCH = 2000


def serial_of(i: int) -> str:
    return f"SN{(i * 7919) % 10_000_000:07d}X"


def order_of(i: int) -> str:
    return f"FS-{i:06d}"


def person_of(i: int) -> str:
    return f"E{10000 + i % 5000}"


def name_of(i: int) -> str:
    return f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]} {i % 5000}"


def insert_fleet(sessions: sessionmaker[Session], devices: int, tickets: int = 0) -> None:
    """`devices` in-use devices (with their users in the people register) and `tickets` open tickets."""
    now = datetime.now(timezone.utc)
    with sessions.begin() as s:
        people = min(devices, 5000)
        rows = [dict(employee_ref=person_of(i), name=name_of(i), language="sv", unit_id=UNITS[i % len(UNITS)][0],
                     active=True, updated_at=now, scim_version=0) for i in range(people)]
        for start in range(0, len(rows), BATCH):
            s.execute(insert(Person), rows[start:start + BATCH])
        for start in range(0, devices, BATCH):
            s.execute(insert(Device), [_device(i, now) for i in range(start, min(devices, start + BATCH))])
        for start in range(0, tickets, BATCH):
            s.execute(insert(Ticket), [_ticket(i, now) for i in range(start, min(tickets, start + BATCH))])


def _device(i: int, now: datetime) -> dict:
    unit, municipality = UNITS[i % len(UNITS)]
    delivered = BASE + timedelta(hours=7 * i)
    return dict(order_number=order_of(i), workflow_id=f"device-{order_of(i)}", model_code="LAT-5450",
                category="workstation", agreement_ref="ADDA-KLIENT-2023", municipality=municipality, unit_id=unit,
                cost_bearer_unit_id=unit, user_ref=person_of(i), location=f"Rum {i % 400}", state="in_use",
                serial_number=serial_of(i), ordered_at=delivered - timedelta(days=10), delivered_at=delivered,
                renewal_months=48, updated_at=now)


def _ticket(i: int, now: datetime) -> dict:
    unit, municipality = UNITS[i % len(UNITS)]
    # numbers of 2019: never one the server allocates in a test's or the demo's year
    return dict(number=f"T2019-{i + 1:05d}", workflow_id=f"ticket-T2019-{i + 1:05d}", unit_id=unit,
                municipality=municipality, reporter_ref=person_of(i), title=f"{TITLES[i % len(TITLES)]} ({i})",
                description=f"Anmält av {name_of(i)}, rum {i % 400}.", on_call=False,
                line="first_line", state="registered", reported_at=BASE + timedelta(minutes=13 * i),
                breached=False, updated_at=now)
