"""Migration 0015_mail_delivery on SQLite and PostgreSQL: rows written before it are pending (or sent, when
marked sent), existing units get placeholder mailboxes under .example, the result matches the models, and it
can be undone."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from db.migrate import alembic_config, upgrade
from db.models import Base

BEFORE = "0012_people"
LATER_UNIT_COLUMNS = ("valid_from", "closed_on", "merged_into")  # 0024_unit_history (issue 22, reorganisations)


def test_migration_0015_mail_delivery_keeps_rows_and_downgrades(backend_url):
    from alembic import command

    upgrade(backend_url, BEFORE)
    engine = create_engine(backend_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO municipalities (code, name) VALUES ('tranemo', 'Tranemo kommun')"))
        conn.execute(text("INSERT INTO units (id, municipality, name) VALUES ('TR-KS', 'tranemo', 'KS')"))
        for sent in (None, "2026-03-10 09:00:00"):
            conn.execute(text("INSERT INTO outbox (created_at, topic, recipient, subject, body, sent_at) VALUES "
                              "('2026-03-10 08:00:00', 'delivered', 'unit:TR-KS', 's', 'b', :sent)"), {"sent": sent})
    upgrade(backend_url, "0015_mail_delivery")
    with engine.connect() as conn:
        states = [r[0] for r in conn.execute(text("SELECT state FROM outbox ORDER BY id"))]
        mailbox = conn.execute(text("SELECT mailbox FROM units WHERE id = 'TR-KS'")).scalar()
        # the models (db/models.py) and the migrated tables agree on the two tables it changes
        diff = [d for d in compare_metadata(MigrationContext.configure(conn), Base.metadata)
                if ("outbox" in repr(d) or "'units'" in repr(d)) and not any(
                    later in repr(d) for later in LATER_UNIT_COLUMNS)]
    assert states == ["pending", "sent"] and mailbox == "ks@tranemo.example"
    assert not diff, diff
    command.downgrade(alembic_config(backend_url), BEFORE)
    columns = {c["name"] for c in inspect(engine).get_columns("outbox")}
    assert not {"state", "key", "message_id", "in_reply_to", "data"} & columns
    assert "mailbox" not in {c["name"] for c in inspect(engine).get_columns("units")}
    engine.dispose()
