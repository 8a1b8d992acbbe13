"""SECURITY.md 23: the server's database restored from an older copy while devices keep syncing.

Detected (the device was confirmed more than the restored server holds, or pushes past its
head), audited (`server_behind`), and every device hands in again what the server lost,
before its next pull: after one more sync each, the server holds every record exactly once.
On SQLite and PostgreSQL, with an encrypted store and in-memory ones side by side.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import col, select

from sync.client import SyncClient
from sync.server import crud
from sync.server.db import transaction
from sync.server.main import create_app
from sync.server.models import AuditEvent, DeviceRecordRow, VisitRow
from sync.server.schemas import VisitUpdate
from tests.sync.backups import backup_database, restore_database
from tests.sync.clientkit import client_for, device_store, enrolled_store, reopened
from tests.sync.conftest import TODAY, Clock, test_settings
from tests.sync.factories import T0, World, seed, vitals
from tests.sync.faulty import AppHolder

DOG = "dog on premises"


def _server_ids(holder: AppHolder) -> list[str]:
    with transaction(holder.app.state.ctx.engine) as session:
        return list(session.exec(select(col(DeviceRecordRow.id))).all())


def _write(store: Any, world: World, who: str, count: int) -> None:
    """`count` vitals readings on one device (`write` in memory, `save` in a real store)."""
    save = getattr(store, "write", None) or store.save
    p, v = world.patients[who], world.visits[who]
    for i in range(count):
        save(vitals(p.id, v.id, who, hr=60 + i))


def _flag_dog(world: World, who: str) -> None:
    """The office adds a safety flag to one clinician's visit (a new version)."""
    with transaction(world.engine) as session:
        row = session.get(VisitRow, str(world.visits[who].id))
        assert row is not None
        crud.update_visit(session, row, VisitUpdate(safety_flags=[DOG]), T0)


async def test_restore_mid_day_then_one_sync_each_holds_every_record_once(
    db_url: str, tmp_path: Path
) -> None:
    clock = Clock()
    holder = AppHolder(lambda: create_app(test_settings(db_url), clock=clock))
    world = seed(holder.app.state.ctx.engine, holder.app.state.ctx.settings, TODAY, clinicians=3)
    transport = httpx.ASGITransport(app=holder.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        laptop = await enrolled_store(tmp_path / "a.store", http, world, "a")
        others = {who: device_store(world, who) for who in ("b", "c")}
        clients: dict[str, SyncClient] = {
            "a": client_for(http, laptop),
            **{who: client_for(http, store) for who, store in others.items()},
        }
        stores: dict[str, Any] = {"a": laptop, **others}

        async def everyone_syncs() -> None:
            await asyncio.gather(*(client.sync_once() for client in clients.values()))

        for who, store in stores.items():  # the morning
            _write(store, world, who, 5)
        await everyone_syncs()
        # the nightly copy is taken while the laptops keep handing in their work
        for who, store in stores.items():
            _write(store, world, who, 4)
        copy = tmp_path / "mid-day.backup"
        await asyncio.gather(asyncio.to_thread(backup_database, db_url, copy), everyone_syncs())
        for who, store in stores.items():  # the afternoon
            _write(store, world, who, 7)
        _flag_dog(world, "a")
        await everyone_syncs()
        assert all(store.pending_count() == 0 for store in stores.values())
        assert DOG in laptop.visits_for_day(TODAY)[0].safety_flags
        written = sorted(_server_ids(holder))
        assert len(written) == 3 * 16

        # the database is lost and restored from the copy: the server stops and starts again
        holder.app.state.ctx.engine.dispose()
        restore_database(db_url, copy)
        holder.restart()
        transport.app = holder.app
        assert len(_server_ids(holder)) < len(written)  # the afternoon is gone
        _write(others["b"], world, "b", 2)  # b has new work: it meets the restore on push

        reports = {who: await client.sync_once() for who, client in clients.items()}
        laptop = reopened(laptop)
        assert laptop.verify().ok

    everything = [str(r.id) for r in laptop.records_of_kind("vitals")] + [
        str(item.record_id) for store in others.values() for item in store.items.values()
    ]
    on_server = _server_ids(holder)
    assert len(on_server) == len(set(on_server)) == len(everything) == 3 * 16 + 2
    assert set(on_server) == set(everything)
    for who, report in reports.items():
        assert report.server_restored and report.resent > 0, who
    assert laptop.pending_count() == 0 and all(s.pending_count() == 0 for s in others.values())
    # the clinic's own rows went back with the restore: the laptop shows the clinic's copy
    assert DOG not in laptop.visits_for_day(TODAY)[0].safety_flags
    assert reports["a"].refetched == 1  # its newer copy was replaced by the clinic's
    assert laptop.manifest_problems(exact=True) == [] and laptop.unlock_findings == ()
    with transaction(holder.app.state.ctx.engine) as session:
        noticed = session.exec(
            select(AuditEvent.device_id).where(AuditEvent.outcome == "server_behind")
        ).all()
    holder.close()
    assert set(noticed) == {
        laptop.device_identity().device_id,  # type: ignore[union-attr]
        *(store.identity.device_id for store in others.values()),  # type: ignore[union-attr]
    }
