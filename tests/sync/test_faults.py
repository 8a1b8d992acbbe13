"""SECURITY.md 13 and 23: seeded faults, >= 2,000 records, 5 devices, and the server's database
restored from older backups among the faults: the server ends with exactly the union.

The faults: connections refused, timeouts, errors before and after the server commits,
lost replies, duplicated requests, server restarts; and three times a backup taken while
the devices sync, then, some requests later, the server stopped and that backup restored.
Each restore loses what the devices pushed since its backup, which they have marked
synced: their next sync must hand it in again. 0 lost, 0 duplicated.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import col, select

from sync.client import ServerUnreachable
from sync.server.db import transaction
from sync.server.main import create_app
from sync.server.models import AuditEvent, DeviceRecordRow
from tests.sync.backups import RestoreSchedule
from tests.sync.clientkit import client_for, device_store
from tests.sync.conftest import TODAY, Clock, test_settings
from tests.sync.factories import seed, vitals
from tests.sync.fakes import FakeStore
from tests.sync.faulty import AppHolder, FaultyTransport

DEVICES, RECORDS_EACH, SEED = 5, 420, 20260304


async def _device(
    http: httpx.AsyncClient,
    store: FakeStore,
    who: str,
    p: Any,
    v: Any,
    rng: random.Random,
    restores: RestoreSchedule,
) -> None:
    client = client_for(http, store, batch_size=rng.choice([25, 50, 80]))
    written = 0
    for _ in range(3000):
        if written < RECORDS_EACH:
            burst = min(rng.randint(1, 60), RECORDS_EACH - written)
            for _ in range(burst):
                store.write(vitals(p.id, v.id, who, hr=rng.randint(40, 180)))
            written += burst
        restored_before = restores.restores
        synced = False
        with contextlib.suppress(ServerUnreachable):
            await client.sync_once()
            synced = True
        # A laptop that cannot reach the server waits before it tries again (the server
        # may be down for a restore that waits for a slow request to finish): without the
        # pause the tries run out in a second on a loaded machine.
        await asyncio.sleep(0 if synced else 0.01)
        # A laptop keeps syncing all day: done once all is written and handed in, by a
        # sync that began after the last restore.
        if (
            synced
            and restores.done
            and restored_before == restores.restores
            and written == RECORDS_EACH
            and store.pending_count() == 0
        ):
            return
    raise AssertionError(f"{who} never drained its outbox")


async def test_randomized_faults_and_restores_server_ends_with_exactly_the_union(
    db_url: str, tmp_path: Path
) -> None:
    clock = Clock()
    holder = AppHolder(lambda: create_app(test_settings(db_url), clock=clock))
    world = seed(
        holder.app.state.ctx.engine, holder.app.state.ctx.settings, TODAY, clinicians=DEVICES
    )
    rng = random.Random(SEED)
    restores = RestoreSchedule(db_url, tmp_path, random.Random(SEED + 2))
    transport = FaultyTransport(holder, random.Random(SEED + 1), rate=0.35, restores=restores)
    stores = {who: device_store(world, who) for who in world.patients}
    async with httpx.AsyncClient(transport=transport) as http:
        await asyncio.gather(
            *[
                _device(
                    http,
                    stores[who],
                    who,
                    world.patients[who],
                    world.visits[who],
                    random.Random(rng.random()),
                    restores,
                )
                for who in stores
            ]
        )
    with transaction(holder.app.state.ctx.engine) as session:
        server_ids = session.exec(select(col(DeviceRecordRow.id))).all()
        behind = session.exec(
            select(AuditEvent).where(col(AuditEvent.outcome).in_(["server_behind", "push_gap"]))
        ).all()
    holder.close()
    device_ids = [str(item.record_id) for s in stores.values() for item in s.items.values()]
    assert len(device_ids) == DEVICES * RECORDS_EACH >= 2000
    assert len(server_ids) == len(set(server_ids)) == len(device_ids)  # 0 duplicated
    assert set(server_ids) == set(device_ids)  # 0 lost
    assert all(not s.set_aside() and s.pending_count() == 0 for s in stores.values())
    for s in stores.values():  # each device also got its own scope, and it checks out
        assert len(s.of_kind("visit")) == 1
        assert s.manifest is not None and s.manifest_problems(exact=True) == []
    assert restores.restores == 3 and behind  # the restores happened and were noticed
    assert (
        min(
            transport.seen[f] for f in ("drop", "lost_reply", "duplicate", "restart", "error_after")
        )
        > 0
    )
