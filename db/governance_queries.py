"""Reads of the framework's change process (rules GV-1, GV-2), shared by its activities and the API: the
versions, the one in force on a date, the yearly revision a proposal would collide with, and the check of
an equipment price a version may decide."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.agreement_models import FrameworkVersionRow
from db.models import CatalogueModelRow
from domain.catalogue import Category, Price, check_price
from domain.framework_changes import FrameworkVersion, parameters_in_force


def checked_equipment_price(s: Session, price: Price) -> Price:
    """An equipment price a framework version may decide: a model in the assortment, with the price
    fields its charging model needs (rule EQ-4). Raises ValueError naming the field."""
    model = s.get(CatalogueModelRow, price.model_code)
    if model is None:
        raise ValueError(f"equipment_prices: no model {price.model_code!r} in the assortment (rule EQ-1)")
    try:
        check_price(Category(model.category), price)
    except ValueError as error:
        raise ValueError(f"equipment_prices: {price.model_code}: {error}") from error
    return price


def framework_versions(s: Session) -> list[FrameworkVersion]:
    rows = s.scalars(select(FrameworkVersionRow).order_by(FrameworkVersionRow.effective_from))
    return [FrameworkVersion.model_validate(row, from_attributes=True) for row in rows]


def yearly_revision_conflict(s: Session, proposal_id: str, effective_from: date, supersedes: str | None,
                             kind: str) -> FrameworkVersionRow | None:
    """Rule GV-1: one yearly revision per year. The decided yearly version of the same year that
    `proposal_id` would collide with, unless it names that version in `supersedes`."""
    if kind != "yearly":
        return None
    rows = s.scalars(select(FrameworkVersionRow).where(
        FrameworkVersionRow.kind == "yearly", FrameworkVersionRow.effective_from == effective_from,
        FrameworkVersionRow.id != proposal_id, FrameworkVersionRow.status != "superseded"))
    return next((row for row in rows if row.id != supersedes), None)


def framework_in_force(s: Session, on: date) -> FrameworkVersion:
    """The framework version (and its parameters) in force on `on` (rule GV-2)."""
    return parameters_in_force(framework_versions(s), on)
