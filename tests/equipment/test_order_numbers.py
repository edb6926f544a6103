"""Issue 23, EQ-1: the order number is allocated by Ramflow when the orderer gives none (`ORD-<year>-NNNNN`),
once per Idempotency-Key; a number typed in by hand earlier is skipped; `GET /me` tells a person their own
unit and name (the console prefills a report with it) and nobody else's."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import func, select

from db.models import Device
from db.people_models import Person

ORDER = {"model_code": "LAT-5450", "unit_id": "UL-KS", "user_ref": "E2101"}


async def test_eq1_an_order_without_a_number_gets_one_allocated_once_per_idempotency_key(api, sessions):
    first = await api.post("/orders", json=ORDER, headers={"Idempotency-Key": "order-1"})
    assert first.status_code == 201, first.text
    number = first.json()["order_number"]
    assert re.fullmatch(r"ORD-\d{4}-\d{5}", number)
    again = await api.post("/orders", json=ORDER, headers={"Idempotency-Key": "order-1"})
    assert again.status_code == 200 and again.json()["order_number"] == number
    other = await api.post("/orders", json=ORDER, headers={"Idempotency-Key": "order-2"})
    assert other.status_code == 201 and other.json()["order_number"] != number
    reused = await api.post("/orders", json={**ORDER, "user_ref": "E2102"}, headers={"Idempotency-Key": "order-1"})
    assert reused.status_code == 422  # the key stands for another order
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Device)) == 2


async def test_eq1_a_hand_given_number_in_the_series_is_skipped_by_the_allocator(api, sessions):
    first = (await api.post("/orders", json=ORDER)).json()["order_number"]
    year, last = first.split("-")[1], int(first.split("-")[2])
    taken = f"ORD-{year}-{last + 1:05d}"
    assert (await api.post("/orders", json={**ORDER, "order_number": taken})).status_code == 201
    following = (await api.post("/orders", json=ORDER)).json()["order_number"]
    assert following == f"ORD-{year}-{last + 2:05d}"


async def test_me_answers_the_callers_own_unit_and_name(api, sessions, bearer):
    with sessions() as s:
        s.add(Person(employee_ref="E5001", name="Anna Berg", unit_id="TR-BUF", updated_at=datetime.now(timezone.utc)))
        s.commit()
    me = (await api.get("/me", headers=bearer("E5001", "employee", unit="TR-KS"))).json()
    assert (me["employee_ref"], me["name"], me["unit_id"]) == ("E5001", "Anna Berg", "TR-BUF")  # the register's
    other = (await api.get("/me", headers=bearer("E5002", "employee", unit="TR-KS"))).json()
    assert (other["name"], other["unit_id"]) == (None, "TR-KS")  # the token's unit claim
