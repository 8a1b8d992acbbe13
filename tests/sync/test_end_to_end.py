"""End to end through a real uvicorn on loopback, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from sync.client import ServerUnreachable, enroll
from sync.server.auth import create_enroll_code
from sync.server.db import transaction
from sync.server.models import DeviceRecordRow
from tests.sync.clientkit import client_for, device_store
from tests.sync.factories import World, vitals
from tests.sync.fakes import FakeStore
from tests.sync.live import LiveServer


def _stored(world: World) -> int:
    with transaction(world.engine) as session:
        return int(session.execute(select(func.count()).select_from(DeviceRecordRow)).scalar_one())


async def test_device_records_reach_server_and_plan_reaches_device(
    db_url: str, live_world: World
) -> None:
    world = live_world
    with transaction(world.engine) as session:
        code, _ = create_enroll_code(session, "a", world.settings, datetime.now(UTC).timestamp())
    with LiveServer(db_url) as server:
        async with httpx.AsyncClient(timeout=10) as http:
            store = FakeStore()
            identity = await enroll(server.url, code, store, http=http, device_name="car laptop")
            assert store.identity == identity and identity.token not in repr(identity)
            p, v = world.patients["a"], world.visits["a"]
            for hr in range(60, 70):
                store.write(vitals(p.id, v.id, "a", hr=hr))
            report = await client_for(http, store).sync_once()
            assert report.pushed == {"applied": 10}
            assert _stored(world) == 10
            assert v.id in store.of_kind("visit")
            # a dispatcher plans one more visit today for a; the device gets it at the next sync
            disp = {"Authorization": f"Bearer {world.tokens['disp']}"}
            body = {
                "patient_id": str(p.id),
                "clinician_id": "a",
                "scheduled_on": v.scheduled_on.isoformat(),
                "window_start": v.window_start.isoformat(),
                "window_end": v.window_end.isoformat(),
                "duration_min": 60,
                "course": {"number": 2, "of": 6},
            }
            made = await http.post(server.url + "/dispatch/visits", json=body, headers=disp)
            assert made.status_code == 201, made.text
            await client_for(http, store).sync_once()
            assert {str(i) for i in store.of_kind("visit")} == {str(v.id), made.json()["id"]}


async def test_server_killed_after_commit_before_reply_no_duplicate(
    db_url: str, live_world: World
) -> None:
    world = live_world
    store = device_store(world, "a")
    p, v = world.patients["a"], world.visits["a"]
    for hr in range(60, 90):
        store.write(vitals(p.id, v.id, "a", hr=hr))
    env = {"FIELDAPP_TEST_KILL_AFTER_PUSH": "1"}
    server = LiveServer(db_url, factory="tests.sync.live_app:create", env=env).start()
    store.identity = store.identity.__class__(
        server.url, store.identity.device_id, store.identity.token
    )  # type: ignore[union-attr]
    async with httpx.AsyncClient(timeout=10) as http:
        with pytest.raises(ServerUnreachable):
            await client_for(http, store).sync_once()
        server.wait_dead()
        assert _stored(world) == 30  # committed before the process died
        assert store.pending_count() == 30  # the device never heard
        restarted = LiveServer(db_url)
        restarted.port, restarted.url = server.port, server.url
        with restarted:
            report = await client_for(http, store).sync_once()
    assert report.pushed == {"duplicate": 30}
    assert store.pending_count() == 0
    assert _stored(world) == 30
