"""Migration 0002 creates the support tables and drops them again."""
from __future__ import annotations

from sqlalchemy import create_engine, inspect

from db.migrate import alembic_config, upgrade

TABLES = {"tickets", "ticket_transitions", "support_charges", "survey_answers", "service_requests",
          "service_request_transitions", "designated_applicants", "incidents", "number_counters"}


def test_migration_0002_up_down_up(tmp_path):
    from alembic import command

    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0002")
    engine = create_engine(url)
    assert TABLES <= set(inspect(engine).get_table_names())
    command.downgrade(alembic_config(url), "0001")
    assert not TABLES & set(inspect(engine).get_table_names())
    upgrade(url, "0002")
    assert TABLES <= set(inspect(engine).get_table_names())
    engine.dispose()
