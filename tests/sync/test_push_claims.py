"""A pushed record must be about a visit of its own patient, and recorded by the clinician
the device's token belongs to; otherwise it is set aside for review as it came (SQLite and
PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx
from sqlalchemy import select

from sync.server import crud
from sync.server.db import transaction
from sync.server.models import DeviceRecordRow, ReviewItem
from sync.server.push import NOT_YOUR_NAME, OTHER_PATIENTS_VISIT
from tests.sync.clientkit import client_for, device_store
from tests.sync.conftest import TODAY
from tests.sync.factories import T0, World, patient, visit, vitals


def _second_visit(world: World, who: str, on: date = TODAY) -> Any:
    """Another patient and visit for `who` today."""
    other = patient(7)
    second = visit(other.id, who, on)
    with transaction(world.engine) as session:
        crud.put_patient_summary(session, other, T0)
        crud.put_visit(session, second, T0)
    return second


def _stored(world: World) -> tuple[list[Any], list[Any]]:
    with transaction(world.engine) as session:
        return (
            list(session.execute(select(DeviceRecordRow)).scalars()),
            list(session.execute(select(ReviewItem)).scalars()),
        )


async def test_a_record_about_another_patients_visit_is_set_aside(
    world: World, api: httpx.AsyncClient
) -> None:
    first, second = world.visits["a"], _second_visit(world, "a")
    # both patients are a's: each id alone is within reach, together they do not belong
    mixed = vitals(second.patient_id, first.id, "a")
    store = device_store(world, "a")
    store.write(mixed)
    store.write(vitals(first.patient_id, first.id, "a"))
    report = await client_for(api, store).sync_once()
    assert report.pushed == {"applied": 1, "rejected": 1}
    [aside] = store.set_aside()
    assert aside.record_id == mixed.id and aside.reason == OTHER_PATIENTS_VISIT
    stored, [review] = _stored(world)
    assert [row.id for row in stored] != [str(mixed.id)] and len(stored) == 1
    assert review.reason == OTHER_PATIENTS_VISIT


async def test_recorded_by_must_be_the_tokens_clinician(
    world: World, api: httpx.AsyncClient
) -> None:
    v = world.visits["a"]
    claimed = vitals(v.patient_id, v.id, "b")  # a's device says b took the reading
    store = device_store(world, "a")
    store.write(claimed)
    store.write(vitals(v.patient_id, v.id, "a"))
    report = await client_for(api, store).sync_once()
    assert report.pushed == {"applied": 1, "rejected": 1}
    [aside] = store.set_aside()
    assert aside.reason == NOT_YOUR_NAME
    stored, [review] = _stored(world)
    assert [json.loads(row.payload)["recorded_by"] for row in stored] == ["a"]
    # kept for review exactly as the device wrote it (its content hash still holds)
    assert json.loads(review.payload)["recorded_by"] == "b"
    assert review.reason == NOT_YOUR_NAME
