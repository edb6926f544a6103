"""Migration 0021_search_indexes on SQLite and PostgreSQL (issue 23): the search's indexes are made (the
full-text GIN index only on PostgreSQL), the models agree on the devices table, and it can be undone."""
from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from db.migrate import alembic_config, upgrade
from db.models import Base

BEFORE, REVISION = "0022_ledger_mapping", "0021_search_indexes"
DEVICE_INDEXES = {"ix_devices_serial_upper", "ix_devices_order_upper", "ix_devices_model_code",
                  "ix_devices_delivered_at"}


def index_names(conn, table: str) -> set[str]:
    """The table's indexes, expression indexes included (SQLAlchemy's reflection skips them on SQLite)."""
    if conn.dialect.name == "postgresql":
        return set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = :t"),
                                {"t": table}).scalars())
    return set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"),
                            {"t": table}).scalars())


def test_migration_0021_search_indexes_makes_and_drops_the_indexes(backend_url):
    upgrade(backend_url, REVISION)
    engine = create_engine(backend_url)
    postgres = engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        devices, tickets = index_names(conn, "devices"), index_names(conn, "tickets")
        diff = [d for d in compare_metadata(MigrationContext.configure(conn), Base.metadata)
                if "'devices'" in repr(d) and "_upper" not in repr(d)]  # the models leave expression indexes out
    assert DEVICE_INDEXES <= devices and ("ix_tickets_text_fts" in tickets) == postgres
    assert not diff, diff
    command.downgrade(alembic_config(backend_url), BEFORE)
    with engine.connect() as conn:
        assert not DEVICE_INDEXES & index_names(conn, "devices")
        assert "ix_tickets_text_fts" not in index_names(conn, "tickets")
    engine.dispose()
