"""The cursor under concurrency: two uvicorn workers on one PostgreSQL (one on SQLite),
dispatchers writing while many devices push and pull: each device ends with its scope exactly."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import col, select

from sync.server.db import make_engine, transaction
from sync.server.models import DeviceRecordRow, VisitRow
from tests.sync.clientkit import client_for, device_store
from tests.sync.conftest import test_settings
from tests.sync.factories import World, seed, vitals
from tests.sync.fakes import FakeStore
from tests.sync.live import LiveServer

CLINICIANS, VISITS_EACH = 8, 12


@pytest.fixture
def busy_world(db_url: str) -> Iterator[World]:
    """Eight clinicians with today's visit each."""
    settings = test_settings(db_url)
    engine = make_engine(settings)
    yield seed(engine, settings, datetime.now(UTC).date(), clinicians=CLINICIANS)
    engine.dispose()


async def _dispatch(
    http: httpx.AsyncClient, url: str, world: World, who: str, rng: random.Random
) -> None:
    p, v = world.patients[who], world.visits[who]
    headers = {"Authorization": f"Bearer {world.tokens['disp']}"}
    for i in range(VISITS_EACH):
        body = {
            "patient_id": str(p.id),
            "clinician_id": who,
            "scheduled_on": (v.scheduled_on + timedelta(days=i % 3)).isoformat(),
            "window_start": v.window_start.isoformat(),
            "window_end": v.window_end.isoformat(),
            "duration_min": 60,
            "course": {"number": 1, "of": 6},
            "route_order": i,
        }
        r = await http.post(url + "/dispatch/visits", json=body, headers=headers)
        assert r.status_code == 201, r.text
        if i % 5 == 4:  # and move some on to the next clinician
            other = f"{chr(ord('a') + (ord(who) - ord('a') + 1) % CLINICIANS)}"
            r = await http.patch(
                f"{url}/dispatch/visits/{r.json()['id']}",
                json={"clinician_id": other},
                headers=headers,
            )
            assert r.status_code == 200, r.text
        await asyncio.sleep(rng.random() / 100)


async def _device(
    http: httpx.AsyncClient,
    store: FakeStore,
    world: World,
    who: str,
    done: asyncio.Event,
    rng: random.Random,
) -> None:
    client = client_for(http, store, batch_size=7)
    p, v = world.patients[who], world.visits[who]
    while not done.is_set():
        for _ in range(rng.randint(0, 4)):
            store.write(vitals(p.id, v.id, who))
        await client.sync_once()
        await asyncio.sleep(rng.random() / 50)
    await client.sync_once()


async def test_many_devices_two_workers_each_gets_its_scope_exactly_once(
    db_url: str, busy_world: World
) -> None:
    world = busy_world
    workers = 2 if db_url.startswith("postgresql") else 1
    rng = random.Random(7)
    with LiveServer(db_url, workers=workers) as server:
        stores = {who: device_store(world, who, server.url) for who in world.patients}
        limits = httpx.Limits(max_connections=40)
        async with httpx.AsyncClient(timeout=30, limits=limits) as http:
            done = asyncio.Event()
            devices = [
                asyncio.create_task(
                    _device(http, stores[w], world, w, done, random.Random(rng.random()))
                )
                for w in stores
            ]
            await asyncio.gather(
                *[
                    _dispatch(http, server.url, world, w, random.Random(rng.random()))
                    for w in stores
                ]
            )
            done.set()
            await asyncio.gather(*devices)
    today = datetime.now(UTC).date()
    with transaction(world.engine) as session:
        rows = session.exec(select(VisitRow).where(col(VisitRow.scheduled_on) >= today)).all()
        pushed = session.exec(select(col(DeviceRecordRow.id))).all()
    for who, store in stores.items():
        scope = {
            r.id
            for r in rows
            if r.clinician_id == who and r.scheduled_on <= today + timedelta(days=2)
        }
        assert {str(i) for i in store.of_kind("visit")} == scope, who
        assert store.pending_count() == 0
    written = [str(i.record_id) for s in stores.values() for i in s.items.values()]
    assert sorted(pushed) == sorted(written)
