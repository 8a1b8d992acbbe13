"""The server's connection pool never hands a request a connection PostgreSQL has closed."""

from __future__ import annotations

import time
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import text

from sync.outbox import GENESIS_CHAIN_HASH
from tests.sync.conftest import PG_DSN, auth
from tests.sync.factories import World

PULL = {"head": {"seq": 0, "chain_hash": GENESIS_CHAIN_HASH}}


def _pooled_backend(app: Any) -> int:
    """The process id of the PostgreSQL backend behind the pool's idle connection."""
    with app.state.ctx.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(pid: int) -> None:
    """End one backend, as a restart or an idle timeout would, and wait until it is gone."""
    with psycopg.connect(PG_DSN, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        for _ in range(200):
            gone = admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,))
            if gone.fetchone() is None:
                return
            time.sleep(0.01)
    raise AssertionError(f"backend {pid} did not end")


async def test_a_connection_the_server_closed_is_replaced_not_handed_out(
    db_url: str, app: Any, world: World, api: httpx.AsyncClient
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL closes connections; SQLite has none to close")
    first = await api.post("/sync/pull", json=PULL, headers=auth(world, "a"))
    assert first.status_code == 200, first.text  # the pool now holds a used connection
    closed = _pooled_backend(app)
    _terminate(closed)

    # No retry here: the request itself must be served on a connection that works.
    answer = await api.post("/sync/pull", json=PULL, headers=auth(world, "a"))

    assert answer.status_code == 200, answer.text
    assert _pooled_backend(app) != closed
