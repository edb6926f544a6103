"""Billing rules (BL-1 … BL-6) as pure functions: the municipalities' periods, proration by active
days, the lines of one unit's invoice basis, the change section and the renewal/cost forecast.
No I/O: activities/billing.py feeds it rows and stores what it returns."""
from __future__ import annotations

import calendar
import re
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, Field

from domain.catalogue import add_months
from domain.common import SYSTEM_ACTOR
from domain.costing import money

QUANTITY = Decimal("0.0001")
ZERO = Decimal("0.00")
PeriodKind = Literal["month", "tertial", "year"]

# rule BL-2: Ulricehamn's units are debited every month, Tranemo is invoiced every tertial
PERIOD_KIND: dict[str, PeriodKind] = {"ulricehamn": "month", "tranemo": "tertial"}
RECURRING_KINDS = ("rent", "service_fee", "application")  # lines that say what the unit *has* (BL-4)


def as_decimal(value: Fraction, exp: Decimal = QUANTITY) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(exp, rounding=ROUND_HALF_UP)


# --- periods (BL-2, BL-3 and the interpretation: in arrears) ---------------------------------
class Period(BaseModel):
    """A billing period [start, end): a month (Ulricehamn), a tertial (Tranemo) or a year (central cost)."""

    kind: PeriodKind
    year: int
    index: int = Field(description="month 1-12, tertial 1-3, or 1 for a year")

    @property
    def start(self) -> date:
        if self.kind == "month":
            return date(self.year, self.index, 1)
        if self.kind == "tertial":
            return date(self.year, 4 * (self.index - 1) + 1, 1)
        return date(self.year, 1, 1)

    @property
    def end(self) -> date:
        """The first day after the period."""
        months = {"month": 1, "tertial": 4, "year": 12}[self.kind]
        return add_months(self.start, months)

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.year}-{self.index:02d}"
        if self.kind == "tertial":
            return f"{self.year}-T{self.index}"
        return f"{self.year}"

    def months(self) -> list[date]:
        first, out = self.start, []
        while first < self.end:
            out.append(first)
            first = add_months(first, 1)
        return out

    def previous(self) -> "Period":
        return period_containing(self.kind, self.start - timedelta(days=1))

    def next(self) -> "Period":
        return period_containing(self.kind, self.end)


def period_containing(kind: PeriodKind, day: date) -> Period:
    if kind == "month":
        return Period(kind=kind, year=day.year, index=day.month)
    if kind == "tertial":
        return Period(kind=kind, year=day.year, index=(day.month - 1) // 4 + 1)
    return Period(kind=kind, year=day.year, index=1)


PERIOD_LABEL = re.compile(r"^(?P<year>20\d\d)(?:-(?:T(?P<tertial>[1-3])|(?P<month>0[1-9]|1[0-2])))?$")


def parse_period(label: str) -> Period:
    """'2026-03' (month), '2026-T1' (tertial) or '2026' (year); ValueError names the field."""
    match = PERIOD_LABEL.match(label)
    if match is None:
        raise ValueError(f"period: {label!r} is not YYYY-MM, YYYY-T1..T3 or YYYY")
    year = int(match["year"])
    if match["tertial"]:
        return Period(kind="tertial", year=year, index=int(match["tertial"]))
    if match["month"]:
        return Period(kind="month", year=year, index=int(match["month"]))
    return Period(kind="year", year=year, index=1)


def period_kind(municipality: str) -> PeriodKind:
    return PERIOD_KIND[municipality]


def period_due(kind: PeriodKind, run_day: date) -> Period:
    """Rule BL-2 interpretation: a run charges in arrears the period that just ended
    (Ulricehamn's March run charges February; Tranemo's May run charges T1, January's T3 before)."""
    return period_containing(kind, run_day).previous()


def is_closed(period: Period, today: date) -> bool:
    return period.end <= today


# --- proration (EQ-6, EQ-8, BL-6) ------------------------------------------------------------
def exact_months(starts_on: date, ends_on: date | None, period: Period) -> str:
    """Issue 25: the months of active_months as written on a line, each month's days over its length
    ('3/30', '3/30 + 1'; a whole period is its number of months), so quantity × unit price = amount."""
    parts = []
    for first in period.months():
        last = add_months(first, 1)
        days = max(0, (min(last, ends_on or last) - max(first, starts_on)).days)
        length = calendar.monthrange(first.year, first.month)[1]
        if days:
            parts.append("1" if days == length else f"{days}/{length}")
    return str(len(parts)) if parts == ["1"] * len(period.months()) else " + ".join(parts)


def active_months(starts_on: date, ends_on: date | None, period: Period) -> Fraction:
    """Months (exact fraction) a charge period [starts_on, ends_on) covers inside `period`: each
    calendar month counts its active days over its own length, so a whole month is exactly 1 and
    February has 28 or 29 days. The move/return day belongs to the new cost bearer / nobody."""
    total = Fraction(0)
    for first in period.months():
        last = add_months(first, 1)
        lo, hi = max(first, starts_on), min(last, ends_on or last)
        if hi > lo:
            total += Fraction((hi - lo).days, calendar.monthrange(first.year, first.month)[1])
    return total


# --- inputs and lines ------------------------------------------------------------------------
class RecurringCharge(BaseModel):
    """A charge period of the register (db.models.Charge, recurring): a unit pays a device's
    monthly rent or service fee from starts_on up to (not including) ends_on."""

    charge_id: int
    order_number: str
    unit_id: str
    category: str
    model_code: str
    kind: Literal["rent", "service_fee"]
    monthly_amount: Decimal
    starts_on: date
    ends_on: date | None


class ChargedItem(BaseModel):
    """What a line of an invoice basis says: unit, article, text, quantity × unit price = amount."""

    key: str
    unit_id: str
    kind: str
    article: str
    text: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    order_number: str | None = None
    category: str | None = None
    quantity_exact: str | None = Field(None, description="the exact quantity ('1/12', '3/30 + 1'); quantity is it "
                                                         "rounded to 0.0001 (issue 25: the line reconciles)")


class OneOffItem(ChargedItem):
    """Rule BL-1: something charged once, as it occurs (purchase, accessory, installation,
    short-term rent, on-call or hourly work); it lands in the first run after it happened."""

    occurred_on: date


class ApplicationItem(BaseModel):
    """Rule AG-6: an agreement in force for the year, and its yearly cost for the unit."""

    unit_id: str
    agreement_id: str
    application: str
    yearly: Decimal


class Line(ChargedItem):
    adjusts_period: str | None = None


def rent_lines(charges: list[RecurringCharge], period: Period, prices: dict[str, Decimal] | None = None) -> list[Line]:
    """Rules EQ-4, EQ-6, EQ-8, BL-6: one line per charge period active in `period`, prorated by days.
    `prices` (model → monthly amount of the period's year) applies the year's price list (AG-5);
    without an entry, the amount booked at delivery stays."""
    lines = []
    for charge in charges:
        months = active_months(charge.starts_on, charge.ends_on, period)
        if months == 0:
            continue
        price = (prices or {}).get(f"{charge.kind}:{charge.model_code}", charge.monthly_amount)
        lines.append(Line.model_construct(  # every field computed here from validated inputs
            adjusts_period=None,
            key=f"{charge.kind}:{charge.charge_id}", unit_id=charge.unit_id, kind=charge.kind,
            article=f"{charge.kind}:{charge.category}",
            text=f"{'Rent' if charge.kind == 'rent' else 'Service fee'} {charge.model_code} {charge.order_number}"
                 f" {period.label}" + ("" if months == len(period.months()) else f" ({_days_text(charge, period)})"),
            quantity=as_decimal(months), unit_price=price, amount=money(price * Decimal(months.numerator)
                                                                        / Decimal(months.denominator)),
            order_number=charge.order_number, category=charge.category,
            quantity_exact=exact_months(charge.starts_on, charge.ends_on, period)))
    return lines


def _days_text(charge: RecurringCharge, period: Period) -> str:
    first = max(charge.starts_on, period.start)
    last = min(charge.ends_on or period.end, period.end) - timedelta(days=1)
    return f"{first.isoformat()}–{last.isoformat()}"


def one_off_lines(items: list[OneOffItem], period: Period) -> list[Line]:
    """Rule BL-1: every item not billed yet that happened before the period's end."""
    return [Line(key=i.key, unit_id=i.unit_id, kind=i.kind, article=i.article,
                 text=i.text + ("" if i.occurred_on >= period.start else f" (from {i.occurred_on.isoformat()})"),
                 quantity=i.quantity, unit_price=i.unit_price, amount=i.amount, order_number=i.order_number,
                 category=i.category)
            for i in items if i.occurred_on < period.end]


def application_lines(items: list[ApplicationItem], period: Period) -> list[Line]:
    """Rules AG-6, BL-2: the yearly cost of each agreement in force, its share of the year ('1/12', '4/12').
    Issue 25: each period is the share rounded once; the year's last period takes the remainder, so the
    periods of a year sum to the yearly amount to the öre."""
    months = len(period.months())
    share = Fraction(months, 12)
    last = period.end.month == 1  # the period ends with December

    def amount(yearly: Decimal) -> Decimal:
        each = money(yearly * share.numerator / share.denominator)
        return yearly - each * (12 // months - 1) if last else each

    return [Line(key=f"application:{i.agreement_id}", unit_id=i.unit_id, kind="application",
                 article=f"application:{i.agreement_id}", text=f"{i.application} ({i.agreement_id}) {period.label}",
                 quantity=as_decimal(share), unit_price=i.yearly, amount=amount(i.yearly),
                 quantity_exact=f"{months}/12") for i in items]


def adjustment_lines(billed: list[Line], recomputed: list[Line], period: Period) -> list[Line]:
    """A correction after `period` was billed becomes a delta line in the next run, never an edit
    of the sent basis: per key, what it should have been minus what was billed (incl. earlier deltas)."""
    was: dict[str, Decimal] = defaultdict(lambda: ZERO)
    was_qty: dict[str, Decimal] = defaultdict(lambda: Decimal(0))
    sample: dict[str, Line] = {}
    for line in billed:
        key = line.key.split("|", 1)[-1]
        was[key] += line.amount
        was_qty[key] += line.quantity
        sample.setdefault(key, line)
    now = {line.key: line for line in recomputed}
    out = []
    for key in sorted(set(was) | set(now)):
        delta = (now[key].amount if key in now else ZERO) - was[key]
        if delta == 0:
            continue
        ref = now.get(key) or sample[key]
        quantity = (now[key].quantity if key in now else Decimal(0)) - was_qty[key]
        out.append(Line(key=f"adjustment:{period.label}|{key}", unit_id=ref.unit_id, kind="adjustment",
                        article=ref.article, text=f"Correction of {period.label}: {ref.text}", quantity=quantity,
                        unit_price=ref.unit_price, amount=delta, order_number=ref.order_number,
                        category=ref.category, adjusts_period=period.label))
    return out


def total(lines: list[Line]) -> Decimal:
    """Exact: every amount is already whole öre."""
    return sum((line.amount for line in lines), ZERO)


# --- the change section (BL-4) ---------------------------------------------------------------
class ChangeItem(BaseModel):
    change: Literal["added", "removed", "moved_in", "moved_out", "price_changed"]
    kind: str
    reference: str = Field(description="order number of a device or id of an application agreement")
    article: str
    other_unit: str | None = None
    unit_price_before: Decimal | None = None
    unit_price_after: Decimal | None = None


class ChangeSection(BaseModel):
    """Rule BL-4: what changed since the unit's previous basis: equipment and functions added,
    removed, moved between units, and price changes."""

    previous_period: str | None
    items: list[ChangeItem]
    total_before: Decimal | None
    total_after: Decimal


Holding = tuple[str, str, Decimal]  # what a unit has on a basis: kind, article, unit price


def holdings(lines: list[Line]) -> dict[str, Holding]:
    """Recurring lines by device order number or agreement id (what BL-4 compares)."""
    return {line.order_number or line.key.removeprefix("application:"): (line.kind, line.article, line.unit_price)
            for line in lines if line.kind in RECURRING_KINDS}


def change_items(before: dict[str, Holding], after: dict[str, Holding], moved_from: dict[str, str],
                 moved_to: dict[str, str]) -> list[dict]:
    """Rule BL-4 as plain JSON-ready items (a first basis of a large unit lists thousands)."""
    def item(change: str, ref: str, held: Holding, other_unit: str | None = None,
             before_price: Decimal | None = None, after_price: Decimal | None = None) -> dict:
        return {"change": change, "kind": held[0], "reference": ref, "article": held[1], "other_unit": other_unit,
                "unit_price_before": None if before_price is None else str(before_price),
                "unit_price_after": None if after_price is None else str(after_price)}

    items = [item("moved_in" if ref in moved_from else "added", ref, after[ref], moved_from.get(ref))
             for ref in sorted(after.keys() - before.keys())]
    items += [item("moved_out" if ref in moved_to else "removed", ref, before[ref], moved_to.get(ref))
              for ref in sorted(before.keys() - after.keys())]
    items += [item("price_changed", ref, after[ref], None, before[ref][2], after[ref][2])
              for ref in sorted(before.keys() & after.keys()) if before[ref][2] != after[ref][2]]
    return items


def change_section_json(before: dict[str, Holding] | None, after: dict[str, Holding], previous_period: str | None,
                        total_before: Decimal | None, total_after: Decimal, moved_from: dict[str, str] | None = None,
                        moved_to: dict[str, str] | None = None) -> dict:
    """ChangeSection.model_dump(mode="json") without a model per item: what a basis stores."""
    return {"previous_period": previous_period,
            "items": change_items(before or {}, after, moved_from or {}, moved_to or {}),
            "total_before": None if total_before is None else str(total_before), "total_after": str(total_after)}


def change_section(previous: list[Line] | None, current: list[Line], previous_period: str | None,
                   moved_from: dict[str, str] | None = None, moved_to: dict[str, str] | None = None) -> ChangeSection:
    """Compare what the unit has now with what it had on the previous basis. `moved_from`/`moved_to`
    (order number → other unit) tell a move between units from a new or ended rental."""
    return ChangeSection.model_validate(change_section_json(
        holdings(previous or []), holdings(current), previous_period,
        None if previous is None else total(previous), total(current), moved_from, moved_to))


# --- workflow messages -----------------------------------------------------------------------
class BillingRunStart(BaseModel):
    """Start of a run: a closed period of one municipality, or (period None) the period due at the
    run's start — what the Schedules pass. kind 'central' bills the yearly central cost (BL-3)."""

    municipality: str
    period: str | None = None
    kind: Literal["regular", "central"] = "regular"
    requested_by: str = SYSTEM_ACTOR
    as_of: datetime | None = Field(None, description="the run's start (set by the workflow): which period is due")


class RunPlan(BaseModel):
    run_id: str
    municipality: str
    period: str
    kind: Literal["regular", "central"]
    units: list[str]


class UnitBasisRequest(BaseModel):
    run_id: str
    municipality: str
    period: str
    kind: Literal["regular", "central"]
    unit_id: str


class BasisSummary(BaseModel):
    unit_id: str
    basis_id: int | None
    lines: int
    total: Decimal
    created: bool = Field(description="False when the basis already existed (idempotent re-run)")


class RunResult(BaseModel):
    run_id: str
    municipality: str
    period: str
    bases: list[BasisSummary]
    total: Decimal


def billing_workflow_id(municipality: str, period: str, kind: str = "regular") -> str:
    return f"billing-{municipality}-{period}" + ("-central" if kind == "central" else "")


# --- forecast (EQ-5) -------------------------------------------------------------------------
class FleetDevice(BaseModel):
    order_number: str
    unit_id: str
    category: str
    model_code: str
    delivered_on: date
    renewal_months: int | None
    form_factor: str | None = None


class DueDevice(BaseModel):
    order_number: str
    unit_id: str
    category: str
    model_code: str
    due_on: date
    replacement_model: str | None
    replacement_cost: Decimal | None


class ForecastYear(BaseModel):
    year: int
    unit_id: str
    due: list[DueDevice]
    replacement_cost: Decimal
    rent: Decimal


class PriceBook(BaseModel):
    """Known price lists: (model, year) → monthly recurring amount and purchase price; a year
    without a list uses the latest earlier one (AG-5)."""

    monthly: dict[str, dict[int, Decimal]] = Field(default_factory=dict)
    purchase: dict[str, dict[int, Decimal]] = Field(default_factory=dict)

    @staticmethod
    def _at(table: dict[str, dict[int, Decimal]], model: str, year: int) -> Decimal | None:
        years = [y for y in table.get(model, {}) if y <= year]
        return table[model][max(years)] if years else None

    def monthly_at(self, model: str, year: int) -> Decimal | None:
        return self._at(self.monthly, model, year)

    def purchase_at(self, model: str, year: int) -> Decimal | None:
        return self._at(self.purchase, model, year)


def renewals_of(device: FleetDevice, until: date) -> list[date]:
    """Rule EQ-5: the renewal dates of a device and its successors up to `until`."""
    if not device.renewal_months:
        return []
    out, n = [], 1
    while (due := add_months(device.delivered_on, device.renewal_months * n)) <= until:
        out.append(due)
        n += 1
    return out


def replacement_cost(model: str | None, year: int, renewal_months: int, prices: PriceBook) -> Decimal | None:
    """What a replacement costs the unit: its purchase price, or for rented equipment its rent over
    one renewal period, at the price list of the due year (or the latest known)."""
    if model is None:
        return None
    purchase = prices.purchase_at(model, year)
    if purchase is not None:
        return purchase
    monthly = prices.monthly_at(model, year)
    return None if monthly is None else money(monthly * renewal_months)


def forecast(fleet: list[FleetDevice], years: list[int], replacements: dict[str, str],
             prices: PriceBook) -> list[ForecastYear]:
    """Per unit and year: the devices falling due (EQ-5), their replacements' cost and the rent
    (12 months per device; from the due month the replacement model's price)."""
    rows: dict[tuple[int, str], ForecastYear] = {}
    until = date(years[-1], 12, 31)
    for device in fleet:
        dues = renewals_of(device, until)
        # issue 25: what renew_now orders: the preferred model of the device's own form factor (EQ-5)
        successor = (replacements.get(f"{device.category}/{device.form_factor}")
                     or replacements.get(device.category, device.model_code))
        for year in years:
            row = rows.setdefault((year, device.unit_id), ForecastYear(
                year=year, unit_id=device.unit_id, due=[], replacement_cost=ZERO, rent=ZERO))
            for due in (d for d in dues if d.year == year):
                cost = replacement_cost(successor, year, device.renewal_months or 0, prices)
                row.due.append(DueDevice(order_number=device.order_number, unit_id=device.unit_id,
                                         category=device.category, model_code=device.model_code, due_on=due,
                                         replacement_model=successor, replacement_cost=cost))
                row.replacement_cost += cost or ZERO
            row.rent += _rent_in_year(device, year, dues, successor, prices)
    return sorted(rows.values(), key=lambda r: (r.year, r.unit_id))


def _rent_in_year(device: FleetDevice, year: int, dues: list[date], successor: str, prices: PriceBook) -> Decimal:
    first_due = min(dues) if dues else None
    total_rent = ZERO
    for month in range(1, 13):
        first = date(year, month, 1)
        if add_months(first, 1) <= device.delivered_on:
            continue
        model = successor if first_due is not None and first >= date(first_due.year, first_due.month, 1) \
            else device.model_code
        total_rent += prices.monthly_at(model, year) or ZERO
    return total_rent
