"""SECURITY.md 21: the audit chain names the first changed, deleted, reordered or inserted entry."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from fieldapp.cli import main as fieldapp_main
from sync.server import audit
from sync.server.db import transaction
from sync.server.migrate import grant_app_role
from tests.sync.conftest import auth
from tests.sync.factories import World

TAMPERS = {
    "changed": ["UPDATE audit_event SET outcome = 'ok-ish' WHERE seq = 5"],
    "deleted": ["DELETE FROM audit_event WHERE seq = 5"],
    "reordered": [
        "UPDATE audit_event SET seq = -1 WHERE seq = 5",
        "UPDATE audit_event SET seq = 5 WHERE seq = 6",
        "UPDATE audit_event SET seq = 6 WHERE seq = -1",
    ],
    "inserted": [
        "UPDATE audit_event SET seq = seq + 1000 WHERE seq >= 5",
        "UPDATE audit_event SET seq = seq - 999 WHERE seq >= 1005",
        "INSERT INTO audit_event (seq, at, actor, device_id, action, outcome, detail, "
        "prev_hash, hash) SELECT 5, at, actor, device_id, action, outcome, detail, "
        "prev_hash, hash FROM audit_event WHERE seq = 4",
    ],
}


async def _events(world: World, api: httpx.AsyncClient) -> None:
    for _ in range(8):
        assert (await api.get("/visits", headers=auth(world, "a"))).status_code == 200


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
async def test_tampering_is_named_at_the_first_bad_entry(
    app: Any, world: World, api: httpx.AsyncClient, db_url: str, tamper: str, capsys: Any
) -> None:
    await _events(world, api)
    with transaction(world.engine) as session:
        assert audit.verify(session)[1] is None
    assert fieldapp_main(["server", "--database-url", db_url, "audit", "verify"]) == 0
    with world.engine.begin() as conn:  # an attacker with the database owner's rights
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
            conn.execute(text("DROP TRIGGER audit_event_no_delete"))
        for statement in TAMPERS[tamper]:
            conn.execute(text(statement))
    with transaction(world.engine) as session:
        _, problem = audit.verify(session)
    assert problem is not None and problem.seq == 5, problem
    capsys.readouterr()
    assert fieldapp_main(["server", "--database-url", db_url, "audit", "verify"]) == 1
    assert "audit entry 5" in capsys.readouterr().out


async def test_audit_rows_cannot_be_changed_by_the_app(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    await _events(world, api)
    with world.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            grant_app_role(conn, "fieldapp_test_app")
            conn.execute(text("SET ROLE fieldapp_test_app"))
            conn.execute(text("SELECT count(*) FROM audit_event"))
            conn.execute(
                text("INSERT INTO rate_bucket (key, tokens, updated) VALUES ('probe', 1, 0)")
            )
        for statement in (
            "UPDATE audit_event SET outcome = 'x' WHERE seq = 1",
            "DELETE FROM audit_event WHERE seq = 1",
        ):
            with pytest.raises(DBAPIError), conn.begin_nested():
                conn.execute(text(statement))
        conn.rollback()
