"""Engine and session factory from DATABASE_URL (SQLite embedded, PostgreSQL in production)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, *, pool_size: int | None = None, max_overflow: int | None = None,
                pool_timeout: float | None = None, busy_timeout: float = 30.0) -> Engine:
    """Pool arguments bound how long a caller waits for a connection (the API sets them from Settings
    so that a full pool is a quick error, never a hang); the worker keeps SQLAlchemy's defaults."""
    pool: dict[str, Any] = {name: value for name, value in (
        ("pool_size", pool_size), ("max_overflow", max_overflow), ("pool_timeout", pool_timeout)) if value is not None}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        in_memory = not path or path == ":memory:"
        if not in_memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout},
                               **({} if in_memory else pool))

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")  # the API reads while the worker writes
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


def make_sessionmaker(url: str, **engine_options: Any) -> sessionmaker[Session]:
    return sessionmaker(make_engine(url, **engine_options), expire_on_commit=False)


def api_sessionmaker(settings: Any) -> sessionmaker[Session]:
    """The API's sessions: pool size and waits from Settings (issue 7)."""
    return make_sessionmaker(settings.database_url, pool_size=settings.db_pool_size,
                             max_overflow=settings.db_max_overflow, pool_timeout=settings.db_pool_timeout_seconds,
                             busy_timeout=settings.db_busy_timeout_seconds)
