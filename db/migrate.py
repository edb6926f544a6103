"""Apply the Alembic migrations to a database URL (used by `make run`, the tests and the container)."""
from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")


def alembic_config(url: str) -> Config:
    cfg = Config(str(ALEMBIC_INI))
    cfg.attributes["database_url"] = url
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


if __name__ == "__main__":
    from config import get_settings

    upgrade(sys.argv[1] if len(sys.argv) > 1 else get_settings().database_url)
