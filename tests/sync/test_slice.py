"""The first slice: records written on a device reach the server; a visit reaches the device."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from sync.server.db import transaction
from sync.server.models import DeviceRecordRow
from tests.sync.clientkit import client_for, device_store
from tests.sync.factories import World, vitals


def _count(app: Any) -> int:
    with transaction(app.state.ctx.engine) as session:
        return int(session.execute(select(func.count()).select_from(DeviceRecordRow)).scalar_one())


async def test_push_then_pull_round_trip(app: Any, world: World, api: httpx.AsyncClient) -> None:
    store = device_store(world, "a")
    p, v = world.patients["a"], world.visits["a"]
    for hr in (70, 80, 90):
        store.write(vitals(p.id, v.id, "a", hr=hr))
    report = await client_for(api, store).sync_once()
    assert report.pushed == {"applied": 3}
    assert store.pending_count() == 0
    assert _count(app) == 3
    assert set(store.of_kind("visit")) == {v.id}
    assert set(store.of_kind("patient")) == {p.id}
    again = await client_for(api, store).sync_once()
    assert again.pushed == {} and again.pulled == 0
