"""Tables of the billing process (rules BL-1 … BL-6): runs, invoice bases per unit with their lines
and change section, the service price list of the year and the central cost."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base, Money, UTCDateTime

Amount = Numeric(14, 2)


class ServicePriceRow(Base):
    """Rules TK-8, TK-12, EQ-13, AG-5: hourly rates of the year's price list (on-call, physical
    move, extra support). Replaces the 950/650 SEK placeholders in config (kept as fallbacks)."""

    __tablename__ = "service_prices"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    article: Mapped[str] = mapped_column(String(40), primary_key=True)
    unit: Mapped[str] = mapped_column(String(20))
    unit_price: Mapped[Decimal] = mapped_column(Money)
    description: Mapped[str | None] = mapped_column(String(200))


class CentralCostRow(Base):
    """Rule BL-3: a unit's share of the central cost of a year, invoiced once a year."""

    __tablename__ = "central_costs"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    text: Mapped[str] = mapped_column(String(200))


class BillingRunRow(Base):
    """One billing run (workflow) for a municipality and period."""

    __tablename__ = "billing_runs"
    run_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    municipality: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), index=True)
    period: Mapped[str] = mapped_column(String(12), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), index=True)  # collecting, stored, published
    requested_by: Mapped[str] = mapped_column(String(80))
    units: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[Decimal | None] = mapped_column(Amount)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class InvoiceBasisRow(Base):
    """Rule BL-5: one invoice basis per unit and period, never edited once stored."""

    __tablename__ = "invoice_bases"
    __table_args__ = (UniqueConstraint("municipality", "period", "unit_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    municipality: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), index=True)
    period: Mapped[str] = mapped_column(String(12), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    run_id: Mapped[str] = mapped_column(String(80), index=True)
    total: Mapped[Decimal] = mapped_column(Amount)
    changes: Mapped[dict] = mapped_column(JSON)  # rule BL-4: domain.billing.ChangeSection
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class InvoiceLineRow(Base):
    """A line of a basis; `key` says what it charges (charge period, one-off, agreement, correction)."""

    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("basis_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    basis_id: Mapped[int] = mapped_column(ForeignKey("invoice_bases.id"), index=True)
    key: Mapped[str] = mapped_column(String(120), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    article: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    unit_price: Mapped[Decimal] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)
    order_number: Mapped[str | None] = mapped_column(String(40), index=True)
    category: Mapped[str | None] = mapped_column(String(40))
    adjusts_period: Mapped[str | None] = mapped_column(String(12))
    # issue 25: the exact quantity ('1/12', '3/30 + 1'): quantity × unit price = amount, rounded once
    quantity_exact: Mapped[str | None] = mapped_column(String(60))


class LedgerMappingRow(Base):
    """Issue 25: where a charge kind (and category, '*' for any) goes in a municipality's ledger: the
    unit's cost account and IT's income account and cost centre (SIE 4I export; economy reads,
    it-admin changes, audited as a reference change). Defaults are Kommun-Bas-style (docs/billing-files.md)."""

    __tablename__ = "ledger_mappings"
    # no foreign key: the defaults are inserted by the migration, before the reference data exists
    municipality: Mapped[str] = mapped_column(String(40), primary_key=True)
    charge_kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    cost_account: Mapped[str] = mapped_column(String(10))
    income_account: Mapped[str] = mapped_column(String(10))
    income_cost_centre: Mapped[str] = mapped_column(String(40))
