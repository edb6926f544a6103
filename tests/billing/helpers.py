"""Billing test helpers: register rows as the equipment and ticket processes record them, and runs."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from db.billing_models import InvoiceBasisRow, InvoiceLineRow
from db.models import Charge, Device, Unit
from domain.billing import BillingRunStart, RunResult, billing_workflow_id
from workflows.billing import BillingRunWorkflow

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)


def add_device(s: Session, order: str, unit: str, model: str = "LAT-5450", category: str = "workstation",
               delivered: date | None = None, state: str = "in_use", renewal_months: int | None = 48) -> Device:
    municipality = s.get(Unit, unit).municipality
    device = Device(order_number=order, workflow_id=f"device-{order}", model_code=model, category=category,
                    agreement_ref="ADDA", municipality=municipality, unit_id=unit, cost_bearer_unit_id=unit,
                    state=state, ordered_at=AT, renewal_months=renewal_months, updated_at=AT,
                    delivered_at=datetime.combine(delivered, datetime.min.time(), timezone.utc) if delivered else None)
    s.add(device)
    s.flush()
    return device


def add_rental(s: Session, order: str, unit: str, starts: date, ends: date | None = None, amount: str = "420.00",
               model: str = "LAT-5450", category: str = "workstation", kind: str = "rent") -> Charge:
    """A device delivered on `starts` with its charge period, as equipment.change_cost_bearer books it."""
    if s.get(Device, order) is None:
        add_device(s, order, unit, model, category, starts)
    charge = Charge(order_number=order, unit_id=unit, kind=kind, amount=Decimal(amount), recurring=True,
                    starts_on=starts, ends_on=ends)
    s.add(charge)
    s.flush()
    return charge


def move(s: Session, order: str, to_unit: str, on: date) -> None:
    """Rule EQ-7: the open period ends on the move day, the new unit's starts on it."""
    open_period = s.scalars(select(Charge).where(Charge.order_number == order, Charge.ends_on.is_(None))).one()
    open_period.ends_on = on
    s.add(Charge(order_number=order, unit_id=to_unit, kind=open_period.kind, amount=open_period.amount,
                 recurring=True, starts_on=on))


async def bill(client: Client, task_queue: str, municipality: str, period: str, kind: str = "regular") -> RunResult:
    return await client.execute_workflow(
        BillingRunWorkflow.run, BillingRunStart(municipality=municipality, period=period, kind=kind),
        id=billing_workflow_id(municipality, period, kind), task_queue=task_queue)


def bases(sessions: sessionmaker[Session], period: str) -> dict[str, InvoiceBasisRow]:
    with sessions() as s:
        return {b.unit_id: b for b in s.scalars(select(InvoiceBasisRow).where(InvoiceBasisRow.period == period))}


def lines(sessions: sessionmaker[Session], basis_id: int) -> list[InvoiceLineRow]:
    with sessions() as s:
        return list(s.scalars(select(InvoiceLineRow).where(InvoiceLineRow.basis_id == basis_id)
                              .order_by(InvoiceLineRow.id)))
