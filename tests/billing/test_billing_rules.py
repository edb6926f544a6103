"""Pure billing rules on hand-computed cases (BL-1 … BL-6, EQ-4, EQ-6, EQ-8, AG-6)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.billing import (
    ApplicationItem,
    FleetDevice,
    OneOffItem,
    PriceBook,
    RecurringCharge,
    active_months,
    adjustment_lines,
    application_lines,
    change_section,
    forecast,
    one_off_lines,
    parse_period,
    period_due,
    rent_lines,
    total,
)

D = Decimal


def rent(charge_id: int, unit: str, monthly: str, starts: date, ends: date | None = None, order: str = "ORD-1",
         model: str = "LAT-5450", kind: str = "rent", category: str = "workstation") -> RecurringCharge:
    return RecurringCharge(charge_id=charge_id, order_number=order, unit_id=unit, category=category, model_code=model,
                           kind=kind, monthly_amount=D(monthly), starts_on=starts, ends_on=ends)


# --- periods (BL-2, BL-3) ----------------------------------------------------------------------
def test_bl2_ulricehamn_monthly_and_tranemo_tertial_in_arrears():
    assert period_due("month", date(2026, 3, 1)).label == "2026-02"
    assert period_due("month", date(2026, 1, 1)).label == "2025-12"
    # January charges T3 of the year before, May charges T1, September charges T2
    assert period_due("tertial", date(2026, 1, 1)).label == "2025-T3"
    assert period_due("tertial", date(2026, 5, 1)).label == "2026-T1"
    assert period_due("tertial", date(2026, 9, 1)).label == "2026-T2"
    t2 = parse_period("2026-T2")
    assert (t2.start, t2.end) == (date(2026, 5, 1), date(2026, 9, 1))
    assert parse_period("2026-12").end == date(2027, 1, 1)


def test_bl3_central_cost_period_is_the_year_before():
    period = period_due("year", date(2027, 1, 15))
    assert (period.label, period.start, period.end) == ("2026", date(2026, 1, 1), date(2027, 1, 1))


@pytest.mark.parametrize("label", ["2026-13", "2026-T4", "26-01", "2026-X"])
def test_bl2_period_label_is_refused_naming_the_field(label):
    with pytest.raises(ValueError, match="period"):
        parse_period(label)


# --- proration (EQ-6, BL-6) ----------------------------------------------------------------------
def test_bl6_rent_from_delivery_day_to_month_end():
    # delivered 10 March: days 10..31 = 22 of 31; 420 × 22/31 = 298.0645… → 298.06
    [line] = rent_lines([rent(1, "UL-KS", "420.00", date(2026, 3, 10))], parse_period("2026-03"))
    assert (line.quantity, line.unit_price, line.amount) == (D("0.7097"), D("420.00"), D("298.06"))


def test_bl6_nothing_before_delivery_or_after_return():
    period = parse_period("2026-03")
    assert rent_lines([rent(1, "UL-KS", "420.00", date(2026, 4, 1))], period) == []
    assert rent_lines([rent(1, "UL-KS", "420.00", date(2026, 1, 5), date(2026, 3, 1))], period) == []
    # returned on 11 March: days 1..10 are charged, the return day is not → 420 × 10/31 = 135.48
    [line] = rent_lines([rent(1, "UL-KS", "420.00", date(2026, 1, 5), date(2026, 3, 11))], period)
    assert line.amount == D("135.48")


def test_bl6_tertial_prorates_each_month_over_its_own_length():
    # T1 2026, delivered 15 Feb: Feb 14/28 + March + April = 2.5 months × 360 = 900.00
    [line] = rent_lines([rent(1, "TR-KS", "360.00", date(2026, 2, 15))], parse_period("2026-T1"))
    assert (line.quantity, line.amount) == (D("2.5000"), D("900.00"))


def test_bl6_leap_year_february_has_29_days():
    assert active_months(date(2028, 2, 15), None, parse_period("2028-02")) * 29 == 15
    [leap] = rent_lines([rent(1, "UL-KS", "420.00", date(2028, 2, 15))], parse_period("2028-02"))
    [common] = rent_lines([rent(1, "UL-KS", "420.00", date(2026, 2, 15))], parse_period("2026-02"))
    assert (leap.amount, common.amount) == (D("217.24"), D("210.00"))  # 420×15/29, 420×14/28


def test_bl6_eq7_device_moved_mid_month_is_split_and_adds_up():
    # moved on 16 March: UL-KS pays 1..15 (15/31), UL-BUF pays 16..31 (16/31)
    charges = [rent(1, "UL-KS", "420.00", date(2026, 1, 1), date(2026, 3, 16)),
               rent(2, "UL-BUF", "420.00", date(2026, 3, 16))]
    old, new = rent_lines(charges, parse_period("2026-03"))
    assert (old.unit_id, old.amount, new.unit_id, new.amount) == ("UL-KS", D("203.23"), "UL-BUF", D("216.77"))
    assert old.amount + new.amount == D("420.00")


def test_bl6_eq8_notice_then_reassignment_old_unit_pays_until_the_day_of_reassignment():
    # notice in May does not end the charge period (EQ-8); reassigned on 11 June to TR-SOC.
    # T2 2026 at 310: TR-KS May + June 1..10 = 1 1/3 months = 413.33; TR-SOC June 11..30 + Jul + Aug = 826.67
    charges = [rent(1, "TR-KS", "310.00", date(2025, 9, 1), date(2026, 6, 11), category="teacher_computer"),
               rent(2, "TR-SOC", "310.00", date(2026, 6, 11), category="teacher_computer")]
    old, new = rent_lines(charges, parse_period("2026-T2"))
    assert (old.quantity, old.amount) == (D("1.3333"), D("413.33"))
    assert (new.quantity, new.amount) == (D("2.6667"), D("826.67"))
    assert total([old, new]) == D("1240.00")


def test_bl6_year_price_list_applies_to_the_billed_year():
    # booked at 420 in 2026; the 2027 list says 440 (AG-5)
    [line] = rent_lines([rent(1, "UL-KS", "420.00", date(2026, 3, 1))], parse_period("2027-01"),
                        {"rent:LAT-5450": D("440.00")})
    assert line.amount == D("440.00")


def test_bl6_money_is_rounded_once_per_line_and_totals_add_up_exactly():
    # three devices delivered 10 March: each 298.0645… → 298.06; the total is the sum of the lines
    lines = rent_lines([rent(i, "UL-KS", "420.00", date(2026, 3, 10), order=f"O{i}") for i in range(3)],
                       parse_period("2026-03"))
    assert total(lines) == D("894.18")  # not round(3 × 298.0645…) = 894.19


# --- one-offs (BL-1, EQ-4) ---------------------------------------------------------------------
def test_bl1_one_offs_land_in_the_next_run_even_when_late():
    period = parse_period("2026-03")
    items = [OneOffItem(key="charge:1", unit_id="UL-KS", kind="purchase", article="purchase:mobile_phone",
                        text="Purchase IPHONE-15", quantity=D(1), unit_price=D("8995.00"), amount=D("8995.00"),
                        occurred_on=date(2026, 3, 3)),
             OneOffItem(key="support:7", unit_id="UL-KS", kind="on_call", article="hour:on_call", text="On-call",
                        quantity=D("1.50"), unit_price=D("950.00"), amount=D("1425.00"), occurred_on=date(2026, 2, 27)),
             OneOffItem(key="charge:2", unit_id="UL-KS", kind="installation", article="installation:access_point",
                        text="Installation", quantity=D(1), unit_price=D("1450.00"), amount=D("1450.00"),
                        occurred_on=date(2026, 4, 1))]
    lines = one_off_lines(items, period)
    assert [line.key for line in lines] == ["charge:1", "support:7"]  # April's waits for April's run
    assert lines[1].text.endswith("(from 2026-02-27)")


# --- applications (AG-6) -----------------------------------------------------------------------
def test_bl6_ag6_applications_share_of_the_year_per_period():
    item = ApplicationItem(unit_id="TR-KS", agreement_id="APP-X", application="Treserva", yearly=D("10000.00"))
    [tertial] = application_lines([item], parse_period("2026-T1"))
    [month] = application_lines([item], parse_period("2026-01"))
    assert (tertial.amount, month.amount) == (D("3333.33"), D("833.33"))


# --- corrections -----------------------------------------------------------------------------
def test_bl4_correction_after_billing_is_an_adjustment_line_not_an_edit():
    march = parse_period("2026-03")
    billed = rent_lines([rent(1, "UL-KS", "420.00", date(2026, 3, 1))], march)
    # later it turned out the device was returned on 11 March
    corrected = rent_lines([rent(1, "UL-KS", "420.00", date(2026, 3, 1), date(2026, 3, 11))], march)
    [adjustment] = adjustment_lines(billed, corrected, march)
    assert (adjustment.key, adjustment.amount, adjustment.adjusts_period) == (
        "adjustment:2026-03|rent:1", D("-284.52"), "2026-03")  # 135.48 − 420.00
    assert adjustment_lines(billed + [adjustment], corrected, march) == []  # corrected once only


# --- the change section (BL-4) -----------------------------------------------------------------
def test_bl4_change_section_lists_added_removed_moved_and_price_changes():
    feb, mar = parse_period("2026-02"), parse_period("2026-03")
    before = rent_lines([rent(1, "UL-KS", "420.00", date(2026, 1, 1), order="KEEP"),
                         rent(2, "UL-KS", "360.00", date(2026, 1, 1), order="GONE", model="OPT-7020"),
                         rent(3, "UL-KS", "45.00", date(2026, 1, 1), order="MOVED", model="P2425")], feb)
    before += application_lines([ApplicationItem(unit_id="UL-KS", agreement_id="APP-OLD", application="Old",
                                                 yearly=D("1200.00"))], feb)
    now = rent_lines([rent(1, "UL-KS", "420.00", date(2026, 1, 1), order="KEEP"),
                      rent(4, "UL-KS", "150.00", date(2026, 3, 5), order="NEW", model="IPAD-10"),
                      rent(5, "UL-KS", "120.00", date(2026, 3, 2), order="FROM-BUF", model="CB-314")], mar,
                     {"rent:LAT-5450": D("440.00")})
    section = change_section(before, now, "2026-02", moved_from={"FROM-BUF": "UL-BUF"}, moved_to={"MOVED": "UL-SBF"})
    got = {(i.change, i.reference, i.other_unit) for i in section.items}
    assert got == {("added", "NEW", None), ("moved_in", "FROM-BUF", "UL-BUF"), ("removed", "GONE", None),
                   ("moved_out", "MOVED", "UL-SBF"), ("removed", "APP-OLD", None), ("price_changed", "KEEP", None)}
    price = next(i for i in section.items if i.change == "price_changed")
    assert (price.unit_price_before, price.unit_price_after) == (D("420.00"), D("440.00"))
    assert section.total_before == total(before) and section.total_after == total(now)


def test_bl4_first_basis_has_everything_added_and_no_previous_total():
    now = rent_lines([rent(1, "UL-KS", "420.00", date(2026, 3, 1))], parse_period("2026-03"))
    section = change_section(None, now, None)
    assert [(i.change, i.reference) for i in section.items] == [("added", "ORD-1")]
    assert section.total_before is None


# --- forecast (EQ-5) ---------------------------------------------------------------------------
def test_eq5_forecast_on_a_fixture_fleet_computed_by_hand():
    prices = PriceBook(monthly={"LAT-5450": {2026: D("420.00"), 2028: D("450.00")}, "IPAD-10": {2026: D("150.00")},
                                "IPHONE-15": {2026: D("95.00")}},
                       purchase={"IPHONE-15": {2026: D("8995.00")}})
    fleet = [
        # due 2028-03-15 (48 months): replaced by LAT-5450 at the 2028 list
        FleetDevice(order_number="W1", unit_id="UL-KS", category="workstation", model_code="LAT-5450",
                    delivered_on=date(2024, 3, 15), renewal_months=48),
        # tablets have no renewal period configured: never due (EQ-5 interpretation)
        FleetDevice(order_number="T1", unit_id="UL-KS", category="tablet", model_code="IPAD-10",
                    delivered_on=date(2025, 6, 1), renewal_months=None),
        # a phone renewed every 24 months: due 2027-07-01 and 2029-07-01
        FleetDevice(order_number="P1", unit_id="UL-BUF", category="mobile_phone", model_code="IPHONE-15",
                    delivered_on=date(2025, 7, 1), renewal_months=24),
    ]
    rows = {(r.year, r.unit_id): r for r in forecast(fleet, [2026, 2027, 2028, 2029],
                                                     {"workstation": "LAT-5450", "mobile_phone": "IPHONE-15"}, prices)}
    ks2028 = rows[(2028, "UL-KS")]
    assert [(d.order_number, d.due_on) for d in ks2028.due] == [("W1", date(2028, 3, 15))]
    assert ks2028.replacement_cost == D("21600.00")  # 450 × 48 months at the 2028 list
    assert ks2028.rent == D("5400.00") + D("1800.00")  # W1 12 × 450, T1 12 × 150
    assert rows[(2026, "UL-KS")].rent == D("5040.00") + D("1800.00") and rows[(2026, "UL-KS")].due == []
    assert rows[(2027, "UL-BUF")].replacement_cost == D("8995.00")  # a phone's purchase price
    assert [d.due_on for d in rows[(2029, "UL-BUF")].due] == [date(2029, 7, 1)]
    assert rows[(2029, "UL-BUF")].rent == D("1140.00")  # 12 × 95
