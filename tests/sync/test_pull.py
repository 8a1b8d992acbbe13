"""Pull: pages to the end, resumes after a crash, removals, expired cursors, conflict flags."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from sync.client import DeviceRevoked
from sync.server import audit, crud
from sync.server.db import transaction
from sync.server.main import create_app
from sync.server.models import Device, DeviceRecordRow, VisitRow
from sync.server.schemas import VisitUpdate
from tests.sync.clientkit import client_for, device_store
from tests.sync.conftest import TODAY, Clock, auth, test_settings
from tests.sync.factories import T0, World, dose, seed, status, visit, vitals
from tests.sync.fakes import SimulatedCrash


def _many_visits(world: World, count: int) -> set[Any]:
    """`count` visits for a, all written in one transaction with one timestamp."""
    p = world.patients["a"]
    made = [visit(p.id, "a", TODAY + timedelta(days=i % 3)) for i in range(count)]
    with transaction(world.engine) as session:
        for v in made:
            crud.put_visit(session, v, T0)
    return {v.id for v in made} | {world.visits["a"].id}


@pytest.fixture
def paged(db_url: str, clock: Clock) -> Any:
    """An app whose pull pages hold at most 100 records."""
    app = create_app(test_settings(db_url, pull_page_size=100), clock=clock)
    yield app
    app.state.ctx.engine.dispose()


async def test_1000_changes_one_timestamp_pages_of_100_reach_the_end(paged: Any) -> None:
    world = seed(paged.state.ctx.engine, paged.state.ctx.settings, TODAY)
    expected = _many_visits(world, 1000)
    store = device_store(world, "a")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=paged)) as http:
        report = await client_for(http, store).sync_once()
    assert set(store.of_kind("visit")) == expected
    assert report.pages >= 10


async def test_crash_mid_pull_resumes_with_nothing_skipped(paged: Any) -> None:
    world = seed(paged.state.ctx.engine, paged.state.ctx.settings, TODAY)
    expected = _many_visits(world, 450)
    store = device_store(world, "a")
    store.crash_on_apply_after = 2  # two pages saved, the third kills the process
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=paged)) as http:
        with pytest.raises(SimulatedCrash):
            await client_for(http, store).sync_once()
        assert 0 < len(store.of_kind("visit")) < len(expected)
        await client_for(http, store).sync_once()
    assert set(store.of_kind("visit")) == expected


async def test_reassigned_visit_is_removed_from_the_old_clinician(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    a, b = device_store(world, "a"), device_store(world, "b")
    await client_for(api, a).sync_once()
    await client_for(api, b).sync_once()
    moved = world.visits["a"]
    with transaction(world.engine) as session:
        crud.update_visit(
            session, session.get(VisitRow, str(moved.id)), VisitUpdate(clinician_id="b"), T0
        )
    await client_for(api, a).sync_once()
    await client_for(api, b).sync_once()
    assert a.of_kind("visit") == {} and a.of_kind("patient") == {}
    assert set(b.of_kind("visit")) == {moved.id, world.visits["b"].id}


async def test_removal_waits_until_the_records_about_it_are_pushed(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    a = device_store(world, "a")
    await client_for(api, a).sync_once()
    v = world.visits["a"]
    with transaction(world.engine) as session:
        crud.update_visit(
            session, session.get(VisitRow, str(v.id)), VisitUpdate(clinician_id="b"), T0
        )
    a.write(vitals(v.patient_id, v.id, "a"))
    client = client_for(api, a)
    await client.pull()  # pull first: the removal must wait for the unpushed vitals
    assert v.id in a.of_kind("visit")
    await client.sync_once()  # pushed (a still had it), then the deferred removal applies
    assert a.of_kind("visit") == {}


async def test_expired_cursor_starts_again_and_keeps_the_outbox(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    store = device_store(world, "a")
    store.cursor = "v1.0000000000000000.5.20300304"  # another database's cursor
    resp = await api.post(
        "/sync/pull",
        json={"cursor": store.cursor, "head": {"seq": 0, "chain_hash": "0" * 64}},
        headers=auth(world, "a"),
    )
    assert resp.status_code == 410 and resp.json()["error"] == "cursor_expired"
    store.write(vitals(world.patients["a"].id, world.visits["a"].id, "a"))
    report = await client_for(api, store).sync_once()
    assert report.cursor_resets == 1 and report.pushed == {"applied": 1}
    assert set(store.of_kind("visit")) == {world.visits["a"].id}


@pytest.mark.parametrize("office_first", [False, True])
@pytest.mark.parametrize("road_event", ["infusion_started", "dose_given"])
async def test_office_cancellation_vs_road_infusion_both_kept_and_flagged(
    app: Any, world: World, api: httpx.AsyncClient, office_first: bool, road_event: str
) -> None:
    v = world.visits["a"]
    store = device_store(world, "a")
    await client_for(api, store).sync_once()
    store.write(  # offline, on the road
        dose(v.patient_id, v.id, "a")
        if road_event == "dose_given"
        else status(v.patient_id, v.id, "a", road_event)
    )

    async def cancel() -> None:
        r = await api.post(f"/dispatch/visits/{v.id}/cancel", headers=auth(world, "disp"))
        assert r.status_code == 200

    if office_first:
        await cancel()
        await client_for(api, store).sync_once()
    else:
        await client_for(api, store).sync_once()
        await cancel()
        await client_for(api, store).sync_once()
    flagged = await api.get(
        "/dispatch/visits", params={"flagged": True}, headers=auth(world, "disp")
    )
    [seen] = flagged.json()
    assert seen["status"] == "cancelled" and seen["review_flags"] == [
        crud.FLAG_CANCELLED_AFTER_START
    ]
    with transaction(world.engine) as session:
        assert (
            session.get(DeviceRecordRow, str(store.items[1].record_id)) is not None
        )  # the road's event stands
    on_device = store.of_kind("visit")[v.id]
    assert on_device.status == "cancelled" and on_device.review_flags == [
        crud.FLAG_CANCELLED_AFTER_START
    ]  # type: ignore[attr-defined]


async def test_revoked_device_pushes_its_work_then_wipes(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    v = world.visits["a"]
    store = device_store(world, "a")
    await client_for(api, store).sync_once()
    for _ in range(5):
        store.write(vitals(v.patient_id, v.id, "a"))
    r = await api.post(
        f"/admin/devices/{world.device_ids['a']}/revoke", headers=auth(world, "root")
    )
    assert r.status_code == 200
    pulled = await api.post(
        "/sync/pull",
        json={"cursor": None, "head": {"seq": 0, "chain_hash": "0" * 64}},
        headers=auth(world, "a"),
    )
    assert (
        pulled.status_code == 401
        and pulled.json()["error"] == "device_revoked"
        and pulled.json()["wipe"] is True
    )
    with pytest.raises(DeviceRevoked) as caught:
        await client_for(api, store).sync_once()
    assert "handed in" in str(caught.value)
    assert store.wiped and not store.items
    with transaction(world.engine) as session:
        stored = session.exec(
            select(DeviceRecordRow).where(DeviceRecordRow.device_id == world.device_ids["a"])
        ).all()
        device = session.get(Device, world.device_ids["a"])
        assert len(stored) == 5 and device is not None and device.wiped_at is not None
        events = session.exec(select(audit.AuditEvent).order_by(col(audit.AuditEvent.seq))).all()
        actions = [e.action for e in events]
    assert "revoke_device" in actions and actions[-1] == "wipe"


async def test_a_pull_notes_when_the_device_was_last_seen(
    world: World, api: httpx.AsyncClient, clock: Clock
) -> None:
    before = (await api.get("/admin/devices", headers=auth(world, "root"))).json()
    assert {d["id"]: d["last_seen_at"] for d in before}[world.device_ids["a"]] is None
    clock.advance(minutes=5)
    await client_for(api, device_store(world, "a")).sync_once()
    after = (await api.get("/admin/devices", headers=auth(world, "root"))).json()
    seen = {d["id"]: d["last_seen_at"] for d in after}
    assert seen[world.device_ids["a"]] == clock.now.isoformat().replace("+00:00", "Z")
    assert seen[world.device_ids["b"]] is None  # only the device that pulled
