"""Reads of the equipment process (rules EQ-1 … EQ-5, AG-5), shared by its activities and the API: the
catalogue's terms for an order, the price in force, the devices whose renewal timer a new period re-arms."""
from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Awaitable, Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import CatalogueModelRow, Device, PriceRow, RenewalPolicy, Unit
from domain.catalogue import Category, OrderTerms, Price, rules_of
from domain.equipment import DeviceOrder
from domain.renewals import REARMABLE_STATES

# Updates in flight at once when a period changes for a whole fleet (bench/renewal_wave.py, issue 15).
REARM_CONCURRENCY = 32


class InvalidOrder(ValueError):
    """An order the catalogue, the price list or the unit register refuses (422 in the API)."""


def price_for(s: Session, model_code: str, year: int) -> PriceRow | None:
    """The price list of `year`, or the latest earlier one until the new list is decided (rule AG-5)."""
    return s.scalars(
        select(PriceRow).where(PriceRow.model_code == model_code, PriceRow.year <= year).order_by(PriceRow.year.desc())
    ).first()


def resolve_terms(s: Session, order: DeviceOrder, on: datetime) -> OrderTerms:
    """The catalogue's terms for an order; raises InvalidOrder naming the field (rules EQ-1 … EQ-5)."""
    model = s.get(CatalogueModelRow, order.model_code)
    if model is None or not model.active:
        raise InvalidOrder(f"model_code: {order.model_code!r} is not in IT's assortment (rule EQ-1)")
    unit = s.get(Unit, order.unit_id)
    if unit is None:
        raise InvalidOrder(f"unit_id: unknown unit {order.unit_id!r}")
    category = Category(model.category)
    if (order.rental_weeks is not None) != (category is Category.SHORT_TERM_LAPTOP):
        raise InvalidOrder("rental_weeks: required for short-term laptops and only for them (rule EQ-4)")
    price = price_for(s, model.code, on.year)
    if price is None:
        raise InvalidOrder(f"model_code: {model.code!r} has no price for {on.year} (rule EQ-4)")
    if order.replaces is not None and s.get(Device, order.replaces) is None:
        raise InvalidOrder(f"replaces: no device with order number {order.replaces!r}")
    policy = s.get(RenewalPolicy, (category.value, unit.municipality))
    renewal = policy.renewal_months if policy else rules_of(category).default_renewal_months
    return OrderTerms(
        category=category,
        model_name=model.name,
        agreement_ref=model.agreement_ref,
        municipality=unit.municipality,
        price=Price.model_validate(price, from_attributes=True),
        renewal_months=renewal,
        original_os=model.original_os,
    )


def rearmable_devices(s: Session, category: str, municipality: str) -> list[tuple[str, str]]:
    """(order number, workflow id) of every running device of `category` in `municipality` (rule EQ-5: its
    timer is re-armed). Not filtered by the register's period: the register can be ahead of a workflow whose
    task was lost after its local steps wrote the mirror (issue 15, under overload), and a device already on
    the new period takes the change as a no-op, so a repeated change converges."""
    return [(row.order_number, row.workflow_id) for row in s.execute(
        select(Device.order_number, Device.workflow_id).where(
            Device.category == category, Device.municipality == municipality, Device.state.in_(REARMABLE_STATES))
        .order_by(Device.order_number))]  # a stable order: a retried re-arm resumes after its last chunk


def renewal_months_now(s: Session, category: str, municipality: str) -> int | None:
    """The renewal period in force for the category in the municipality (None: no automatic renewal)."""
    policy = s.get(RenewalPolicy, (category, municipality))
    return policy.renewal_months if policy is not None else None


def rearm_progress(s: Session, category: str, municipality: str) -> tuple[int, int]:
    """(running devices of the category in the municipality, those whose register shows the period in force)."""
    months = renewal_months_now(s, category, municipality)
    running = select(func.count()).select_from(Device).where(
        Device.category == category, Device.municipality == municipality, Device.state.in_(REARMABLE_STATES))
    on_policy = running.where(Device.renewal_months.is_(None) if months is None else Device.renewal_months == months)
    return s.scalar(running) or 0, s.scalar(on_policy) or 0


async def rearm_each(devices: list[tuple[str, str]], send: Callable[[str, str], Awaitable[bool]]) -> list[str]:
    """Rule EQ-5: `send(order_number, workflow_id)` to every device, REARM_CONCURRENCY at a time (one after
    another, 2,000 devices took minutes: issue 15); the order numbers for which it returned True."""
    gate = asyncio.Semaphore(REARM_CONCURRENCY)

    async def one(order_number: str, workflow_id: str) -> str | None:
        async with gate:
            return order_number if await send(order_number, workflow_id) else None

    return [n for n in await asyncio.gather(*(one(*device) for device in devices)) if n is not None]
