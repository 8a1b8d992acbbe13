"""Engines and sessions: SQLite (WAL, one writer at a time) or PostgreSQL via psycopg 3.

On SQLite every transaction starts with `BEGIN IMMEDIATE`, so writers queue instead of
failing half way; PostgreSQL runs READ COMMITTED and orders what must be ordered with
row locks and transaction-scoped advisory locks (see `changes.py` and `audit.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlmodel import Session

from sync.server.config import ServerSettings


def make_engine(settings: ServerSettings) -> Engine:
    """A new engine for the configured database (never created at import time)."""
    url = settings.database_url
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": settings.database.sqlite_busy_timeout_s,
            },
        )
        _sqlite_pragmas(engine, settings.database.sqlite_busy_timeout_s)
        return engine
    return create_engine(
        url,
        pool_size=settings.database.pool_size,
        max_overflow=settings.database.max_overflow,
        pool_pre_ping=True,
    )


def _sqlite_pragmas(engine: Engine, busy_timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_postgres(session: Session) -> bool:
    """Whether this session talks to PostgreSQL."""
    return session.get_bind().dialect.name == "postgresql"


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work commits at the end of the block, or rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
