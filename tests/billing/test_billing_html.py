"""The HTML invoice basis a unit manager reads (BL-4, BL-5): the unit, the period, what changed since the
previous basis, every line, and the totals in Swedish format (1 150,00 kr)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from api.routes.billing import BasisView, kronor, render_basis
from domain.billing import ChangeItem, ChangeSection, Line

D = Decimal


def test_bl5_swedish_money_format():
    assert kronor(D("1150")) == "1 150,00 kr"
    assert kronor(D("1234567.5")) == "1 234 567,50 kr"
    assert (kronor(D("0.51")), kronor(D("-12.30"))) == ("0,51 kr", "-12,30 kr")


def test_bl4_bl5_html_basis_has_unit_period_changes_lines_and_swedish_totals():
    lines = [Line(key="rent:1", unit_id="UL-KS", kind="rent", article="rent:workstation",
                  text="Rent LAT-5450 O-1 2026-03", quantity=D("1"), unit_price=D("420.00"), amount=D("420.00"),
                  order_number="O-1"),
             Line(key="rent:2", unit_id="UL-KS", kind="rent", article="rent:workstation",
                  text="Rent LAT-5450 O-2 2026-03 (2026-03-16–2026-03-31)", quantity=D("0.5161"),
                  unit_price=D("420.00"), amount=D("216.77"), order_number="O-2"),
             Line(key="support:1", unit_id="UL-KS", kind="extra_support", article="hour:extra_support",
                  text="Extra support (EQ-13) SR-1, 80 min worked", quantity=D("1.50"), unit_price=D("342.15"),
                  amount=D("513.23"))]
    changes = ChangeSection(previous_period="2026-02", total_before=D("840.00"), total_after=D("1150.00"), items=[
        ChangeItem(change="moved_in", kind="rent", reference="O-2", article="rent:workstation", other_unit="UL-BUF"),
        ChangeItem(change="removed", kind="rent", reference="O-9", article="rent:screen"),
        ChangeItem(change="price_changed", kind="rent", reference="O-1", article="rent:workstation",
                   unit_price_before=D("400.00"), unit_price_after=D("420.00"))])
    at = datetime(2026, 4, 1, tzinfo=timezone.utc)
    page = render_basis(BasisView(id=7, municipality="ulricehamn", period="2026-03", kind="regular", unit_id="UL-KS",
                                  unit_name="Kommunstyrelsen", run_id="billing-ulricehamn-2026-03",
                                  total=D("1150.00"), created_at=at, published_at=at, changes=changes, lines=lines))
    assert "Unit: UL-KS Kommunstyrelsen — Ulricehamn — period 2026-03-01 – 2026-03-31" in page
    assert "What changed since 2026-02 (BL-4)" in page
    assert "Moved in from UL-BUF — O-2" in page and "Removed  — O-9" in page
    assert "New price UL-KS" not in page and "400,00 kr → 420,00 kr" in page
    for line in lines:
        assert line.text in page
    assert "<td class=n>0,5161</td><td class=n>420,00 kr</td><td class=n>216,77 kr</td>" in page
    assert "<td class=n>1,5</td><td class=n>342,15 kr</td><td class=n>513,23 kr</td>" in page
    assert "Total 1 150,00 kr (previous basis 840,00 kr)" in page
    assert "<th colspan=4 class=n>Total</th><th class=n>1 150,00 kr</th>" in page
