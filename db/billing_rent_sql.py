"""Rent and service-fee lines computed set-based in SQL (rules EQ-6, EQ-8, BL-6), on SQLite and
PostgreSQL: one `INSERT … SELECT` per unit basis instead of a Python object per device.

Proration is exact integer arithmetic, the same as domain.billing.rent_lines: a charge covers
N/D months of the period, where D is the least common multiple of the period's month lengths and
N = Σ active days of month i × D / length of month i. A line is rounded once, half up, to whole öre:
amount (öre) = (2 × price (öre) × N + D) div (2 × D); the quantity likewise to 0.0001 month.
tests/billing/test_billing_rent_sql.py proves the SQL lines equal rent_lines' on the hand-computed cases."""
from __future__ import annotations

import calendar
from datetime import timedelta
from decimal import Decimal
from math import lcm

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from db.billing_models import InvoiceLineRow
from db.models import CatalogueModelRow, PriceRow
from domain.billing import RECURRING_KINDS, Line, Period
from domain.catalogue import Category, Charging, Price, monthly_recurring, rules_of

LINE_COLUMNS = ("key", "kind", "article", "text", "quantity", "unit_price", "amount", "order_number", "category",
                "quantity_exact")


def year_prices(s: Session, year: int) -> dict[tuple[str, str], Decimal]:
    """Rule AG-5: (kind, model) → the monthly recurring amount at the price list of `year` (or the
    latest earlier list); a model without one keeps the amount booked at delivery."""
    categories = dict(s.execute(select(CatalogueModelRow.code, CatalogueModelRow.category)).all())
    latest: dict[str, PriceRow] = {}
    for row in s.scalars(select(PriceRow).where(PriceRow.year <= year).order_by(PriceRow.year)):
        latest[row.model_code] = row
    out: dict[tuple[str, str], Decimal] = {}
    for model, row in latest.items():
        category = categories.get(model)
        if category is None:
            continue
        monthly = monthly_recurring(Category(category), Price.model_validate(row, from_attributes=True))
        if monthly is not None:
            kind = "service_fee" if rules_of(category).charging is Charging.PURCHASE_AND_SERVICE_FEE else "rent"
            out[(kind, model)] = monthly
    return out


def _ore(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def rent_select(dialect: str, period: Period, prices: dict[tuple[str, str], Decimal]) -> tuple[str, dict]:
    """SELECT of the rent lines of :unit_id in `period`, in charge order; the SQL and its parameters."""
    months = period.months()
    lengths = [calendar.monthrange(m.year, m.month)[1] for m in months]
    denominator = lcm(*lengths)
    params: dict = {"period_start": period.start, "period_end": period.end, "whole": len(months) * denominator,
                    "label": period.label}
    pg = dialect == "postgresql"
    greatest, least = ("GREATEST", "LEAST") if pg else ("max", "min")

    def days(lo: str, hi: str) -> str:
        return f"({hi} - {lo})" if pg else f"CAST(julianday({hi}) - julianday({lo}) AS INTEGER)"

    terms, month_days, parts = [], [], []
    for i, (first, length) in enumerate(zip(months, lengths)):
        params[f"s{i}"], params[f"e{i}"] = first, first + timedelta(days=length)
        lo, hi = f"{greatest}(c.starts_on, :s{i})", f"{least}(COALESCE(c.ends_on, :e{i}), :e{i})"
        terms.append(f"{greatest}(0, {days(lo, hi)}) * {denominator // length}")
        month_days.append(f"{greatest}(0, {days(lo, hi)}) AS d{i}")
        # issue 25: the exact quantity, month by month: '3/30', '3/30 + 1' (days over the month's days)
        parts.append(f"CASE WHEN r.d{i} = 0 THEN '' WHEN r.d{i} = {length} THEN ' + 1' "
                     f"ELSE ' + ' || CAST(r.d{i} AS TEXT) || '/{length}' END")
    price_cases = []
    for i, ((kind, model), amount) in enumerate(sorted(prices.items())):
        params[f"pk{i}"], params[f"pp{i}"] = f"{kind}:{model}", _ore(amount)
        price_cases.append(f"WHEN :pk{i} THEN :pp{i}")
    booked = "CAST(ROUND(c.amount * 100) AS BIGINT)"
    price = f"CASE c.kind || ':' || d.model_code {' '.join(price_cases)} ELSE {booked} END" if price_cases else booked
    first = f"{greatest}(r.starts_on, :period_start)"
    last_excl = f"{least}(COALESCE(r.ends_on, :period_end), :period_end)"
    last = f"({last_excl} - 1)" if pg else f"date({last_excl}, '-1 day')"
    # a materialized CTE: computed once per charge (a flattened subquery would repeat n and p per use)
    sql = f"""
WITH r AS MATERIALIZED (
      SELECT c.id, c.kind, c.order_number, c.starts_on, c.ends_on, d.model_code, d.category,
             {price} AS p, {' + '.join(terms)} AS n, {', '.join(month_days)}
      FROM charges c JOIN devices d ON d.order_number = c.order_number
      WHERE c.unit_id = :unit_id AND c.recurring = :recurring AND c.starts_on < :period_end
        AND (c.ends_on IS NULL OR c.ends_on > :period_start))
SELECT r.kind || ':' || CAST(r.id AS TEXT) AS key, r.kind AS kind, r.kind || ':' || r.category AS article,
       CASE WHEN r.kind = 'rent' THEN 'Rent ' ELSE 'Service fee ' END || r.model_code || ' ' || r.order_number
         || ' ' || :label || CASE WHEN r.n = :whole THEN ''
                               ELSE ' (' || CAST({first} AS TEXT) || '–' || CAST({last} AS TEXT) || ')' END AS text,
       (2 * 10000 * r.n + {denominator}) / (2 * {denominator}) / 10000.0 AS quantity,
       r.p / 100.0 AS unit_price,
       (2 * r.p * r.n + {denominator}) / (2 * {denominator}) / 100.0 AS amount,
       r.order_number AS order_number, r.category AS category,
       CASE WHEN r.n = :whole THEN '{len(months)}' ELSE SUBSTR({' || '.join(parts)}, 4) END AS quantity_exact
FROM r
WHERE r.n > 0
ORDER BY r.id"""
    params["recurring"] = True
    return sql, params


def rent_lines_sql(s: Session, unit_id: str, period: Period, prices: dict[tuple[str, str], Decimal]) -> list[Line]:
    """The rent lines of a unit for `period`, computed in SQL (for the corrections of BL-4)."""
    sql, params = rent_select(s.get_bind().dialect.name, period, prices)
    rows = s.execute(text(sql), {**params, "unit_id": unit_id}).all()
    return [Line.model_construct(unit_id=unit_id, adjusts_period=None, **_decimals(dict(zip(LINE_COLUMNS, r))))
            for r in rows]


def _decimals(row: dict) -> dict:
    row["quantity"] = Decimal(str(row["quantity"])).quantize(Decimal("0.0001"))
    row["unit_price"] = Decimal(str(row["unit_price"])).quantize(Decimal("0.01"))
    row["amount"] = Decimal(str(row["amount"])).quantize(Decimal("0.01"))
    return row


def insert_rent_lines(s: Session, basis_id: int, unit_id: str, period: Period,
                      prices: dict[tuple[str, str], Decimal]) -> int:
    """Store the unit's rent lines of `period` on basis `basis_id` with one INSERT … SELECT."""
    sql, params = rent_select(s.get_bind().dialect.name, period, prices)
    columns = ", ".join(LINE_COLUMNS)
    insert = f"INSERT INTO invoice_lines (basis_id, {columns}) SELECT :basis_id, {columns} FROM ({sql}) r"
    return s.execute(text(insert), {**params, "unit_id": unit_id, "basis_id": basis_id}).rowcount


def stored_lines(s: Session, basis_id: int, unit_id: str, recurring_only: bool = False) -> list[Line]:
    """A basis's lines as plain rows (no ORM identity map: a basis may hold thousands)."""
    t = InvoiceLineRow.__table__
    query = select(t.c.key, t.c.kind, t.c.article, t.c.text, t.c.quantity, t.c.unit_price, t.c.amount,
                   t.c.order_number, t.c.category, t.c.adjusts_period, t.c.quantity_exact).where(
        t.c.basis_id == basis_id)
    if recurring_only:
        query = query.where(t.c.kind.in_(RECURRING_KINDS))
    return [Line.model_construct(unit_id=unit_id, key=r[0], kind=r[1], article=r[2], text=r[3], quantity=r[4],
                                 unit_price=r[5], amount=r[6], order_number=r[7], category=r[8],
                                 adjusts_period=r[9], quantity_exact=r[10])
            for r in s.execute(query.order_by(t.c.id))]

