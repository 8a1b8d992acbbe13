"""The clinic's signed manifest: what verifies, and that it always agrees with what pull sent.

The randomized test drives the office (new visits, reassignments, moves, cancellations,
patient and protocol changes, the next day) between pulls of small pages: after every
pull the laptop holds exactly the listed rows at exactly the listed versions (nothing had to
be fetched again), and exactly its scope.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select

from sync.manifest import (
    ManifestInvalid,
    compare,
    manifest_body,
    new_signing_key,
    open_manifest,
    public_key,
    sign,
)
from sync.records import ProtocolDocument
from sync.server import crud
from sync.server.db import transaction
from sync.server.main import create_app
from sync.server.models import VisitRow
from sync.server.schemas import VisitUpdate
from tests.sync.clientkit import client_for, device_store, enrolled_store
from tests.sync.conftest import TODAY, Clock, auth, test_settings
from tests.sync.factories import T0, World, patient, seed, visit

CLINICIANS = ["a", "b", "c"]
KEY = new_signing_key()
ENTRIES = [("visit", "v1", 2), ("patient", "p1", 1)]


def test_a_signed_manifest_opens_with_its_key_for_its_device() -> None:
    signed = sign(KEY, manifest_body("dev-1", 7, ENTRIES))
    opened = open_manifest(signed, public_key(KEY), "dev-1")
    assert opened.high_water == 7 and opened.entries == {("visit", "v1"): 2, ("patient", "p1"): 1}


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.__class__(s.body.replace('"v1",2', '"v1",1'), s.signature, s.key),
        lambda s: s.__class__(s.body, sign(new_signing_key(), s.body).signature, s.key),
        lambda s: sign(new_signing_key(), s.body),  # another server's key
        lambda s: s.__class__(s.body, "not base64!", s.key),
    ],
    ids=["rolled-back-entry", "wrong-signature", "other-key", "garbage"],
)
def test_a_changed_or_foreign_manifest_is_refused(change: Any) -> None:
    signed = sign(KEY, manifest_body("dev-1", 7, ENTRIES))
    with pytest.raises(ManifestInvalid):
        open_manifest(change(signed), public_key(KEY), "dev-1")


def test_a_manifest_for_another_laptop_is_refused() -> None:
    signed = sign(KEY, manifest_body("dev-2", 7, ENTRIES))
    with pytest.raises(ManifestInvalid, match="another laptop"):
        open_manifest(signed, public_key(KEY), "dev-1")


def test_compare_names_missing_older_and_with_exact_newer_rows() -> None:
    opened = open_manifest(sign(KEY, manifest_body("d", 1, ENTRIES)), public_key(KEY), "d")
    assert compare(opened, {("visit", "v1"): 2, ("patient", "p1"): 1}, exact=True) == []
    found = compare(opened, {("visit", "v1"): 1}, exact=False)
    assert [(p.kind, p.held, p.listed) for p in found] == [("patient", None, 1), ("visit", 1, 2)]
    newer = {("visit", "v1"): 3, ("patient", "p1"): 1}
    assert compare(opened, newer, exact=False) == []
    assert [p.held for p in compare(opened, newer, exact=True)] == [3]


def _office_change(world: World, rng: random.Random, today: date, patients: list[Any]) -> None:
    """One random change at the office, as dispatch or an import would make it."""
    who = rng.choice(CLINICIANS)
    day = today + timedelta(days=rng.randint(-1, 3))
    start = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    with transaction(world.engine) as session:
        rows = list(session.exec(select(VisitRow)).all())
        action = rng.choice(["new", "reassign", "move", "cancel", "patient", "protocol"])
        if action == "new" or not rows:
            crud.put_visit(session, visit(rng.choice(patients).id, who, day), T0)
        elif action == "reassign":
            crud.update_visit(session, rng.choice(rows), VisitUpdate(clinician_id=who), T0)
        elif action == "move":
            change = VisitUpdate(
                scheduled_on=day, window_start=start, window_end=start + timedelta(hours=2)
            )
            crud.update_visit(session, rng.choice(rows), change, T0)
        elif action == "cancel":
            crud.cancel_visit(session, rng.choice(rows), T0)
        elif action == "patient":
            summary = rng.choice(patients)
            changed = summary.model_copy(update={"weight_kg": rng.randint(50, 120)})
            crud.put_patient_summary(session, changed, T0)
        else:
            doc = ProtocolDocument(
                id=uuid.UUID(int=rng.randint(1, 3)),
                name="protocol",
                doc_version=1,
                content_toml=f"# {rng.random()}",
            )
            crud.put_protocol_doc(session, doc, T0)


def _scope(world: World, who: str, today: date, days: int) -> tuple[set[Any], set[Any]]:
    """(visit ids, patient ids) of one clinician's scope on the server now."""
    with transaction(world.engine) as session:
        rows = crud.visits_for(session, who)
        visits = [row for row in rows if today <= row.scheduled_on <= today + timedelta(days)]
    return {uuid.UUID(row.id) for row in visits}, {uuid.UUID(row.patient_id) for row in visits}


@pytest.mark.parametrize("seed_value", [1, 2])
async def test_after_every_pull_the_laptop_holds_exactly_what_the_manifest_lists(
    db_url: str, seed_value: int
) -> None:
    clock = Clock()
    app = create_app(test_settings(db_url, pull_page_size=3), clock=clock)
    world = seed(app.state.ctx.engine, app.state.ctx.settings, TODAY, clinicians=3)
    patients = [*world.patients.values(), patient(9)]
    with transaction(world.engine) as session:  # one more patient, to move visits between
        crud.put_patient_summary(session, patients[-1], T0)
    rng = random.Random(seed_value)
    stores = {who: device_store(world, who) for who in CLINICIANS}
    days = app.state.ctx.settings.pull_days_ahead
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        for step in range(60):
            for _ in range(rng.randint(0, 3)):
                _office_change(world, rng, clock().date(), patients)
            if step % 20 == 19:
                clock.advance(days=1)
            who = rng.choice(list(stores))
            report = await client_for(http, stores[who]).sync_once()
            assert report.refetched == 0, (step, who)
            assert stores[who].manifest_problems(exact=True) == []
            visits, patients_in_scope = _scope(world, who, clock().date(), days)
            assert set(stores[who].of_kind("visit")) == visits
            assert set(stores[who].of_kind("patient")) == patients_in_scope
    app.state.ctx.engine.dispose()


async def test_a_visit_the_manifest_no_longer_names_leaves_the_laptop(
    app: Any, world: World, api: httpx.AsyncClient, clock: Clock, tmp_path: Any
) -> None:
    # Reassigned away while the laptop was off, then the day moved on: the download starts
    # afresh for the new window and never mentions the reassignment; the manifest does.
    tomorrow = visit(world.patients["a"].id, "a", TODAY + timedelta(days=1))
    with transaction(world.engine) as session:
        crud.put_visit(session, tomorrow, T0)
    laptop = await enrolled_store(tmp_path / "a.store", api, world, "a")
    await client_for(api, laptop).sync_once()
    assert laptop.visits_for_day(TODAY + timedelta(days=1)) == [tomorrow]
    with transaction(world.engine) as session:
        row = session.get(VisitRow, str(tomorrow.id))
        assert row is not None
        crud.update_visit(session, row, VisitUpdate(clinician_id="b"), T0)
    clock.advance(days=1)
    await client_for(api, laptop).sync_once()
    assert laptop.visits_for_day(TODAY + timedelta(days=1)) == []
    assert laptop.verify().ok


async def test_an_up_to_date_pull_brings_a_manifest_only_when_asked(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    store = device_store(world, "a")
    await client_for(api, store).sync_once()  # from scratch: signed
    head = {"seq": 0, "chain_hash": "0" * 64}

    async def last_page(**extra: Any) -> Any:
        body = {"cursor": store.cursor, "head": head, **extra}
        answer = await api.post("/sync/pull", json=body, headers=auth(world, "a"))
        assert answer.status_code == 200, answer.text
        return answer.json()["manifest"]

    assert await last_page() is None  # nothing changed since the cursor: already held
    assert (await last_page(manifest=True))["key"] == store.identity.manifest_key  # type: ignore[union-attr]
    with transaction(world.engine) as session:  # the office plans another visit for a
        crud.put_visit(session, visit(world.patients["a"].id, "a", TODAY), T0)
    assert await last_page() is not None  # something changed: signed again
