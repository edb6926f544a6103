"""Migration 0017 creates the conversation and inbound-mail tables (SQLite and PostgreSQL) and drops them again;
the Message-ID of an inbound mail is unique (the intake's idempotency rests on it)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.mail_models import InboundMail
from db.migrate import alembic_config, upgrade

TABLES = {"ticket_messages", "ticket_attachments", "inbound_mail"}
REVISION = "0017_ticket_conversation_mail_in"


def test_migration_0017_up_down_up_and_message_id_unique(backend_url):
    from alembic import command

    upgrade(backend_url, REVISION)
    engine = create_engine(backend_url)
    assert TABLES <= set(inspect(engine).get_table_names())
    command.downgrade(alembic_config(backend_url), "0012_people")
    assert not TABLES & set(inspect(engine).get_table_names())
    upgrade(backend_url, REVISION)
    at = datetime(2026, 12, 8, 9, tzinfo=timezone.utc)
    with Session(engine) as s:
        s.add(InboundMail(message_id="<a@b>", received_at=at, state="opening", size=1))
        s.commit()
        s.add(InboundMail(message_id="<a@b>", received_at=at, state="opening", size=1))
        with pytest.raises(IntegrityError):
            s.commit()
    engine.dispose()
