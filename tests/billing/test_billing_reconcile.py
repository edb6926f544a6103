"""Issue 25 part 5: figures an economist can reconcile before they leave Ramflow (BL-1 … BL-6, EQ-5,
EQ-13), checked from outside: each of these failed on main before issue 25."""
from __future__ import annotations

import codecs
import csv
import io
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from api.routes.service_requests import request_charge
from activities.equipment import EquipmentActivities
from db import billing_queries as q
from db.ticket_models import SupportCharge
from domain.billing import ApplicationItem, RecurringCharge, application_lines, forecast, parse_period, rent_lines
from domain.catalogue import Category
from domain.renewals import ReplacementModelRequest
from tests.billing.helpers import add_device, add_rental

D = Decimal


def exact(text: str) -> Fraction:
    """'1/12', '3/30 + 1', '4' as written on a line."""
    return sum((Fraction(part.strip()) for part in text.split("+")), Fraction(0))


def reconciles(quantity_exact: str, unit_price: Decimal, amount: Decimal) -> bool:
    value = exact(quantity_exact) * Fraction(unit_price)
    return (D(value.numerator) / D(value.denominator)).quantize(D("0.01"), ROUND_HALF_UP) == amount


def test_issue25_ag6_bl2_quantity_times_price_is_the_amount_and_twelve_months_sum_to_the_year():
    treserva = [ApplicationItem(unit_id="UL-VOF", agreement_id="APP-TRESERVA", application="Treserva",
                                yearly=D("60712.50"))]
    months = [application_lines(treserva, parse_period(f"2026-{m:02d}"))[0] for m in range(1, 13)]
    assert all(line.quantity_exact == "1/12" for line in months)
    assert all(reconciles("1/12", line.unit_price, line.amount) for line in months[:11])  # 5 059,38 each
    assert months[11].amount == D("5059.32")  # December takes the remainder
    assert sum(line.amount for line in months) == D("60712.50")
    tertials = [application_lines(treserva, parse_period(f"2026-T{t}"))[0] for t in (1, 2, 3)]
    assert [t.quantity_exact for t in tertials] == ["4/12"] * 3
    assert sum(t.amount for t in tertials) == D("60712.50")
    # rent: days over the month's days, month by month (rule BL-6)
    charge = RecurringCharge(charge_id=1, order_number="O-1", unit_id="UL-KS", category="workstation",
                             model_code="LAT-5450", kind="rent", monthly_amount=D("420.00"),
                             starts_on=date(2026, 3, 10), ends_on=None)
    [march] = rent_lines([charge], parse_period("2026-03"))
    assert (march.quantity_exact, march.amount) == ("22/31", D("298.06"))
    assert march.quantity * march.unit_price != march.amount  # 0.7097 × 420 = 298.07: the rounded one does not
    assert reconciles(march.quantity_exact, march.unit_price, march.amount)
    [t1] = rent_lines([charge], parse_period("2026-T1"))
    assert t1.quantity_exact == "22/31 + 1" and reconciles(t1.quantity_exact, t1.unit_price, t1.amount)


async def test_issue25_bl3_central_cost_of_an_invoiced_year_cannot_change(api, sessions):
    path = "/billing/central-costs/2025/TR-SBF"
    assert (await api.put(path, json={"amount": "20000.00", "text": "Central IT-kostnad 2025"})).status_code == 200
    run = await api.post("/billing/runs", json={"municipality": "tranemo", "period": "2025", "kind": "central"})
    assert run.status_code == 201, run.text
    refused = await api.put(path, json={"amount": "21250.35", "text": "Central IT-kostnad 2025"})
    assert refused.status_code == 409 and "BL-3" in refused.json()["detail"] and "2025" in refused.json()["detail"]
    assert (await api.put("/billing/central-costs/2026/TR-SBF", json={"amount": "21250.35"})).status_code == 200
    economy = api.bearer("ek.eva", "economy")
    [basis] = (await api.get("/billing/bases", headers=economy,
                             params={"municipality": "tranemo", "period": "2025", "unit_id": "TR-SBF"})).json()
    assert basis["lines"][0]["text"] == "Central IT-kostnad 2025"  # the year once, not "2025 2025"
    assert basis["total"] == "20000.00"


async def test_issue25_swedish_csv_uses_decimal_comma_and_a_bom_and_amounts_are_bounded(api, sessions):
    with sessions.begin() as s:
        add_rental(s, "UL-1", "UL-KS", date(2026, 3, 10))
    run = await api.post("/billing/runs", json={"municipality": "ulricehamn", "period": "2026-03"})
    assert run.status_code == 201, run.text
    export = await api.get("/billing/ulricehamn/2026-03/export.csv", headers=api.bearer("ek.eva", "economy"))
    assert export.content.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["period", "cost_centre", "article", "text", "quantity", "quantity_exact", "unit_price",
                       "amount"]
    ks = next(r for r in rows if r[1] == "UL-KS")
    assert ks[4:] == ["0,7097", "22/31", "420,00", "298,06"]
    huge = await api.put("/billing/central-costs/2026/UL-KS", json={"amount": "1e20"})
    assert huge.status_code == 422 and "amount" in huge.text


async def test_issue25_eq5_forecast_prices_a_renewal_as_what_renew_now_orders(sessions):
    with sessions.begin() as s:
        add_device(s, "UL-W", "UL-KS", delivered=date(2023, 5, 2))  # a LAT-5450 laptop, due 2027-05-02
    ordered = EquipmentActivities(sessions).replacement_model(ReplacementModelRequest(
        category=Category.WORKSTATION, municipality="ulricehamn", on=date(2027, 5, 2), replaces_model="LAT-5450"))
    with sessions() as s:
        rows = forecast(q.fleet(s, "ulricehamn"), [2027], q.replacement_models(s, 2027), q.price_book(s))
    [due] = [d for r in rows for d in r.due]
    assert due.replacement_model == ordered == "LAT-5450"  # a laptop stays a laptop, not the OPT-7020 desktop


async def test_issue25_eq13_economy_reads_the_rates_it_is_invoiced_by_and_extra_support_shows_its_charge(api,
                                                                                                        sessions):
    lists = await api.get("/billing/price-lists/2026", headers=api.bearer("ek.eva", "economy"))
    assert lists.status_code == 200, lists.text
    rates = {r["article"]: r["unit_price"] for r in lists.json()["hourly_rates"]}
    assert rates["extra_support"] == "650.00" and rates["on_call"] == "950.00"
    assert any(d["model_code"] == "LAT-5450" and d["monthly_rent"] == "420.00" for d in lists.json()["devices"])
    with sessions.begin() as s:
        s.add(SupportCharge(key="SR-9:charge", source="extra_support", reference="SR-9", unit_id="UL-BUF",
                            minutes_worked=75, minutes_charged=90, hours=D("1.50"), hourly_rate=D("650.00"),
                            amount=D("975.00"), charged_on=date(2026, 3, 20),
                            at=datetime(2026, 3, 20, tzinfo=timezone.utc)))
    with sessions() as s:
        charge = request_charge(s, "SR-9")
    assert charge is not None and charge.amount == D("975.00")
