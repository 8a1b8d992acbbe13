"""SECURITY.md 24: metadata around a record edited in the store file is caught by `store verify`
and by the next sync, which puts things right.

The edits are made with sqlite3 on the closed file, as any process with file access could:
an outbox entry's state flipped from pending to synced (the record would never be sent), a
visit row deleted, a visit row replaced by its own older ciphertext and version (the office's
"dog on premises" flag would vanish), the clinic's stored manifest changed. On SQLite and
PostgreSQL servers, in process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from fieldapp.cli import main
from fieldapp.store import Store
from sync.server import crud
from sync.server.db import transaction
from sync.server.models import DeviceRecordRow, VisitRow
from sync.server.schemas import VisitUpdate
from tests.sync.clientkit import client_for, edit_store_file, enrolled_store, reopened
from tests.sync.conftest import TODAY
from tests.sync.factories import T0, World, vitals

DOG = "dog on premises"


def _stored(app: Any) -> set[str]:
    with transaction(app.state.ctx.engine) as session:
        return set(session.exec(select(col(DeviceRecordRow.id))).all())


def _save(store: Store, world: World, count: int) -> list[str]:
    p, v = world.patients["a"], world.visits["a"]
    records = [vitals(p.id, v.id, "a", hr=60 + i) for i in range(count)]
    store.save_many(records)
    return [str(r.id) for r in records]


def _flag_dog(world: World) -> None:
    with transaction(world.engine) as session:
        row = session.get(VisitRow, str(world.visits["a"].id))
        assert row is not None
        crud.update_visit(session, row, VisitUpdate(safety_flags=[DOG]), T0)


def _cli_verify(path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> tuple[int, str]:
    """`fieldapp store verify --store PATH`, as support would run it."""
    monkeypatch.setenv("FIELDAPP_USER_CONFIG", str(path.with_name("no-user-config.toml")))
    monkeypatch.setenv("FIELDAPP_PASSPHRASE", "synthetic passphrase one")
    capsys.readouterr()
    code = main(["store", "verify", "--store", str(path)])
    return code, capsys.readouterr().out


async def test_outbox_state_flipped_to_synced_fails_verify_and_sync_resends_it(
    app: Any,
    world: World,
    api: httpx.AsyncClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    laptop = await enrolled_store(tmp_path / "a.store", api, world, "a")
    ids = _save(laptop, world, 10)
    laptop.close()
    assert edit_store_file(laptop.path, "UPDATE outbox SET state = 'synced' WHERE seq = 5") == 1
    code, out = _cli_verify(laptop.path, monkeypatch, capsys)
    assert code == 1 and "FAILED outbox state: outbox entry 5 is marked synced" in out
    laptop = reopened(laptop)
    assert laptop.pending_count() == 9  # what the app would show: one record hidden
    report = await client_for(api, laptop).sync_once()
    assert _stored(app) == set(ids)  # the hidden one too: the server refused the gap
    assert report.resent == 1 and report.pushed == {"applied": 10}
    assert laptop.verify().ok and laptop.pending_count() == 0
    assert _cli_verify(laptop.path, monkeypatch, capsys)[0] == 0


async def test_newest_entry_flipped_after_a_sync_is_sent_all_the_same(
    app: Any, world: World, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    laptop = await enrolled_store(tmp_path / "a.store", api, world, "a")
    ids = _save(laptop, world, 3)
    await client_for(api, laptop).sync_once()
    ids += _save(laptop, world, 2)  # seqs 4 and 5; 5, the newest, is then hidden
    laptop.close()
    edit_store_file(laptop.path, "UPDATE outbox SET state = 'synced' WHERE seq = 5")
    laptop = reopened(laptop)
    [problem] = laptop.verify().outbox_problems
    assert "entry 5" in problem and "confirmed only up to 3" in problem
    report = await client_for(api, laptop).sync_once()
    assert _stored(app) == set(ids) and report.resent == 1
    assert laptop.verify().ok


async def test_hidden_entry_with_nothing_else_to_send_is_caught_by_the_pull(
    app: Any, world: World, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    laptop = await enrolled_store(tmp_path / "a.store", api, world, "a")
    ids = _save(laptop, world, 2)
    laptop.close()
    edit_store_file(laptop.path, "UPDATE outbox SET state = 'synced'")  # every entry hidden
    laptop = reopened(laptop)
    assert laptop.pending_count() == 0 and not laptop.verify().ok
    report = await client_for(api, laptop).sync_once()
    assert _stored(app) == set(ids) and report.resent == 2


async def test_set_aside_state_without_the_servers_reason_fails_verify(
    world: World, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    laptop = await enrolled_store(tmp_path / "a.store", api, world, "a")
    _save(laptop, world, 3)
    await client_for(api, laptop).sync_once()
    laptop.close()
    edit_store_file(laptop.path, "UPDATE outbox SET state = 'rejected' WHERE seq = 2")
    laptop = reopened(laptop)
    assert laptop.verify().outbox_problems == [
        "outbox entry 2 is marked rejected with no reason from the server"
    ]


async def test_visit_row_deleted_is_reported_at_unlock_and_in_verify_and_sync_restores_it(
    world: World,
    api: httpx.AsyncClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    laptop = await enrolled_store(tmp_path / "a.store", api, world, "a")
    await client_for(api, laptop).sync_once()
    visit_id = str(world.visits["a"].id)
    laptop.close()
    assert edit_store_file(laptop.path, "DELETE FROM records WHERE kind = 'visit'") == 1
    code, out = _cli_verify(laptop.path, monkeypatch, capsys)
    assert code == 1 and f"FAILED clinic record: visit {visit_id} is missing" in out
    laptop = reopened(laptop)
    assert laptop.unlock_findings == (f"visit {visit_id} is missing (the clinic sent version 1)",)
    assert laptop.visits_for_day(TODAY) == []
    await client_for(api, laptop).sync_once()
    assert [str(v.id) for v in laptop.visits_for_day(TODAY)] == [visit_id]
    assert laptop.verify().ok
    assert reopened(laptop).unlock_findings == ()


async def test_visit_row_rolled_back_to_its_older_copy_is_caught_and_sync_restores_it(
    world: World, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    laptop = await enrolled_store(tmp_path / "a.store", api, world, "a")
    await client_for(api, laptop).sync_once()
    older = laptop._open_db().query(  # the row as it is now, kept by whoever edits the file
        "SELECT version, nonce, ct FROM records WHERE kind = 'visit'"
    )[0]
    _flag_dog(world)
    await client_for(api, laptop).sync_once()
    assert DOG in laptop.visits_for_day(TODAY)[0].safety_flags
    laptop.close()
    edit_store_file(
        laptop.path, "UPDATE records SET version = ?, nonce = ?, ct = ? WHERE kind = 'visit'", older
    )
    laptop = reopened(laptop)
    assert DOG not in laptop.visits_for_day(TODAY)[0].safety_flags  # what the app would show
    [finding] = laptop.unlock_findings
    assert "at version 1, older than the version 2 the clinic sent" in finding
    assert not laptop.verify().ok
    await client_for(api, laptop).sync_once()
    assert DOG in laptop.visits_for_day(TODAY)[0].safety_flags
    assert laptop.verify().ok


async def test_row_and_manifest_rolled_back_together_are_caught_by_the_next_sync(
    world: World, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    laptop = await enrolled_store(tmp_path / "a.store", api, world, "a")
    await client_for(api, laptop).sync_once()
    db = laptop._open_db()
    older_row = db.query("SELECT version, nonce, ct FROM records WHERE kind = 'visit'")[0]
    older_manifest = db.query("SELECT nonce, ct FROM secrets WHERE name = 'manifest'")[0]
    _flag_dog(world)
    await client_for(api, laptop).sync_once()
    laptop.close()
    edit_store_file(
        laptop.path,
        "UPDATE records SET version = ?, nonce = ?, ct = ? WHERE kind = 'visit'",
        older_row,
    )
    edit_store_file(
        laptop.path, "UPDATE secrets SET nonce = ?, ct = ? WHERE name = 'manifest'", older_manifest
    )
    laptop = reopened(laptop)
    # Consistent with the old list, so nothing to see offline; the clinic's fresh list at
    # the next sync shows the row is behind, although the cursor says nothing changed.
    assert laptop.unlock_findings == ()
    report = await client_for(api, laptop).sync_once()
    assert report.refetched == 1
    assert DOG in laptop.visits_for_day(TODAY)[0].safety_flags
    assert laptop.verify().ok


async def test_changed_manifest_is_reported_and_replaced_at_the_next_sync(
    world: World, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    laptop = await enrolled_store(tmp_path / "a.store", api, world, "a")
    await client_for(api, laptop).sync_once()
    [(ct,)] = laptop._open_db().query("SELECT ct FROM secrets WHERE name = 'manifest'")
    laptop.close()
    flipped = ct[:20] + bytes([ct[20] ^ 1]) + ct[21:]
    edit_store_file(laptop.path, "UPDATE secrets SET ct = ? WHERE name = 'manifest'", (flipped,))
    laptop = reopened(laptop)
    assert laptop.unlock_findings == (
        "the clinic's list of records kept in the store failed verification",
    )
    assert laptop.pull_cursor() is None  # everything is fetched again
    await client_for(api, laptop).sync_once()
    assert laptop.verify().ok and reopened(laptop).unlock_findings == ()
