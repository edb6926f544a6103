"""The change section of a basis (rule BL-4) computed set-based in SQL, on SQLite and PostgreSQL: the set
difference of the previous and the new basis's recurring lines (added / removed / moved / price changed),
written into invoice_bases.changes by one UPDATE whose JSON the database builds. No line is read into
Python: a unit's first basis lists every device as added (thousands of items).

The result equals domain.billing.change_section_json(basis_holdings(previous), basis_holdings(new), …)
item for item and in the same order (tests/billing/test_billing_changes_sql.py): per reference (order
number, or agreement id of an application line) the holding of its last line; items grouped added/moved_in,
removed/moved_out, price_changed, each sorted by reference; a move is another unit that bore the device's
cost between the previous period's start and this period's end (its latest charge period)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from domain.billing import RECURRING_KINDS

_KINDS = ", ".join(f"'{kind}'" for kind in RECURRING_KINDS)


def _holdings(name: str, basis_param: str) -> str:
    """One row per reference: what the basis says the unit has (its last line per reference)."""
    return f"""{name} AS MATERIALIZED (
  SELECT ref, order_number, kind, article, unit_price FROM (
    SELECT ref, order_number, kind, article, unit_price, ROW_NUMBER() OVER (PARTITION BY ref ORDER BY id DESC) AS nth
    FROM (SELECT COALESCE(order_number, CASE WHEN key LIKE 'application:%' THEN SUBSTR(key, 13) ELSE key END) AS ref,
                 id, order_number, kind, article, unit_price
          FROM invoice_lines WHERE basis_id = :{basis_param} AND kind IN ({_KINDS})) l) h
  WHERE nth = 1)"""


def _ctes() -> str:
    """a, b: the new and the previous basis's holdings; ao, bo: only on one of them (added / removed);
    mv: rule BL-4, for each of those devices the latest charge period of another unit in [since, until)."""
    def only_in(held: str, other: str) -> str:
        return (f"SELECT {held}.* FROM {held} WHERE NOT EXISTS (SELECT 1 FROM {other} x WHERE x.ref = {held}.ref)")

    return f"""WITH {_holdings('a', 'basis_id')},
{_holdings('b', 'previous_id')},
ao AS MATERIALIZED ({only_in('a', 'b')}),
bo AS MATERIALIZED ({only_in('b', 'a')}),
mc AS MATERIALIZED (
  SELECT c.id, c.order_number, c.unit_id FROM charges c
  WHERE c.order_number IN (SELECT order_number FROM ao UNION ALL SELECT order_number FROM bo)
    AND c.unit_id <> :unit_id AND c.recurring = :recurring AND c.starts_on < :until
    AND (c.ends_on IS NULL OR c.ends_on >= :since)),
mv AS (SELECT mc.order_number, mc.unit_id FROM mc
       WHERE NOT EXISTS (SELECT 1 FROM mc later WHERE later.order_number = mc.order_number AND later.id > mc.id))
"""


def _items(dialect: str) -> str:
    """The change items as rows (grp, ref, item json), in the section's order."""
    pg = dialect == "postgresql"
    obj = "json_build_object" if pg else "json_object"
    price = (lambda col: f"CAST({col} AS TEXT)") if pg else (lambda col: f"printf('%.2f', {col})")
    null = "CAST(NULL AS TEXT)" if pg else "NULL"

    def item(change: str, held: str, other: str, before: str, after: str) -> str:
        return (f"{obj}('change', {change}, 'kind', {held}.kind, 'reference', {held}.ref, 'article', {held}.article, "
                f"'other_unit', {other}, 'unit_price_before', {before}, 'unit_price_after', {after})")

    return f"""
SELECT 1 AS grp, ao.ref AS ref,
       {item("CASE WHEN mv.unit_id IS NULL THEN 'added' ELSE 'moved_in' END", 'ao', 'mv.unit_id', null, null)} AS item
FROM ao LEFT JOIN mv ON mv.order_number = ao.order_number
UNION ALL
SELECT 2, bo.ref,
       {item("CASE WHEN mv.unit_id IS NULL THEN 'removed' ELSE 'moved_out' END", 'bo', 'mv.unit_id', null, null)}
FROM bo LEFT JOIN mv ON mv.order_number = bo.order_number
UNION ALL
SELECT 3, a.ref, {item("'price_changed'", 'a', null, price('b.unit_price'), price('a.unit_price'))}
FROM a JOIN b ON b.ref = a.ref
WHERE a.unit_price <> b.unit_price"""


def change_section_sql(dialect: str) -> str:
    """UPDATE invoice_bases.changes of :basis_id from its lines and those of :previous_id (may be NULL)."""
    items = _items(dialect)
    ctes = _ctes()
    if dialect == "postgresql":
        return f"""
UPDATE invoice_bases SET changes = json_build_object(
  'previous_period', CAST(:previous_period AS TEXT),
  'items', COALESCE((
     {ctes}
     SELECT json_agg(i.item ORDER BY i.grp, i.ref COLLATE "C") FROM ({items}) i), CAST('[]' AS JSON)),
  'total_before', CAST(:total_before AS TEXT), 'total_after', CAST(:total_after AS TEXT))
WHERE id = :basis_id"""
    # the items are JSON text already: concatenated in order, not parsed again item by item (SQLite feeds an
    # aggregate the rows of an ordered subquery in that order; tests/billing/test_billing_changes_sql.py checks it)
    return f"""
UPDATE invoice_bases SET changes = (
     {ctes}
     SELECT '{{"previous_period": ' || json_quote(:previous_period) || ', "items": ['
            || COALESCE(group_concat(o.item, ', '), '') || '], "total_before": ' || json_quote(:total_before)
            || ', "total_after": ' || json_quote(:total_after) || '}}'
     FROM (SELECT i.item FROM ({items}) i ORDER BY i.grp, i.ref) o)
WHERE id = :basis_id"""


def store_change_section(s: Session, basis_id: int, unit_id: str, previous_id: int | None,
                         previous_period: str | None, total_before: Decimal | None, total_after: Decimal,
                         since: date, until: date) -> None:
    """Rule BL-4: write the basis's change section in one UPDATE (no line read into Python)."""
    s.flush()  # the basis row and its lines are in the database before the UPDATE reads them
    s.execute(text(change_section_sql(s.get_bind().dialect.name)), {
        "basis_id": basis_id, "previous_id": previous_id, "unit_id": unit_id, "recurring": True,
        "since": since, "until": until, "previous_period": previous_period,
        "total_before": None if total_before is None else str(total_before), "total_after": str(total_after)})
