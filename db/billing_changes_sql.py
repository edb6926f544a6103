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


def _other_unit(holding: str) -> str:
    """Rule BL-4: another unit that bore the device's cost in [since, until) (its latest charge period)."""
    return f"""(SELECT c.unit_id FROM charges c
   WHERE c.order_number = {holding}.order_number AND c.unit_id <> :unit_id AND c.recurring = :recurring
     AND c.starts_on < :until AND (c.ends_on IS NULL OR c.ends_on >= :since)
   ORDER BY c.id DESC LIMIT 1)"""


def _items(dialect: str) -> str:
    """The change items as rows (grp, ref, item json), in the section's order."""
    pg = dialect == "postgresql"
    obj = "json_build_object" if pg else "json_object"
    price = (lambda col: f"CAST({col} AS TEXT)") if pg else (lambda col: f"printf('%.2f', {col})")
    null = "CAST(NULL AS TEXT)" if pg else "NULL"

    def item(change: str, held: str, other: str, before: str, after: str) -> str:
        return (f"{obj}('change', {change}, 'kind', {held}.kind, 'reference', {held}.ref, 'article', {held}.article, "
                f"'other_unit', {other}, 'unit_price_before', {before}, 'unit_price_after', {after})")

    def only_in(held: str, other: str) -> str:  # a set difference, with the device's other unit if it moved
        return (f"SELECT {held}.ref AS ref, {held}.kind AS kind, {held}.article AS article, {_other_unit(held)} AS other "
                f"FROM {held} WHERE NOT EXISTS (SELECT 1 FROM {other} x WHERE x.ref = {held}.ref)")

    return f"""
SELECT 1 AS grp, m.ref AS ref,
       {item("CASE WHEN m.other IS NULL THEN 'added' ELSE 'moved_in' END", 'm', 'm.other', null, null)} AS item
FROM ({only_in('a', 'b')}) m
UNION ALL
SELECT 2, m.ref,
       {item("CASE WHEN m.other IS NULL THEN 'removed' ELSE 'moved_out' END", 'm', 'm.other', null, null)}
FROM ({only_in('b', 'a')}) m
UNION ALL
SELECT 3, a.ref, {item("'price_changed'", 'a', null, price('b.unit_price'), price('a.unit_price'))}
FROM a JOIN b ON b.ref = a.ref
WHERE a.unit_price <> b.unit_price"""


def change_section_sql(dialect: str) -> str:
    """UPDATE invoice_bases.changes of :basis_id from its lines and those of :previous_id (may be NULL)."""
    items = _items(dialect)
    ctes = f"WITH {_holdings('a', 'basis_id')},\n{_holdings('b', 'previous_id')}"
    if dialect == "postgresql":
        return f"""
UPDATE invoice_bases SET changes = json_build_object(
  'previous_period', CAST(:previous_period AS TEXT),
  'items', COALESCE((
     {ctes}
     SELECT json_agg(i.item ORDER BY i.grp, i.ref COLLATE "C") FROM ({items}) i), CAST('[]' AS JSON)),
  'total_before', CAST(:total_before AS TEXT), 'total_after', CAST(:total_after AS TEXT))
WHERE id = :basis_id"""
    return f"""
UPDATE invoice_bases SET changes = json_object(
  'previous_period', :previous_period,
  'items', json((
     {ctes}
     SELECT json_group_array(json(o.item)) FROM (SELECT i.item FROM ({items}) i ORDER BY i.grp, i.ref) o)),
  'total_before', :total_before, 'total_after', :total_after)
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
