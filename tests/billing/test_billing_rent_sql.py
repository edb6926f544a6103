"""Rent lines computed set-based in SQL (db/billing_rent_sql.py) equal domain.billing.rent_lines on the
hand-computed proration cases and on a random fleet, on SQLite and PostgreSQL: the same keys, texts,
quantities and amounts rounded once, half up, to whole öre (rules EQ-6, EQ-8, BL-6)."""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from db import billing_queries as q
from db.billing_rent_sql import rent_lines_sql, year_prices
from domain.billing import parse_period, rent_lines
from tests.billing.helpers import add_rental, move
from tests.db_backends import backend_sessions, backend_url  # noqa: F401  (fixtures)

D = Decimal
HAND_COMPUTED = [  # (unit, period, amounts of rent_lines on the unit) from tests/billing/test_billing_rules.py
    ("UL-KS", "2026-03", [D("298.06"), D("135.48"), D("203.23")]),
    ("UL-BUF", "2026-03", [D("216.77")]),
    ("TR-KS", "2026-T1", [D("900.00"), D("1240.00")]),  # H-8 before its move: 4 × 310
    ("UL-SBF", "2028-02", [D("217.24")]),
    ("UL-IT", "2026-02", [D("210.00")]),
    ("TR-KS", "2026-T2", [D("1440.00"), D("413.33")]),  # H-5 the whole tertial: 4 × 360
    ("TR-SOC", "2026-T2", [D("826.67")]),
    ("UL-VOF", "2026-06", [D("0.51")]),  # 1.01 × 15/30 = 0.505: half up, not to even
]


def fixture_fleet(s) -> None:
    add_rental(s, "H-1", "UL-KS", date(2026, 3, 10))  # 420 × 22/31 = 298.06
    add_rental(s, "H-2", "UL-KS", date(2026, 1, 5), date(2026, 3, 11))  # returned 11 March: 135.48
    add_rental(s, "H-3", "UL-KS", date(2026, 4, 1))  # not yet delivered in March: nothing
    add_rental(s, "H-4", "UL-KS", date(2026, 1, 1))
    move(s, "H-4", "UL-BUF", date(2026, 3, 16))  # split 203.23 + 216.77 = 420.00
    add_rental(s, "H-5", "TR-KS", date(2026, 2, 15), amount="360.00", model="OPT-7020")  # T1: 2.5 × 360
    add_rental(s, "H-6", "UL-SBF", date(2028, 2, 15))  # leap February: 420 × 15/29 = 217.24
    add_rental(s, "H-7", "UL-IT", date(2026, 2, 15))  # 420 × 14/28 = 210.00
    add_rental(s, "H-8", "TR-KS", date(2025, 9, 1), amount="310.00", model="TP-E14", category="teacher_computer")
    move(s, "H-8", "TR-SOC", date(2026, 6, 11))  # notice, then reassignment (EQ-8): 413.33 + 826.67
    add_rental(s, "H-9", "UL-VOF", date(2026, 6, 16), amount="1.01", model="P2425", category="screen")


def test_bl6_sql_rent_lines_equal_the_hand_computed_proration(backend_sessions):
    with backend_sessions.begin() as s:
        fixture_fleet(s)
    with backend_sessions() as s:
        for unit, label, amounts in HAND_COMPUTED:
            period = parse_period(label)
            in_sql = rent_lines_sql(s, unit, period, {})
            assert sorted(line.amount for line in in_sql) == sorted(amounts), (unit, label)
            assert in_sql == rent_lines(q.recurring_charges(s, unit, period), period), (unit, label)


def test_bl6_sql_rent_lines_equal_python_on_a_random_fleet_and_the_year_price_list(backend_sessions):
    rng = random.Random(6)
    units = ["UL-KS", "UL-BUF", "TR-KS", "TR-SOC"]
    with backend_sessions.begin() as s:
        for i in range(300):
            starts = date(2025, 10, 1) + timedelta(days=rng.randrange(500))
            ends = starts + timedelta(days=rng.randrange(1, 200)) if i % 3 == 0 else None
            add_rental(s, f"R-{i}", units[i % 4], starts, ends, amount=f"{rng.randrange(100, 99999) / 100:.2f}")
    with backend_sessions() as s:
        for label in ("2026-02", "2026-03", "2026-T1", "2026-T2", "2026-T3", "2027-01"):
            period = parse_period(label)
            prices = year_prices(s, period.year)
            assert ("rent", "LAT-5450") in prices  # the seeded list's price applies, not the booked amount
            for unit in units:
                charges = q.recurring_charges(s, unit, period)
                expected = rent_lines(charges, period, {f"{k}:{m}": p for (k, m), p in prices.items()})
                assert rent_lines_sql(s, unit, period, prices) == expected, (unit, label)
