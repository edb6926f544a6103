"""Migration 0024_unit_history on SQLite and PostgreSQL: the units' history columns and table match the models,
the existing units' names become their first history rows, and it can be undone."""
from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from db.migrate import alembic_config, upgrade
from db.models import Base

BEFORE = "0021_search_indexes"


def test_migration_0024_unit_history_matches_models_and_downgrades(backend_url):
    upgrade(backend_url, BEFORE)
    engine = create_engine(backend_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO municipalities (code, name) VALUES ('tranemo', 'Tranemo kommun')"))
        conn.execute(text("INSERT INTO units (id, municipality, name) VALUES ('TR-KS', 'tranemo', 'KS')"))
    upgrade(backend_url, "0024_unit_history")
    with engine.connect() as conn:
        history = list(conn.execute(text("SELECT unit_id, name, valid_to FROM unit_history")))
        diff = [d for d in compare_metadata(MigrationContext.configure(conn), Base.metadata)
                if "'units'" in repr(d) or "unit_history" in repr(d)]
    assert [tuple(r) for r in history] == [("TR-KS", "KS", None)]
    assert not diff, diff
    command.downgrade(alembic_config(backend_url), BEFORE)
    assert not {"valid_from", "closed_on", "merged_into"} & {c["name"] for c in inspect(engine).get_columns("units")}
    assert "unit_history" not in inspect(engine).get_table_names()
    engine.dispose()
