"""Server fixtures: every server test runs on SQLite and on the real PostgreSQL.

PostgreSQL tests get a schema of their own (dropped afterwards) and skip cleanly when no
server answers at `postgresql+psycopg://postgres@127.0.0.1:5432/test`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import httpx
import psycopg
import pytest

from sync.server.config import ServerSettings
from sync.server.db import make_engine
from sync.server.main import create_app
from sync.server.migrate import migrate
from tests.sync.factories import World, seed

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
TODAY = date(2030, 3, 4)


@cache
def pg_available() -> bool:
    """Whether the test PostgreSQL answers."""
    try:
        with psycopg.connect(PG_DSN, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def new_pg_schema() -> str:
    """A fresh schema; returns the URL that uses it."""
    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema


def drop_pg_schema(schema: str) -> None:
    """Drop a test schema and everything in it."""
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def pg_url(schema: str) -> str:
    """The test database URL with its search path set to one schema."""
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/server.db"
        migrate(url)
        yield url
        return
    if not pg_available():
        pytest.skip("no PostgreSQL answers at 127.0.0.1:5432")
    schema = new_pg_schema()
    try:
        url = pg_url(schema)
        migrate(url)
        yield url
    finally:
        drop_pg_schema(schema)


class Clock:
    """A settable server clock."""

    def __init__(self, day: date = TODAY) -> None:
        self.now = datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock on."""
        self.now += timedelta(**delta)


def test_settings(db_url: str, **extra: Any) -> ServerSettings:
    """Settings for a test server."""
    return ServerSettings(database_url=db_url, clinic_timezone="UTC", **extra)


test_settings.__test__ = False  # type: ignore[attr-defined]


@pytest.fixture
def clock() -> Clock:
    """The server clock, at noon of TODAY."""
    return Clock()


@pytest.fixture
def app(db_url: str, clock: Clock) -> Any:
    """A server app over the test database."""
    application = create_app(test_settings(db_url), clock=clock)
    yield application
    application.state.ctx.engine.dispose()


@pytest.fixture
def world(app: Any) -> World:
    """Seeded users, devices, a patient and a visit per clinician."""
    ctx = app.state.ctx
    return seed(ctx.engine, ctx.settings, TODAY)


@pytest.fixture
async def api(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to the app in process (no sockets)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


def auth(world: World, who: str) -> dict[str, str]:
    """The Authorization header of one seeded user's device."""
    return {"Authorization": f"Bearer {world.tokens[who]}"}


@pytest.fixture
def live_world(db_url: str) -> Iterator[World]:
    """A seeded database for a live server, with today's visits (server clock, UTC)."""
    settings = test_settings(db_url)
    engine = make_engine(settings)
    yield seed(engine, settings, datetime.now(UTC).date())
    engine.dispose()
