"""Fixtures for data-layer tests on SQLite and on PostgreSQL (127.0.0.1:5432, user postgres, trust auth):
`backend_url` is an empty database of each backend; with `backend_sessions` it is a copy of a database migrated
and seeded once per run (a file copy on SQLite, `CREATE DATABASE … TEMPLATE` on PostgreSQL), instead of
migrating each test's database again (seconds a test on PostgreSQL)."""
from __future__ import annotations

import os
import shutil
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


def postgres_database(template: str | None = None) -> Iterator[str]:
    """A fresh database (empty, or a copy of `template`) on the local PostgreSQL, dropped afterwards; fails
    loudly when the server is unreachable."""
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
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """The name of a PostgreSQL database migrated and seeded once per run (no connection stays open on it)."""
    for url in postgres_database():
        migrate_and_seed(url)
        yield url.rsplit("/", 1)[1]


def migrate_and_seed(url: str) -> None:
    upgrade(url)
    maker = make_sessionmaker(url)
    load_reference_data(maker, SEED_YEAR)
    maker.kw["bind"].dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    migrated = "backend_sessions" in request.fixturenames
    if request.param == "sqlite":
        path = tmp_path / "ramflow.db"
        if migrated:
            shutil.copy(request.getfixturevalue("migrated_template"), path)
        yield f"sqlite:///{path}"
    else:
        yield from postgres_database(request.getfixturevalue("postgres_template") if migrated else None)


@pytest.fixture
def backend_sessions(backend_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on this test's migrated and seeded database of each backend."""
    maker = make_sessionmaker(backend_url)
    yield maker
    maker.kw["bind"].dispose()
