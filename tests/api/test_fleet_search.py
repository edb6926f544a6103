"""Search over the whole fleet (issue 23), on SQLite and PostgreSQL: the register lists filter in SQL and page;
a serial number is found among thousands of devices; an unknown query parameter is a 422 naming it."""
from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text

from bench.fleet_rows import insert_fleet, name_of, order_of, person_of, serial_of
from config import Settings

DEVICES, TICKETS = 3000, 400


@pytest_asyncio.fixture
async def fleet(backend_url, backend_sessions, issuer, bearer) -> AsyncIterator[httpx.AsyncClient]:
    """The API (no Temporal: the lists read the register) over a database holding a fleet of register rows."""
    from api.main import create_app

    insert_fleet(backend_sessions, DEVICES, tickets=TICKETS)
    settings = Settings(database_url=backend_url, oidc_issuer=issuer.url, oidc_audience=issuer.audience)
    app = create_app(settings=settings, client=None, sessions=backend_sessions)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ramflow.test/api/v1",
                                 headers=bearer("it.anna", "it-staff"), timeout=30) as http:
        http.bearer = bearer
        yield http


async def rows(http: httpx.AsyncClient, path: str, **params) -> list[dict]:
    answer = await http.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_eq7_a_serial_number_is_found_among_thousands_of_devices(fleet):
    i = DEVICES - 17  # far beyond the first 1,000 rows the console once searched in memory
    found = await rows(fleet, "/devices", serial_number=serial_of(i).lower())
    assert [d["order_number"] for d in found] == [order_of(i)] and found[0]["user_name"] == name_of(i)
    begun = await rows(fleet, "/devices", q=serial_of(i)[:-1])  # the search box: a beginning is enough
    assert order_of(i) in [d["order_number"] for d in begun]
    assert [d["order_number"] for d in await rows(fleet, "/devices", q=order_of(i))] == [order_of(i)]
    assert await rows(fleet, "/devices", serial_number="NO-SUCH-SERIAL") == []


async def test_eq7_devices_by_user_number_or_name_unit_model_state_and_delivery_period(fleet):
    by_number = await rows(fleet, "/devices", user=person_of(42), limit=1000)
    by_name = await rows(fleet, "/devices", user=name_of(42).lower(), limit=1000)  # words of the name, any case
    assert {d["user_ref"] for d in by_number} == {person_of(42)} == {d["user_ref"] for d in by_name}
    assert len(by_number) == len([i for i in range(DEVICES) if person_of(i) == person_of(42)])
    in_unit = await rows(fleet, "/devices", unit_id="UL-VOF", model_code="LAT-5450", state="in_use", limit=1000)
    assert len(in_unit) == DEVICES // 8 and {d["unit_id"] for d in in_unit} == {"UL-VOF"}
    assert await rows(fleet, "/devices", model_code="OPT-7020") == [] and await rows(fleet, "/devices",
                                                                                      state="stolen") == []
    # delivered every 7 hours from 8 January 2024 09:00 UTC: the 10 January (a Swedish day:
    # 9 Jan 23:00 … 10 Jan 23:00 UTC) holds rows 6, 7 and 8; row 9 is 11 January 01:00 in Sweden
    period = await rows(fleet, "/devices", delivered_from="2024-01-10", delivered_to="2024-01-10")
    assert [d["order_number"] for d in period] == [order_of(i) for i in range(6, 9)]


async def test_eq7_the_register_pages_in_sql(fleet):
    first = await rows(fleet, "/devices", unit_id="TR-KS", limit=50)
    second = await rows(fleet, "/devices", unit_id="TR-KS", limit=50, offset=50)
    assert len(first) == len(second) == 50 and not {d["order_number"] for d in first} & {
        d["order_number"] for d in second}
    assert first[-1]["order_number"] < second[0]["order_number"]


async def test_tk2_tickets_by_number_text_reporter_unit_state_and_line(fleet):
    assert [t["number"] for t in await rows(fleet, "/tickets", number="t2019-00123")] == ["T2019-00123"]
    printers = await rows(fleet, "/tickets", q="skrivaren skriver", limit=1000)
    assert len(printers) == TICKETS // 8 and all(t["title"].startswith("Skrivaren") for t in printers)
    assert len(await rows(fleet, "/tickets", q="skrivar", limit=1000)) == TICKETS // 8  # a word's beginning
    assert len(await rows(fleet, "/tickets", q="anmält", limit=1000)) == TICKETS  # the description's words too
    by_reporter = await rows(fleet, "/tickets", reporter=name_of(42), limit=1000)
    assert {t["reporter_ref"] for t in by_reporter} == {person_of(42)}
    assert [t["reporter_ref"] for t in await rows(fleet, "/tickets", reporter=person_of(42))] == [person_of(42)]
    narrowed = await rows(fleet, "/tickets", unit_id="TR-SOC", state="registered", line="first_line", limit=1000)
    assert len(narrowed) == TICKETS // 8
    assert await rows(fleet, "/tickets", q="%_") == [] and await rows(fleet, "/tickets", q="zzzqqq") == []


async def test_an_unknown_query_parameter_is_a_422_naming_it_not_the_whole_list(fleet):
    for path, typo in (("/devices", "serial"), ("/tickets", "titel")):
        answer = await fleet.get(path, params={typo: "x", "limit": 5})
        assert answer.status_code == 422, answer.text
        detail = answer.json()["detail"]
        assert detail[0]["loc"] == ["query", typo] and typo in detail[0]["msg"]
    assert (await fleet.get("/tickets", params={"open": "true", "limit": 5})).status_code == 200  # an alias is known


async def test_search_shows_a_unit_manager_only_their_units_devices(fleet):
    manager = fleet.bearer("E1001", "unit-manager", unit="TR-KS")
    i = 3  # UNITS[3] is TR-SBF: not theirs
    answer = await fleet.get("/devices", params={"serial_number": serial_of(i)}, headers=manager)
    assert answer.status_code == 200 and answer.json() == []
    own = await fleet.get("/devices", params={"serial_number": serial_of(8)}, headers=manager)
    assert [d["order_number"] for d in own.json()] == [order_of(8)]


async def test_postgresql_full_text_search_uses_the_swedish_gin_index(fleet, backend_url, backend_sessions):
    if not backend_url.startswith("postgresql"):
        pytest.skip("the GIN index exists only on PostgreSQL (SQLite matches with LIKE)")
    from api.search import TICKET_TEXT_SQL

    with backend_sessions() as s:
        s.execute(text("SET enable_seqscan = off"))
        plan = " ".join(r[0] for r in s.execute(text(
            f"EXPLAIN SELECT number FROM tickets WHERE {TICKET_TEXT_SQL} @@ to_tsquery('swedish', 'skrivar:*')")))
        serial = " ".join(r[0] for r in s.execute(text(
            "EXPLAIN SELECT * FROM devices WHERE upper(serial_number) LIKE 'SN12%'")))
    assert "ix_tickets_text_fts" in plan and "ix_devices_serial_upper" in serial
