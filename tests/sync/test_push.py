"""Push: each record once, bad ones set aside, conflicts kept, oversize split, rollback caught."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from sync.client import StoreRolledBack
from sync.outbox import push_body
from sync.records import ClosedVial, DayClosure, SessionNote
from sync.server.db import transaction
from sync.server.main import create_app
from sync.server.models import DeviceRecordRow, Receipt, ReviewItem
from tests.sync.clientkit import client_for, device_store
from tests.sync.conftest import TODAY, Clock, test_settings
from tests.sync.factories import ON_THE_ROAD, World, seed, vitals
from tests.sync.fakes import SimulatedCrash


def _rows(app: Any, model: Any) -> list[Any]:
    with transaction(app.state.ctx.engine) as session:
        return list(session.execute(select(model)).scalars())


async def test_a_record_is_stored_as_the_exact_bytes_its_hash_covers(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    p, v = world.patients["a"], world.visits["a"]
    note = SessionNote(
        id=uuid.uuid4(),
        patient_id=p.id,
        visit_id=v.id,
        recorded_at=ON_THE_ROAD,
        recorded_by="a",
        status="draft",
        # what JSON escapes: quotes, a backslash, line breaks, a tab, text beyond ASCII
        subjective='She said "better"\\today\n\tno nausea; caf\u00e9 \u2014 \U0001f642',
    )
    store = device_store(world, "a")
    store.write(note)
    store.write(vitals(p.id, v.id, "a", hr=71))
    report = await client_for(api, store).sync_once()
    assert report.pushed == {"applied": 2}
    stored = {row.id: row for row in _rows(app, DeviceRecordRow)}[str(note.id)]
    assert stored.payload == note.canonical_json().decode()
    assert stored.content_hash == note.content_hash()
    assert SessionNote.model_validate_json(stored.payload) == note


async def test_same_id_other_content_is_refused_and_kept(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    p, v = world.patients["a"], world.visits["a"]
    first = vitals(p.id, v.id, "a", hr=70)
    store = device_store(world, "a")
    store.write(first)
    await client_for(api, store).sync_once()
    # the same id with other content, from the same device (a bug, or tampering)
    store.write(first.model_copy(update={"heart_rate_bpm": 150}))
    report = await client_for(api, store).sync_once()
    assert report.pushed == {"conflict": 1}
    [kept] = _rows(app, DeviceRecordRow)
    assert json.loads(kept.payload)["heart_rate_bpm"] == 70  # never replaced
    [review] = _rows(app, ReviewItem)
    assert review.status == "conflict" and json.loads(review.payload)["heart_rate_bpm"] == 150
    assert [item.status for item in store.set_aside()] == ["conflict"]
    assert store.pending_count() == 0


async def test_one_invalid_among_100_is_set_aside_and_queue_moves(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    p, v = world.patients["a"], world.visits["a"]
    store = device_store(world, "a")
    for i in range(100):
        if i == 42:
            bad = vitals(p.id, v.id, "a").model_dump(mode="json") | {"heart_rate_bpm": 900}
            store.write_raw("vitals", uuid.UUID(bad["id"]), bad, "ab" * 32)
        else:
            store.write(vitals(p.id, v.id, "a", hr=60 + i % 50))
    report = await client_for(api, store, batch_size=30).sync_once()
    assert report.pushed == {"applied": 99, "rejected": 1}
    assert store.pending_count() == 0
    [aside] = store.set_aside()
    assert aside.seq == 43 and "heart_rate_bpm" in aside.reason and "900" not in aside.reason
    assert len(_rows(app, DeviceRecordRow)) == 99
    [review] = _rows(app, ReviewItem)
    assert review.status == "rejected" and review.seq == 43
    # more work after it goes through as usual
    store.write(vitals(p.id, v.id, "a"))
    assert (await client_for(api, store).sync_once()).pushed == {"applied": 1}


async def test_control_characters_and_lone_surrogates_are_set_aside_not_a_500(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    # Found by schemathesis: text no database column takes (NUL, half a surrogate pair)
    # in an unknown kind, a field name and a value must be kept for review like any junk
    # (a lone surrogate in the kind itself is refused with the whole body, 422).
    p, v = world.patients["a"], world.visits["a"]
    store = device_store(world, "a")
    junk = {"\x00key\ud800": "nul\x00here", "id": str(uuid.uuid4())}
    store.write_raw("vit\x00als", uuid.UUID(junk["id"]), junk, "ab" * 32)
    bad = vitals(p.id, v.id, "a").model_dump(mode="json") | {"\x00\ud800": 1}
    store.write_raw("vitals", uuid.UUID(bad["id"]), bad, "ab" * 32)
    store.write(vitals(p.id, v.id, "a"))
    # sent as escaped JSON, as a hostile client would (httpx itself cannot encode them)
    body = push_body(store.head, store.items.values())
    response = await api.post(
        "/sync/push",
        content=json.dumps(body),
        headers={
            "Authorization": f"Bearer {world.tokens['a']}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 200, response.text
    statuses = [result["status"] for result in response.json()["results"]]
    assert statuses == ["rejected", "rejected", "applied"]
    reviews = sorted(_rows(app, ReviewItem), key=lambda review: review.seq)
    assert [review.kind for review in reviews] == ["vit\\x00als", "vitals"]
    assert all("\x00" not in review.reason for review in reviews)
    assert json.loads(reviews[0].payload) == junk


async def test_a_replay_with_gaps_in_its_seqs_gets_the_first_answers(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    # Receipts are read as a range for a run of seqs and by list for a sparse batch.
    p, v = world.patients["a"], world.visits["a"]
    store = device_store(world, "a")
    for i in range(50):
        store.write(vitals(p.id, v.id, "a", hr=60 + i))
    assert (await client_for(api, store).sync_once()).pushed == {"applied": 50}
    sparse = [store.items[1], store.items[25], store.items[50]]
    response = await api.post(
        "/sync/push",
        json=push_body(store.head, sparse),
        headers={"Authorization": f"Bearer {world.tokens['a']}"},
    )
    assert response.status_code == 200, response.text
    answers = [(r["seq"], r["status"]) for r in response.json()["results"]]
    assert answers == [(1, "duplicate"), (25, "duplicate"), (50, "duplicate")]
    # the receipts really were found: a seq sent again with another chain is a rollback
    forked = push_body(store.head, sparse)
    forked["items"][1]["chain_hash"] = "cd" * 32
    response = await api.post(
        "/sync/push", json=forked, headers={"Authorization": f"Bearer {world.tokens['a']}"}
    )
    assert response.status_code == 409 and response.json()["error"] == "store_rolled_back"
    assert len(_rows(app, DeviceRecordRow)) == 50


async def test_a_days_close_concerning_no_patient_reaches_the_clinic(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    store = device_store(world, "a")
    now = datetime.now(UTC)
    store.write(
        DayClosure(
            id=uuid.uuid4(),
            recorded_at=now,
            recorded_by="a",
            day=now.date(),
            closed_at=now,
            vials=[ClosedVial(vial_id="V-1", status="balanced")],
        )
    )
    assert (await client_for(api, store).sync_once()).pushed == {"applied": 1}
    [row] = _rows(app, DeviceRecordRow)
    assert row.kind == "day_close" and row.patient_id is None


async def test_oversize_batch_is_split(db_url: str, clock: Clock) -> None:
    app = create_app(test_settings(db_url, max_body_bytes=20_000), clock=clock)
    world = seed(app.state.ctx.engine, app.state.ctx.settings, TODAY)
    store = device_store(world, "a")
    p, v = world.patients["a"], world.visits["a"]
    for i in range(150):
        store.write(vitals(p.id, v.id, "a", hr=60 + i % 50))
    transport = httpx.ASGITransport(app=app)
    sizes: list[int] = []

    async def record(request: httpx.Request) -> None:
        if request.url.path == "/sync/push":
            sizes.append(len(json.loads(request.content)["items"]))

    async with httpx.AsyncClient(transport=transport, event_hooks={"request": [record]}) as http:
        report = await client_for(http, store, batch_size=150).sync_once()
    app.state.ctx.engine.dispose()
    assert report.pushed == {"applied": 150}
    assert sizes[0] == 150 and max(sizes[1:]) < 150  # refused whole, then halves
    assert store.pending_count() == 0


async def test_device_killed_between_server_commit_and_ack(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    p, v = world.patients["a"], world.visits["a"]
    store = device_store(world, "a")
    for i in range(20):
        store.write(vitals(p.id, v.id, "a", hr=60 + i))
    store.crash_on_ack = True
    with pytest.raises(SimulatedCrash):
        await client_for(api, store).sync_once()
    assert len(_rows(app, DeviceRecordRow)) == 20 and store.pending_count() == 20
    report = await client_for(api, store).sync_once()  # the device starts again
    assert report.pushed == {"duplicate": 20}
    assert len(_rows(app, DeviceRecordRow)) == 20


async def test_store_replaced_by_older_copy_is_detected(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    p, v = world.patients["a"], world.visits["a"]
    store = device_store(world, "a")
    store.write(vitals(p.id, v.id, "a"))
    await client_for(api, store).sync_once()
    backup = store.snapshot()
    for _ in range(3):
        store.write(vitals(p.id, v.id, "a"))
    await client_for(api, store).sync_once()
    with pytest.raises(StoreRolledBack) as caught:
        await client_for(api, backup).sync_once()
    assert "older copy" in str(caught.value)
    # an old copy that wrote new records past the server's head forks the chain: also caught
    for _ in range(5):
        backup.write(vitals(p.id, v.id, "a"))
    with pytest.raises(StoreRolledBack):
        await client_for(api, backup).sync_once()
    with transaction(app.state.ctx.engine) as session:
        count = session.execute(select(func.count()).select_from(DeviceRecordRow)).scalar_one()
    assert count == 4


async def test_clocks_a_day_apart(db_url: str) -> None:
    """The laptop clock is a day behind: records go up, the server's day comes down."""
    server_clock = Clock(TODAY)
    server_clock.advance(days=1)
    app = create_app(test_settings(db_url), clock=server_clock)
    world = seed(app.state.ctx.engine, app.state.ctx.settings, server_clock().date())
    store = device_store(world, "a")
    p, v = world.patients["a"], world.visits["a"]
    # the laptop thinks it is a day earlier
    store.write(vitals(p.id, v.id, "a", at=server_clock() - timedelta(days=1)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        report = await client_for(http, store).sync_once()
        assert report.pushed == {"applied": 1}
        assert set(store.of_kind("visit")) == {v.id}  # by the server's today, not the laptop's
        server_clock.advance(days=1)  # the next day: yesterday's visit leaves the scope
        await client_for(http, store).sync_once()
        assert store.of_kind("visit") == {}
    app.state.ctx.engine.dispose()


async def test_every_answer_in_one_batch_is_receipted_and_replayed_alike(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    # On PostgreSQL an applied item's receipt and a rejected one's are written with the
    # records; a duplicate's and a conflict's after the lookup. Every seq needs its own.
    p, v = world.patients["a"], world.visits["a"]
    store = device_store(world, "a")
    first = vitals(p.id, v.id, "a", hr=70)
    store.write(first)
    store.write(first)  # the same record twice in one batch: stored once
    store.write(first.model_copy(update={"heart_rate_bpm": 150}))  # the same id, other content
    bad = vitals(p.id, v.id, "a").model_dump(mode="json") | {"heart_rate_bpm": 900}
    store.write_raw("vitals", uuid.UUID(bad["id"]), bad, "ab" * 32)
    store.write(vitals(p.id, v.id, "a", hr=80))
    batch = [store.items[seq] for seq in sorted(store.items)]
    headers = {"Authorization": f"Bearer {world.tokens['a']}"}
    answers = []
    for _ in range(2):  # the second time, a replay: the same answers, nothing stored again
        response = await api.post("/sync/push", json=push_body(store.head, batch), headers=headers)
        assert response.status_code == 200, response.text
        answers.append([(r["seq"], r["status"]) for r in response.json()["results"]])
    assert answers[0] == [
        (1, "applied"),
        (2, "duplicate"),
        (3, "conflict"),
        (4, "rejected"),
        (5, "applied"),
    ]
    assert answers[1] == [
        (seq, "duplicate" if status == "applied" else status) for seq, status in answers[0]
    ]
    assert len(_rows(app, DeviceRecordRow)) == 2
    assert sorted(review.seq for review in _rows(app, ReviewItem)) == [3, 4]
    receipts = sorted((r.seq, r.status) for r in _rows(app, Receipt))
    assert receipts == answers[0]
    assert response.json()["head"]["seq"] == 5
