"""The files a billing run becomes (issue 25): the ledger mapping as the export reads it and the run's SIE 4I
file, for the API's download and for a delivery activity alike."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import billing_queries as q
from db.billing_models import BillingRunRow, InvoiceBasisRow, LedgerMappingRow
from db.models import Municipality, Unit
from domain.common import LOCAL_TZ
from domain.sie import Basis, Mapping, render_sie


def mappings_of(session: Session, municipality: str) -> dict[tuple[str, str], Mapping]:
    rows = session.scalars(select(LedgerMappingRow).where(LedgerMappingRow.municipality == municipality))
    return {(r.charge_kind, r.category): Mapping(r.charge_kind, r.category, r.cost_account, r.income_account,
                                                 r.income_cost_centre) for r in rows}


def sie_file(session: Session, run: BillingRunRow) -> bytes:
    """The run's vouchers; raises UnmappedCharge naming what has no accounts."""
    rows = list(session.scalars(select(InvoiceBasisRow).where(
        InvoiceBasisRow.municipality == run.municipality, InvoiceBasisRow.period == run.period,
        InvoiceBasisRow.kind == run.kind).order_by(InvoiceBasisRow.unit_id)))
    names = dict(session.execute(select(Unit.id, Unit.name).where(Unit.municipality == run.municipality)).all())
    bases = [Basis(b.unit_id, names.get(b.unit_id, b.unit_id), b.total, q.basis_lines(session, b)) for b in rows]
    # #GEN is the day the figures were made (the first basis stored; bases are never edited), so a
    # re-export or a re-run of the period gives the same bytes
    made = min((b.created_at for b in rows), default=run.started_at).astimezone(LOCAL_TZ).date()
    municipality = session.get(Municipality, run.municipality)
    return render_sie(run.municipality, municipality.name if municipality else run.municipality, run.period, made,
                      bases, mappings_of(session, run.municipality), names)
