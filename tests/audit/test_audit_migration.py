"""Migration 0009 chains the audit lines written before it, on SQLite and PostgreSQL, and can be undone."""
from __future__ import annotations

from sqlalchemy import create_engine, inspect, text

from db.audit_chain import verify
from db.migrate import alembic_config, upgrade
from db.session import make_sessionmaker


def test_migration_0009_chains_existing_lines_and_downgrades(backend_url):
    from alembic import command

    upgrade(backend_url, "0002")
    upgrade(backend_url, "0003")
    engine = create_engine(backend_url)
    with engine.begin() as conn:
        for seq in (1, 2, 3):
            conn.execute(text(
                "INSERT INTO governance_transitions (workflow_id, seq, at, event, from_state, to_state, actor, rule, details) "
                "VALUES ('agreement-APP-M', :seq, '2026-03-10 09:00:00', 'e', 'a', 'b', 'it.anna', 'AG-1', '{}')"),
                {"seq": seq})
    upgrade(backend_url)  # heads: 0009 chains the three lines
    sessions = make_sessionmaker(backend_url)
    with sessions() as s:
        report = verify(s)
        assert report["intact"] and report["checked"]["governance_transitions"] == 3
    sessions.kw["bind"].dispose()
    command.downgrade(alembic_config(backend_url), "0008")  # undoes 0009 (and 0005, chained after it)
    tables = set(inspect(engine).get_table_names())
    assert not {"history_archive", "refused_attempts"} & tables
    assert "hash" not in {c["name"] for c in inspect(engine).get_columns("governance_transitions")}
    engine.dispose()
    upgrade(backend_url)
    engine = create_engine(backend_url)
    assert {"history_archive", "refused_attempts"} <= set(inspect(engine).get_table_names())
    engine.dispose()
