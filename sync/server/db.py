"""Engines and sessions: SQLite (WAL, one writer at a time) or PostgreSQL via psycopg 3.

On SQLite every transaction starts with `BEGIN IMMEDIATE`, so writers queue instead of
failing half way; PostgreSQL runs READ COMMITTED and orders what must be ordered with
row locks and transaction-scoped advisory locks (see `changes.py` and `audit.py`).
"""

from __future__ import annotations

import logging
import os
import select
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from psycopg.pq import TransactionStatus
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection, Engine, Executable, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import DisconnectionError
from sqlmodel import Session

from sync.server.config import ServerSettings
from sync.server.faults import strip_values

if TYPE_CHECKING:
    import psycopg


def new_engine(url: str, **options: Any) -> Engine:
    """An engine whose errors and logs never hold a statement's parameters or a row's
    values (PostgreSQL's DETAIL line quotes them: see `faults.strip_values`)."""
    if url.startswith("sqlite"):
        keep_private(url)
    engine = create_engine(url, hide_parameters=True, **options)
    event.listen(engine, "handle_error", _strip_values)
    sql_log = logging.getLogger("sqlalchemy.engine.Engine")
    if not any(isinstance(one, _NoRows) for one in sql_log.filters):
        sql_log.addFilter(_NoRows())
    return engine


class _NoRows(logging.Filter):
    """SQLAlchemy logs every row it fetches at DEBUG: rows hold patient data, so its DEBUG
    lines are dropped (statements, logged at INFO, hold no values)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL (None for an in-memory database)."""
    database = make_url(url).database
    return None if not database or database == ":memory:" else Path(database)


def keep_private(url: str) -> None:
    """Make an SQLite database readable by its owner only: missing folders are created 0700,
    the file is created 0600 before SQLite opens it (its -wal and -shm then take the same
    mode), and files an earlier version left open to others are closed to them."""
    path = sqlite_path(url)
    if path is None:
        return
    missing = [folder for folder in (path.parent, *path.parent.parents) if not folder.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for file in (path, *(Path(f"{path}{side}") for side in SQLITE_SIDE_FILES)):
        with suppress(FileNotFoundError, PermissionError):  # not ours: leave it to its owner
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)


def folder_open_to_others(url: str) -> Path | None:
    """The SQLite database's folder if other users may enter or list it, else None."""
    path = sqlite_path(url)
    if path is None or not path.parent.exists():
        return None
    return path.parent if path.parent.stat().st_mode & 0o077 else None


def _strip_values(context: ExceptionContext) -> None:
    orig, wrapped = context.original_exception, context.sqlalchemy_exception
    if strip_values(orig) and wrapped is not None and len(wrapped.args) == 1:
        # SQLAlchemy wrote the driver's text into its own message before this event.
        wrapped.args = (f"({type(orig).__module__}.{type(orig).__name__}) {orig}",)


def make_engine(settings: ServerSettings) -> Engine:
    """A new engine for the configured database (never created at import time)."""
    url = settings.database_url
    if url.startswith("sqlite"):
        engine = new_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": settings.database.sqlite_busy_timeout_s,
            },
        )
        _sqlite_pragmas(engine, settings.database.sqlite_busy_timeout_s)
        return engine
    engine = new_engine(
        url, pool_size=settings.database.pool_size, max_overflow=settings.database.max_overflow
    )
    event.listen(engine, "checkout", _refuse_closed_by_server)
    return engine


def _refuse_closed_by_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Hand out no pooled connection the server has closed (a restart, an idle timeout, a
    terminated backend): the pool opens a new one instead.

    An idle connection has nothing to read; a closed one has the server's farewell or the
    end of the stream waiting. Asking the socket costs one system call, where a ping
    (`pool_pre_ping`) cost a round trip and a statement on every request, in this process
    and in PostgreSQL.
    """
    if dbapi_connection.closed:
        raise DisconnectionError("the connection was closed")
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    if poller.poll(0):
        raise DisconnectionError("the server closed the connection")


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


_IDLE = TransactionStatus.IDLE  # no transaction begun on the connection yet

# Statements compiled for PostgreSQL once: id(statement) -> (statement, SQL text, the values
# of its own literal parameters). The statement is kept so that its id stays its own.
_COMPILED: dict[int, tuple[Executable, str, dict[str, Any]]] = {}


def fetch_rows(conn: Connection, statement: Executable, params: dict[str, Any]) -> list[Any]:
    """All rows of a statement built once at import (named tuples on PostgreSQL, SQLAlchemy
    rows elsewhere: both read by attribute and unpack alike).

    On PostgreSQL the statement is compiled once and run on the driver's cursor, in the
    connection's transaction: SQLAlchemy's statement and result machinery cost more than
    the small reads of a pull themselves (about 80 microseconds a statement).
    """
    [rows] = fetch_all(conn, [(statement, params)])
    return rows


def fetch_all(
    conn: Connection, statements: list[tuple[Executable, dict[str, Any]]]
) -> list[list[Any]]:
    """The rows of each of several statements that do not wait on one another's answers,
    as `fetch_rows` reads them. On PostgreSQL they go in one round trip (the driver's
    pipeline), with the transaction's BEGIN if it has not started yet: each round trip
    costs this process and PostgreSQL more than a small read itself."""
    if conn.dialect.name != "postgresql":
        return [list(conn.execute(statement, params).all()) for statement, params in statements]
    raw = cast("psycopg.Connection[Any]", conn.connection.driver_connection)
    if len(statements) == 1 and raw.info.transaction_status != _IDLE:
        [(statement, params)] = statements  # one round trip either way: no pipeline
        return [
            raw.cursor(row_factory=namedtuple_row)
            .execute(*_compiled(conn, statement, params))
            .fetchall()
        ]
    with raw.pipeline():  # sent at once; the answers read when the block ends
        cursors = [
            raw.cursor(row_factory=namedtuple_row).execute(*_compiled(conn, statement, params))
            for statement, params in statements
        ]
    return [cursor.fetchall() for cursor in cursors]


def _compiled(
    conn: Connection, statement: Executable, params: dict[str, Any]
) -> tuple[Any, dict[str, Any]]:
    """The statement's PostgreSQL text (compiled on first use) and its parameters."""
    compiled = _COMPILED.get(id(statement))
    if compiled is None or compiled[0] is not statement:
        made = statement.compile(dialect=conn.dialect)  # type: ignore[attr-defined]
        literals = {k: v for k, v in made.construct_params(_check=False).items() if v is not None}
        compiled = _COMPILED[id(statement)] = (statement, made.string, literals)
    _, sql, literals = compiled
    return sql, {**literals, **params} if literals else params
