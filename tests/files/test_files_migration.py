"""Migration 0023_files_delivery on SQLite and PostgreSQL: the receipts table, the employment number, the
refusal of a salary deduction and the order response of a call-off match the models, existing rows keep their
data, and it can be undone."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

import db.file_models  # noqa: F401  (the receipts table in Base.metadata)
import db.people_models  # noqa: F401
from db.migrate import alembic_config, upgrade
from db.models import Base

BEFORE, AFTER = "0019_device_import", "0023_files_delivery"
TABLES = ("'file_deliveries'", "'people'", "'salary_deductions'", "'call_offs'")


def test_migration_0023_files_delivery_matches_the_models_and_downgrades(backend_url):
    from alembic import command

    upgrade(backend_url, BEFORE)
    engine = create_engine(backend_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO call_offs (order_number, at, agreement_ref, model_code, reference) VALUES "
                          "('ORD-M-1', '2026-03-10 08:00:00', 'ADDA', 'LAT-5450', 'AVROP-1')"))
    upgrade(backend_url, AFTER)
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT reference, response_code FROM call_offs")).one()
        diff = [d for d in compare_metadata(MigrationContext.configure(conn), Base.metadata)
                if any(table in repr(d) for table in TABLES)]
    assert tuple(kept) == ("AVROP-1", None)
    assert not diff, diff
    command.downgrade(alembic_config(backend_url), BEFORE)
    assert "file_deliveries" not in inspect(engine).get_table_names()
    assert "employment_number" not in {c["name"] for c in inspect(engine).get_columns("people")}
    assert "refused_at" not in {c["name"] for c in inspect(engine).get_columns("salary_deductions")}
    assert "response_code" not in {c["name"] for c in inspect(engine).get_columns("call_offs")}
    engine.dispose()
