"""The change section computed in SQL (db/billing_changes_sql.py) equals the domain's change_section_json over
the same two bases (rule BL-4): added, removed, moved in and out, price changed, applications, a device with
two lines, a unit's first basis; on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import insert

from db import billing_queries as q
from db.billing_changes_sql import store_change_section
from db.billing_models import InvoiceBasisRow, InvoiceLineRow
from domain.billing import change_section_json
from tests.billing.helpers import add_rental, move
from tests.db_backends import backend_sessions, backend_url  # noqa: F401  (fixtures)

AT = datetime(2026, 3, 1, tzinfo=timezone.utc)


def basis(s, period: str, lines: list[tuple[str, str, str | None, str]]) -> InvoiceBasisRow:
    """A basis of UL-KS with (key, kind, order number, unit price) lines."""
    row = InvoiceBasisRow(municipality="ulricehamn", period=period, kind="regular", unit_id="UL-KS", run_id="t",
                          total=Decimal(0), changes={}, created_at=AT)
    s.add(row)
    s.flush()
    s.execute(insert(InvoiceLineRow), [
        dict(basis_id=row.id, key=key, kind=kind, article=f"{kind}:{order or key}", text=key, quantity=Decimal(1),
             unit_price=Decimal(price), amount=Decimal(price), order_number=order, category=None)
        for key, kind, order, price in lines])
    return row


def python_section(s, before: InvoiceBasisRow | None, after: InvoiceBasisRow, since: date, until: date) -> dict:
    held_before, total_before = q.basis_holdings(s, before.id) if before is not None else (None, None)
    held_after, total_after = q.basis_holdings(s, after.id)
    moved_from = q.other_units(s, after.id, "UL-KS", since, until)
    moved_to = q.other_units(s, before.id, "UL-KS", since, until) if before is not None else {}
    return change_section_json(
        held_before, held_after, before.period if before is not None else None, total_before, total_after,
        moved_from={ref: unit for ref, unit in moved_from.items() if ref not in (held_before or {})},
        moved_to={ref: unit for ref, unit in moved_to.items() if ref not in held_after})


def test_bl4_sql_change_section_equals_the_domains(backend_sessions):
    since, until = date(2026, 2, 1), date(2026, 4, 1)
    with backend_sessions.begin() as s:
        for order in ("C-KEEP", "C-PRICE", "C-GONE", "C-OUT", "C-NEW", "C-IN", "c-lower", "C-TWICE"):
            add_rental(s, order, "UL-KS", date(2025, 6, 1))
        move(s, "C-OUT", "UL-BUF", date(2026, 3, 1))  # moved out: on February's basis, not on March's
        add_rental(s, "C-IN", "UL-BUF", date(2025, 1, 1), date(2025, 6, 1))  # long before `since`: not a move
        add_rental(s, "C-IN", "UL-SBF", date(2026, 2, 1), date(2026, 2, 10))
        add_rental(s, "C-IN", "UL-IT", date(2026, 2, 10), date(2026, 3, 5))  # the latest other unit counts
        february = basis(s, "2026-02", [
            ("rent:1", "rent", "C-KEEP", "420.00"), ("rent:2", "rent", "C-PRICE", "420.00"),
            ("rent:3", "rent", "C-GONE", "45.50"), ("rent:4", "rent", "C-OUT", "360.00"),
            ("application:AG-1", "application", None, "1200.00"), ("application:AG-OLD", "application", None, "10.00"),
            ("purchase:9", "purchase", "C-KEEP", "999.00"),
            ("adjustment:2026-01|rent:1", "adjustment", "C-KEEP", "5.00")])
        march = basis(s, "2026-03", [
            ("rent:1", "rent", "C-KEEP", "420.00"), ("rent:2", "rent", "C-PRICE", "430.00"),
            ("rent:5", "rent", "C-NEW", "150.00"), ("rent:6", "rent", "C-IN", "45.00"),
            ("rent:7", "rent", "c-lower", "1.01"), ("rent:8", "rent", "C-TWICE", "100.00"),
            ("rent:9", "rent", "C-TWICE", "110.00"),  # two lines of one device: the last one's price
            ("application:AG-1", "application", None, "1250.00"), ("application:AG-NEW", "application", None, "99.99")])
        first = basis(s, "2026-01", [("rent:1", "rent", "C-KEEP", "420.00"), ("rent:6", "rent", "C-IN", "45.00")])
        first.unit_id = "UL-BUF"
        s.flush()
        for after, before in ((march, february), (february, None)):
            store_change_section(s, after.id, "UL-KS", before.id if before else None,
                                 before.period if before else None,
                                 q.basis_total(s, before.id) if before else None, q.basis_total(s, after.id),
                                 since, until)
    with backend_sessions() as s:
        for after, before in ((march, february), (february, None)):
            stored = s.get(InvoiceBasisRow, after.id).changes
            expected = python_section(s, s.get(InvoiceBasisRow, before.id) if before else None,
                                      s.get(InvoiceBasisRow, after.id), since, until)
            assert stored == expected
        section = s.get(InvoiceBasisRow, march.id).changes
        items = {(i["change"], i["reference"], i["other_unit"]) for i in section["items"]}
        assert {("moved_in", "C-IN", "UL-IT"), ("moved_out", "C-OUT", "UL-BUF"), ("removed", "C-GONE", None),
                ("added", "C-NEW", None), ("price_changed", "C-PRICE", None), ("price_changed", "AG-1", None),
                ("added", "AG-NEW", None), ("removed", "AG-OLD", None)} <= items
