"""Fixtures for data-layer tests on SQLite and on PostgreSQL (127.0.0.1:5432, user postgres, trust auth)."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from db.migrate import upgrade
from db.seed import load_reference_data
from db.session import make_sessionmaker
from tests.conftest import SEED_YEAR

POSTGRES_ADMIN_URL = os.environ.get("RAMFLOW_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_database() -> Iterator[str]:
    """A fresh database per test on the local PostgreSQL; fails loudly when the server is unreachable."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as error:  # noqa: BLE001
        admin.dispose()
        message = f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL}: {error}"
        if os.environ.get("RAMFLOW_ALLOW_NO_POSTGRES") == "1":
            pytest.skip(message)
        pytest.fail(message + " (set RAMFLOW_ALLOW_NO_POSTGRES=1 to skip these tests knowingly)")
    name = f"ramflow_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ramflow.db'}"
    else:
        yield from postgres_database()


@pytest.fixture
def backend_sessions(backend_url: str) -> Iterator[sessionmaker[Session]]:
    upgrade(backend_url)
    maker = make_sessionmaker(backend_url)
    load_reference_data(maker, SEED_YEAR)
    yield maker
    maker.kw["bind"].dispose()
