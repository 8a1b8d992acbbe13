"""Gap-free pushes: the server answers its head for the device, refuses a push that does not
continue from it (with the head, audited), checks every new item's chain link from it, and
keeps the place of a record too large to send."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from alembic import command
from sqlalchemy import create_engine, text
from sqlmodel import col, select

from sync.outbox import push_body
from sync.records import StatusEvent
from sync.server.db import make_engine, transaction
from sync.server.main import create_app
from sync.server.migrate import alembic_config
from sync.server.models import AuditEvent, DeviceRecordRow, ReviewItem
from tests.sync.clientkit import client_for, device_store
from tests.sync.conftest import TODAY, Clock, auth, test_settings
from tests.sync.factories import ON_THE_ROAD, World, seed, vitals
from tests.sync.fakes import FakeStore


def _filled(world: World, count: int) -> FakeStore:
    store = device_store(world, "a")
    p, v = world.patients["a"], world.visits["a"]
    for i in range(count):
        store.write(vitals(p.id, v.id, "a", hr=60 + i))
    return store


def _stored(app: Any) -> int:
    with transaction(app.state.ctx.engine) as session:
        return len(session.exec(select(col(DeviceRecordRow.id))).all())


async def test_every_push_answer_carries_the_head(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    store = _filled(world, 3)
    response = await api.post(
        "/sync/push", json=push_body(store.head, store.items.values()), headers=auth(world, "a")
    )
    assert response.json()["head"] == {"seq": 3, "chain_hash": store.items[3].chain_hash}
    empty = await api.post("/sync/push", json=push_body(store.head, []), headers=auth(world, "a"))
    assert empty.json()["head"]["seq"] == 3


async def test_a_push_that_skips_a_seq_is_refused_with_the_head_and_audited(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    store = _filled(world, 6)
    first = [store.items[s] for s in (1, 2, 3)]
    assert (
        await api.post("/sync/push", json=push_body(store.head, first), headers=auth(world, "a"))
    ).status_code == 200
    for skipping in ([5, 6], [4, 6]):  # a hole before the batch, or inside it
        items = [store.items[s] for s in skipping]
        response = await api.post(
            "/sync/push", json=push_body(store.head, items), headers=auth(world, "a")
        )
        assert response.status_code == 409, response.text
        body = response.json()
        assert body["error"] == "push_gap"
        assert body["head"] == {"seq": 3, "chain_hash": store.items[3].chain_hash}
    assert _stored(app) == 3  # nothing of a refused batch was kept
    with transaction(app.state.ctx.engine) as session:
        refusals = session.exec(select(AuditEvent).where(AuditEvent.outcome == "push_gap")).all()
    assert len(refusals) == 2 and refusals[0].device_id == world.device_ids["a"]


async def test_a_new_item_must_chain_from_the_servers_head(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    store = _filled(world, 4)
    await client_for(api, store).push()
    other = _filled(world, 1)  # seq 1 of another chain, renumbered to follow the head
    forged = push_body(store.head, other.items.values())
    forged["items"][0]["seq"] = 5
    forged["head"] = {"seq": 5, "chain_hash": forged["items"][0]["chain_hash"]}
    response = await api.post("/sync/push", json=forged, headers=auth(world, "a"))
    assert response.status_code == 409 and response.json()["error"] == "store_rolled_back"
    assert _stored(app) == 4


async def test_a_record_too_large_to_send_keeps_its_place_and_the_queue_moves(
    db_url: str, clock: Clock
) -> None:
    app = create_app(test_settings(db_url, max_body_bytes=1500), clock=clock)
    world = seed(app.state.ctx.engine, app.state.ctx.settings, TODAY)
    p, v = world.patients["a"], world.visits["a"]
    store = _filled(world, 2)
    store.write(
        StatusEvent(
            id=uuid.uuid4(),
            patient_id=p.id,
            visit_id=v.id,
            recorded_at=ON_THE_ROAD,
            recorded_by="a",
            status="en_route",
            at=ON_THE_ROAD,
            note="n" * 1900,
        )
    )
    store.write(vitals(p.id, v.id, "a"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        report = await client_for(http, store, batch_size=1).sync_once()
    with transaction(app.state.ctx.engine) as session:
        [review] = session.exec(select(ReviewItem)).all()
    app.state.ctx.engine.dispose()
    assert report.pushed == {"applied": 3, "rejected": 1}
    assert review.seq == 3 and review.payload == "{}" and "larger" in review.reason
    [aside] = store.set_aside()
    assert aside.seq == 3 and "larger" in aside.reason
    assert store.pending_count() == 0 and store.confirmed.seq == 4


def test_migration_brings_a_head_moved_over_a_gap_back_below_it(db_url: str) -> None:
    # Before revision 0003 a push could skip seqs and still move the head past them.
    engine = create_engine(db_url)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0002_dispatch")
    settings = test_settings(db_url)
    world = seed(make_engine(settings), settings, TODAY)
    ids = world.device_ids
    rows = [(ids["a"], seq) for seq in (1, 2, 3, 5, 6)] + [(ids["b"], seq) for seq in (2, 3)]
    with engine.begin() as connection:
        for device, seq in rows:
            connection.execute(
                text(
                    "INSERT INTO device_receipt (device_id, seq, record_id, chain_hash, status)"
                    " VALUES (:d, :s, :r, :h, 'applied')"
                ),
                {"d": device, "s": seq, "r": str(uuid.uuid4()), "h": f"{seq:064x}"},
            )
        connection.execute(text("UPDATE device SET head_seq = 6 WHERE id = :d"), {"d": ids["a"]})
        connection.execute(text("UPDATE device SET head_seq = 3 WHERE id = :d"), {"d": ids["b"]})
        command.upgrade(alembic_config(connection), "head")
        heads = dict(
            connection.execute(text("SELECT id, head_seq || ':' || head_hash FROM device")).all()
        )
    engine.dispose()
    world.engine.dispose()
    assert heads[ids["a"]] == f"3:{3:064x}"  # 4 never arrived: the device sends it again
    assert heads[ids["b"]] == "0:" + "0" * 64  # no seq 1 at all
