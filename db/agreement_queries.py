"""Reads of the agreement processes (rules AG-3 … AG-6), shared by their activities and the API: the
application price list in force, an agreement's versions, what a unit pays for applications."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.agreement_models import (
    AgreementCostLineRow,
    AgreementRow,
    AgreementVersionRow,
    ApplicationPriceRow,
    GovernanceProcessRow,
)
from domain.agreements import AgreementContent, AgreementVersion, unit_charges, UnitApplicationCharges
from domain.costing import CostBreakdown, CostComponent, PriceItem, PriceList


def price_list_for(s: Session, year: int) -> PriceList:
    """Rule AG-5: per item, the price of `year` or the latest earlier one until the new list is decided."""
    rows = s.scalars(select(ApplicationPriceRow).where(ApplicationPriceRow.year <= year)
                     .order_by(ApplicationPriceRow.year))
    items = {row.item: PriceItem(item=row.item, component=row.component, unit=row.unit, unit_price=row.unit_price,
                                 year=row.year, description=row.description) for row in rows}
    return PriceList(year=year, items=items)


def versions_of(s: Session, agreement_id: str) -> list[AgreementVersion]:
    rows = s.scalars(select(AgreementVersionRow).where(AgreementVersionRow.agreement_id == agreement_id)
                     .order_by(AgreementVersionRow.version))
    return [version_from_row(s, row) for row in rows]


def version_from_row(s: Session, row: AgreementVersionRow) -> AgreementVersion:
    lines = s.scalars(select(AgreementCostLineRow).where(
        AgreementCostLineRow.agreement_id == row.agreement_id, AgreementCostLineRow.version == row.version)
        .order_by(AgreementCostLineRow.id))
    costed = [dict(item=line.item, component=line.component, quantity=line.quantity, unit=line.unit,
                   unit_price=line.unit_price, price_year=line.price_year, amount=line.amount) for line in lines]
    per_component = {component: Decimal("0.00") for component in CostComponent}
    for line in costed:
        per_component[CostComponent(line["component"])] += line["amount"]
    cost = CostBreakdown(year=row.price_year, lines=costed, per_component=per_component, total=row.total,
                         provisional=any(line["price_year"] < row.price_year for line in costed))
    return AgreementVersion(agreement_id=row.agreement_id, version=row.version, for_year=row.for_year,
                            effective_from=row.effective_from, content=AgreementContent.model_validate(row.content),
                            cost=cost, approved_by=row.approved_by or {}, workflow_id=row.workflow_id,
                            created_at=row.created_at)


def approved_versions_to_come(s: Session, year: int) -> dict[str, AgreementVersion]:
    """Rule AG-6: versions approved to take effect on 1 January of `year` that are not kept yet (the
    version row is written when it takes effect), read from their processes' rows."""
    coming: dict[str, AgreementVersion] = {}
    rows = s.scalars(select(GovernanceProcessRow).where(GovernanceProcessRow.process == "agreement",
                                                        GovernanceProcessRow.state == "approved"))
    for row in rows:
        data = row.data or {}
        if data.get("for_year") != year or not data.get("content") or not data.get("proposal"):
            continue
        coming[data["agreement_id"]] = AgreementVersion(
            agreement_id=data["agreement_id"], version=(data.get("base_version") or 0) + 1, for_year=year,
            effective_from=date(year, 1, 1), content=AgreementContent.model_validate(data["content"]),
            cost=CostBreakdown.model_validate(data["proposal"]), workflow_id=row.workflow_id, created_at=row.updated_at)
    return coming


def unit_application_charges(s: Session, unit_id: str, year: int) -> UnitApplicationCharges:
    """Rules AG-3, AG-6: what unit U pays for applications in year Y (for the billing work). A coming
    year includes every version that will be in force on its 1 January, marked provisional until then."""
    coming = approved_versions_to_come(s, year)
    ids = set(s.scalars(select(AgreementVersionRow.agreement_id).distinct().join(
        AgreementRow, AgreementRow.id == AgreementVersionRow.agreement_id))) | set(coming)
    agreements = []
    for agreement_id in sorted(ids):
        row = s.get(AgreementRow, agreement_id)
        versions = versions_of(s, agreement_id)
        if agreement_id in coming and all(v.version != coming[agreement_id].version for v in versions):
            versions.append(coming[agreement_id])
        agreements.append((versions, row.terminated_on if row else None))
    provisional = {(v.agreement_id, v.version) for v in coming.values()}
    return unit_charges(unit_id, year, agreements, price_list_for(s, year), provisional)
