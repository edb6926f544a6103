"""The read side of billing: what the run collects and what the API shows. Both the activities and
the routes use these; they turn rows into domain.billing inputs and back."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import BigInteger, cast, func, or_, select
from sqlalchemy.orm import Session

from db.agreement_queries import unit_application_charges  # the agreements process's own reading
from db.billing_rent_sql import stored_lines
from db.import_queries import spread_slot_pending  # issue 22
from db.billing_models import BillingRunRow, CentralCostRow, InvoiceBasisRow, InvoiceLineRow, ServicePriceRow
from db.models import CatalogueModelRow, Charge, Device, PriceRow, Unit
from db.ticket_models import SupportCharge
from domain.billing import (
    ApplicationItem,
    RECURRING_KINDS,
    FleetDevice,
    Holding,
    Line,
    OneOffItem,
    Period,
    PriceBook,
    RecurringCharge,
)
from domain.catalogue import (
    CatalogueModel,
    Category,
    Price,
    add_months,
    monthly_recurring,
    preferred_model,
)
from domain.equipment import ACTIVE_STATES

ONE_OFF_TEXT = {"purchase": "Purchase", "installation": "Installation", "short_term_rent": "Short-term rental"}
SUPPORT_TEXT = {"on_call": "On-call work (TK-8)", "physical_move": "Physical move (TK-12)",
                "extra_support": "Extra support (EQ-13)"}


def service_rate(s: Session, article: str, year: int) -> Decimal | None:
    """Rules TK-8, TK-12, AG-5: the hourly rate of the price list of `year`, or the latest earlier list."""
    return s.scalar(select(ServicePriceRow.unit_price).where(
        ServicePriceRow.article == article, ServicePriceRow.year <= year).order_by(ServicePriceRow.year.desc()))


def unit_ids(s: Session, municipality: str) -> list[str]:
    return list(s.scalars(select(Unit.id).where(Unit.municipality == municipality).order_by(Unit.id)))


def recurring_charges(s: Session, unit_id: str, period: Period) -> list[RecurringCharge]:
    """Charge periods of the unit that overlap `period` (rules EQ-6, EQ-8)."""
    # plain rows, trusted values: the run reads every rental of the unit, so no ORM identity map and
    # no re-validation (bench/billing_run.py)
    rows = s.execute(select(Charge.id, Charge.order_number, Charge.unit_id, Device.category, Device.model_code,
                            Charge.kind, Charge.amount, Charge.starts_on, Charge.ends_on).join(
        Device, Device.order_number == Charge.order_number).where(
        Charge.unit_id == unit_id, Charge.recurring.is_(True), Charge.starts_on < period.end,
        or_(Charge.ends_on.is_(None), Charge.ends_on > period.start)).order_by(Charge.id))
    return [RecurringCharge.model_construct(
        charge_id=r[0], order_number=r[1], unit_id=r[2], category=r[3], model_code=r[4], kind=r[5],
        monthly_amount=r[6], starts_on=r[7], ends_on=r[8]) for r in rows]


def billed_keys(s: Session, unit_id: str, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    return set(s.scalars(select(InvoiceLineRow.key).join(InvoiceBasisRow).where(
        InvoiceBasisRow.unit_id == unit_id, InvoiceLineRow.key.in_(keys))))


def one_off_items(s: Session, unit_id: str, period: Period) -> list[OneOffItem]:
    """Rule BL-1: one-off charges and hourly work of the unit not billed yet, up to the period's end."""
    items: list[OneOffItem] = []
    rows = s.execute(select(Charge, Device.model_code, Device.category).join(
        Device, Device.order_number == Charge.order_number).where(
        Charge.unit_id == unit_id, Charge.recurring.is_(False), Charge.starts_on < period.end))
    for c, model, category in rows:
        items.append(OneOffItem(
            key=f"charge:{c.id}", unit_id=unit_id, kind=c.kind, article=f"{c.kind}:{category}",
            text=f"{ONE_OFF_TEXT.get(c.kind, c.kind)} {model} {c.order_number}", quantity=Decimal(1),
            unit_price=c.amount, amount=c.amount, occurred_on=c.starts_on, order_number=c.order_number,
            category=category))
    for row in s.scalars(select(SupportCharge).where(SupportCharge.unit_id == unit_id,
                                                     SupportCharge.charged_on < period.end)):
        items.append(OneOffItem(
            key=f"support:{row.id}", unit_id=unit_id, kind=row.source, article=f"hour:{row.source}",
            text=f"{SUPPORT_TEXT.get(row.source, row.source)} {row.reference}, {row.minutes_worked} min worked",
            quantity=row.hours, unit_price=row.hourly_rate, amount=row.amount, occurred_on=row.charged_on))
    done = billed_keys(s, unit_id, [i.key for i in items])
    return sorted((i for i in items if i.key not in done), key=lambda i: (i.occurred_on, i.key))


def application_items(s: Session, unit_id: str, year: int) -> list[ApplicationItem]:
    """Rule AG-6: agreements in force for the year, their yearly cost (AG-3)."""
    charges = unit_application_charges(s, unit_id, year)
    return [ApplicationItem(unit_id=unit_id, agreement_id=c.agreement_id, application=c.application,
                            yearly=c.cost.total) for c in charges.charges]


def central_cost_items(s: Session, unit_id: str, year: int) -> list[Line]:
    """Rule BL-3: the unit's share of the year's central cost."""
    row = s.get(CentralCostRow, (year, unit_id))
    if row is None:
        return []
    # issue 25: a text that already names the year is not given it twice ("Central IT-kostnad 2025 2025")
    text = row.text if str(year) in row.text else f"{row.text} {year}"
    return [Line(key=f"central:{year}", unit_id=unit_id, kind="central_cost", article="central_cost",
                 text=text, quantity=Decimal(1), unit_price=row.amount, amount=row.amount)]


def line_of(row: InvoiceLineRow, unit_id: str) -> Line:
    return Line(key=row.key, unit_id=unit_id, kind=row.kind, article=row.article, text=row.text,
                quantity=row.quantity, unit_price=row.unit_price, amount=row.amount, order_number=row.order_number,
                category=row.category, adjusts_period=row.adjusts_period, quantity_exact=row.quantity_exact)


def basis_lines(s: Session, basis: InvoiceBasisRow) -> list[Line]:
    return stored_lines(s, basis.id, basis.unit_id)


def previous_basis(s: Session, unit_id: str, kind: str, period: Period) -> InvoiceBasisRow | None:
    """The unit's latest basis of the same kind before `period` (rule BL-4)."""
    return s.scalars(select(InvoiceBasisRow).where(
        InvoiceBasisRow.unit_id == unit_id, InvoiceBasisRow.kind == kind, InvoiceBasisRow.period < period.label)
        .order_by(InvoiceBasisRow.period.desc())).first()


def billed_for_period(s: Session, municipality: str, unit_id: str, period: Period) -> list[Line] | None:
    """What the unit was billed for `period` (its basis's recurring lines plus later corrections),
    or None when no run stored that period."""
    ran = s.scalar(select(BillingRunRow.run_id).where(
        BillingRunRow.municipality == municipality, BillingRunRow.period == period.label,
        BillingRunRow.kind == "regular", BillingRunRow.status.in_(("stored", "published"))))
    if ran is None:
        return None
    lines: list[Line] = []
    basis = s.scalars(select(InvoiceBasisRow).where(
        InvoiceBasisRow.municipality == municipality, InvoiceBasisRow.period == period.label,
        InvoiceBasisRow.unit_id == unit_id)).first()
    if basis is not None:
        lines += [line for line in basis_lines(s, basis) if line.kind in ("rent", "service_fee", "application")]
    rows = s.scalars(select(InvoiceLineRow).join(InvoiceBasisRow).where(
        InvoiceBasisRow.unit_id == unit_id, InvoiceLineRow.adjusts_period == period.label))
    lines += [line_of(row, unit_id) for row in rows]
    return lines


def other_units(s: Session, basis_id: int, unit_id: str, since: date, until: date) -> dict[str, str]:
    """Rule BL-4: for each device on basis `basis_id`, another unit that bore its cost between `since`
    and `until` (a move). The basis's devices are read in SQL: a first basis may list thousands."""
    on_basis = select(InvoiceLineRow.order_number).where(InvoiceLineRow.basis_id == basis_id,
                                                         InvoiceLineRow.order_number.is_not(None))
    rows = s.execute(select(Charge.order_number, Charge.unit_id).where(
        Charge.order_number.in_(on_basis), Charge.unit_id != unit_id, Charge.recurring.is_(True),
        Charge.starts_on < until, or_(Charge.ends_on.is_(None), Charge.ends_on >= since)).order_by(Charge.id))
    return {order: unit for order, unit in rows}


def basis_holdings(s: Session, basis_id: int) -> tuple[dict[str, Holding], Decimal]:
    """What a basis says the unit has (BL-4) and its exact total, without a Line per row."""
    t = InvoiceLineRow.__table__
    held = s.execute(select(t.c.order_number, t.c.key, t.c.kind, t.c.article, t.c.unit_price).where(
        t.c.basis_id == basis_id, t.c.kind.in_(RECURRING_KINDS)))
    holdings = {order or key.removeprefix("application:"): (kind, article, price)
                for order, key, kind, article, price in held}
    ore = s.scalar(select(func.sum(cast(func.round(t.c.amount * 100), BigInteger))).where(t.c.basis_id == basis_id))
    return holdings, (Decimal(ore or 0) / 100).quantize(Decimal("0.01"))


def basis_total(s: Session, basis_id: int) -> Decimal:
    """A basis's exact total by SQL SUM over whole öre (every amount is already rounded once)."""
    t = InvoiceLineRow.__table__
    ore = s.scalar(select(func.sum(cast(func.round(t.c.amount * 100), BigInteger))).where(t.c.basis_id == basis_id))
    return (Decimal(ore or 0) / 100).quantize(Decimal("0.01"))


def holds_anything(s: Session, basis_id: int) -> bool:
    """Whether a basis lists anything the unit has (BL-4: then a new basis must say it was removed)."""
    t = InvoiceLineRow.__table__
    return s.scalar(select(t.c.id).where(t.c.basis_id == basis_id, t.c.kind.in_(RECURRING_KINDS)).limit(1)) is not None


# --- forecast (EQ-5) -------------------------------------------------------------------------
def fleet(s: Session, municipality: str) -> list[FleetDevice]:
    rows = s.execute(select(Device, CatalogueModelRow.form_factor).outerjoin(
        CatalogueModelRow, CatalogueModelRow.code == Device.model_code).where(
        Device.municipality == municipality, Device.state.in_(ACTIVE_STATES),
        Device.delivered_at.is_not(None)).order_by(Device.order_number))
    return [FleetDevice(order_number=d.order_number, unit_id=d.cost_bearer_unit_id or d.unit_id, category=d.category,
                        model_code=d.model_code, delivered_on=d.delivered_at.date(), renewal_months=d.renewal_months,
                        form_factor=form_factor) for d, form_factor in rows]


def price_book(s: Session) -> PriceBook:
    book = PriceBook()
    categories = dict(s.execute(select(CatalogueModelRow.code, CatalogueModelRow.category)).all())
    for row in s.scalars(select(PriceRow)):
        price = Price.model_validate(row, from_attributes=True)
        category = Category(categories[row.model_code])
        monthly = monthly_recurring(category, price)
        if monthly is not None:
            book.monthly.setdefault(row.model_code, {})[row.year] = monthly
        if price.purchase_price is not None:
            book.purchase.setdefault(row.model_code, {})[row.year] = price.purchase_price
    return book


def replacement_models(s: Session, year: int) -> dict[str, str]:
    """Rules EQ-2, EQ-5: the model a replacement is ordered as (preferred, priced), per category and per
    category + form factor ('workstation/laptop'): what renew_now orders (issue 25), a laptop stays a laptop."""
    priced = set(s.scalars(select(PriceRow.model_code).where(PriceRow.year <= year)))
    by_category: dict[str, list[CatalogueModel]] = {}
    for row in s.scalars(select(CatalogueModelRow).where(CatalogueModelRow.active.is_(True))):
        if row.code in priced:
            by_category.setdefault(row.category, []).append(CatalogueModel.model_validate(row, from_attributes=True))
    out = {}
    for category, models in by_category.items():
        for form_factor in {None} | {m.form_factor for m in models if m.form_factor is not None}:
            if (chosen := preferred_model(models, form_factor)) is not None:
                out[category if form_factor is None else f"{category}/{form_factor}"] = chosen.code
    return out


def due_for_renewal(s: Session, today: date, lead_days: int) -> list[tuple[str, str]]:
    """Rule EQ-5 safety net: devices in use whose renewal date (less the lead time) has passed and
    that have no replacement ordered: (order number, workflow id)."""
    rows = s.execute(select(Device.order_number, Device.workflow_id, Device.delivered_at, Device.renewal_months)
                     .where(Device.state == "in_use", Device.renewal_months.is_not(None),
                            Device.delivered_at.is_not(None), Device.replaced_by.is_(None),
                            Device.category != Category.SHORT_TERM_LAPTOP.value,
                            Device.order_number.not_in(spread_slot_pending(today))))  # issue 22: spread wave
    return [(order, workflow_id) for order, workflow_id, delivered, months in rows
            if add_months(delivered.date(), months) - timedelta(days=lead_days) <= today]

