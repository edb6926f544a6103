"""The migrations form one line: parallel work that forgets to re-chain leaves a second head (and `upgrade`
then runs two branches in an order no one chose). The tickets line `0002` is the one historical branch (it has
stood beside the main line since the first migrations; `upgrade heads` applies both, as every database has)."""
from __future__ import annotations

from alembic.script import ScriptDirectory

from db.migrate import alembic_config

HISTORICAL_HEADS = {"0002"}


def test_migrations_have_one_head_besides_the_historical_tickets_line():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    heads = set(script.get_heads()) - HISTORICAL_HEADS
    assert len(heads) == 1, sorted(heads)
    for revision in script.walk_revisions():
        assert len(revision.nextrev) <= 2, f"{revision.revision} has several successors: {revision.nextrev}"
