"""Rule EQ-13 (BL-1): extra support from IT on a phone or tablet, beyond what the service fee covers, is
recorded where the process records hourly work (a service request delivered with the minutes worked, as
a TK-12 move) and becomes a billing line at the hourly rate of the year's price list (service_prices)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import select

from activities.billing import store_basis
from db.billing_models import InvoiceLineRow, ServicePriceRow
from db.ticket_models import SupportCharge
from domain.billing import UnitBasisRequest, period_containing


async def test_eq13_bl1_extra_support_hours_become_a_line_at_the_price_lists_hourly_rate(api, sessions):
    year = datetime.now(timezone.utc).year
    with sessions.begin() as s:  # the year's price list says 700 SEK an hour (not a placeholder in config)
        s.merge(ServicePriceRow(year=year, article="extra_support", unit="hour", unit_price=Decimal("700.00"),
                                description="rule EQ-13: extra support beyond the service fee"))
    number = "SR-EQ13-0001"
    created = await api.post("/service-requests", json={"number": number, "unit_id": "UL-VOF", "details": {
        "kind": "extra_support", "description": "Set up the unit's booking app on 12 iPads"}})
    assert created.status_code == 201, created.text
    await api.post(f"/service-requests/{number}/events", json={"action": {"event": "start_work", "assignee": "it.tech"}})
    no_time = await api.post(f"/service-requests/{number}/events", json={"action": {"event": "deliver"}})
    assert no_time.status_code == 409 and "EQ-13" in no_time.json()["detail"]  # charged per hour: minutes needed
    done = await api.post(f"/service-requests/{number}/events",
                          json={"action": {"event": "deliver", "minutes_worked": 80}})
    assert done.status_code == 200 and done.json()["state"] == "delivered"
    history = (await api.get(f"/service-requests/{number}/history")).json()
    assert {h["rule"] for h in history} == {"EQ-13"}

    with sessions() as s:
        charge = s.scalars(select(SupportCharge).where(SupportCharge.reference == number)).one()
    assert (charge.source, charge.unit_id, charge.minutes_charged) == ("extra_support", "UL-VOF", 90)
    assert (charge.hours, charge.hourly_rate, charge.amount) == (Decimal("1.50"), Decimal("700.00"),
                                                                Decimal("1050.00"))
    period = period_containing("month", charge.charged_on)  # the next run of Ulricehamn (BL-1: as it occurs)
    with sessions.begin() as s:
        summary = store_basis(s, UnitBasisRequest(run_id="billing-test", municipality="ulricehamn",
                                                  period=period.label, kind="regular", unit_id="UL-VOF"),
                              datetime.now(timezone.utc))
    with sessions() as s:
        [line] = s.scalars(select(InvoiceLineRow).where(InvoiceLineRow.basis_id == summary.basis_id,
                                                        InvoiceLineRow.kind == "extra_support")).all()
    assert (line.article, line.quantity, line.unit_price, line.amount) == (
        "hour:extra_support", Decimal("1.5000"), Decimal("700.00"), Decimal("1050.00"))
    assert line.text.startswith(f"Extra support (EQ-13) {number}, 80 min worked")
