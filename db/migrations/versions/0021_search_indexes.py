"""search over the whole fleet (issue 23): indexes the register searches use

Revision ID: 0021_search_indexes
Revises: 0022_ledger_mapping

Serial and order numbers are searched case-insensitively, exactly or by their beginning: an index on
`upper(…)` (on PostgreSQL with text_pattern_ops, so that `LIKE 'ABC%'` uses it too). A ticket's title and
description: on PostgreSQL an expression GIN index on their `tsvector` (the 'swedish' configuration; the
expression is api.search.TICKET_TEXT_SQL, word for word); SQLite (development, tests) matches with LIKE.
"""
from alembic import op


revision = '0021_search_indexes'
down_revision = '0022_ledger_mapping'
branch_labels = None
depends_on = None

TICKET_TEXT_SQL = "to_tsvector('swedish', coalesce(title, '') || ' ' || coalesce(description, ''))"
UPPER = (("ix_devices_serial_upper", "devices", "serial_number"), ("ix_devices_order_upper", "devices", "order_number"))


def upgrade() -> None:
    op.create_index('ix_devices_model_code', 'devices', ['model_code'])
    op.create_index('ix_devices_delivered_at', 'devices', ['delivered_at'])
    if op.get_bind().dialect.name == 'postgresql':
        for name, table, column in UPPER:
            op.execute(f"CREATE INDEX {name} ON {table} (upper({column}) text_pattern_ops)")
        op.execute(f"CREATE INDEX ix_tickets_text_fts ON tickets USING gin ({TICKET_TEXT_SQL})")
    else:
        for name, table, column in UPPER:
            op.execute(f"CREATE INDEX {name} ON {table} (upper({column}))")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_tickets_text_fts")
    for name, _table, _column in UPPER:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.drop_index('ix_devices_delivered_at', table_name='devices')
    op.drop_index('ix_devices_model_code', table_name='devices')
