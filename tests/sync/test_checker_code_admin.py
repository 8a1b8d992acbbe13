"""An admin issues a second checker's one-time code on a colleague's behalf, over the API
or on the server's host (`fieldapp server checker-code USER`): bound to that colleague,
audited without the code, for a clinician or prescriber only."""

from __future__ import annotations

import json
import os
import pwd
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from sync.server.auth import sha256_hex
from sync.server.db import transaction
from sync.server.models import AuditEvent, CheckerCode
from tests.sync.conftest import auth
from tests.sync.factories import World
from tests.sync.test_cli import run

CODE = re.compile(r"^[0-9A-Z]{6}-[0-9A-Z]{4}-[0-9A-Z]{4}$")


def issued(world: World) -> list[tuple[str, str, dict[str, Any]]]:
    """(actor, outcome, detail) of every audited checker code issue."""
    with transaction(world.engine) as session:
        query = select(AuditEvent).where(col(AuditEvent.action) == "checker_code")
        return [(e.actor, e.outcome, json.loads(e.detail)) for e in session.exec(query)]


def codes_of(world: World, user: str) -> list[CheckerCode]:
    """The checker codes issued to `user`."""
    with transaction(world.engine) as session:
        query = select(CheckerCode).where(col(CheckerCode.user_name) == user)
        return list(session.exec(query).all())


async def test_an_admin_issues_a_code_for_a_clinician_only(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    answer = await api.post("/admin/users/a/checker-code", headers=auth(world, "root"))
    assert answer.status_code == 201
    body = answer.json()
    assert body["user"] == "a" and CODE.match(body["code"])
    (row,) = codes_of(world, "a")
    code_id, secret = body["code"][:6], body["code"][7:].replace("-", "")
    assert row.issued_by == "root"  # both parts kept only as hashes
    assert (row.id_hash, row.secret_hash) == (sha256_hex(code_id), sha256_hex(secret))
    for who in ("disp", "root", "nobody"):  # no one else checks a dose
        refused = await api.post(f"/admin/users/{who}/checker-code", headers=auth(world, "root"))
        assert refused.status_code == 404
    assert issued(world) == [("root", "issued", {"user": "a"})]


def test_the_server_host_prints_a_code(
    db_url: str,
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FIELDAPP_USER_CONFIG", str(tmp_path / "none.toml"))
    status, out = run(capsys, "server", "--database-url", db_url, "checker-code", "b")
    assert status == 0, out
    found = re.search(r"checker code for b: (\S+)", out)
    assert found is not None and CODE.match(found[1]) and "valid for 30 minutes" in out
    who = f"cli:{pwd.getpwuid(os.geteuid()).pw_name}"  # the account that ran it, not a name
    assert [row.issued_by for row in codes_of(world, "b")] == [who]
    assert issued(world) == [(who, "ok", {"user": "b"})]
    status, out = run(capsys, "server", "--database-url", db_url, "checker-code", "disp")
    assert status == 2 and "no active clinician or prescriber 'disp'" in out
