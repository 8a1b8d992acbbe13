"""Synthetic dispatch data: visit requests, plan documents, check-ins (no real person)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from sync.records import Address, StatusEvent
from sync.server import crud
from sync.server.db import transaction
from tests.sync.conftest import TODAY, auth
from tests.sync.factories import T0, World, patient

# Clinical words and values the synthetic patients carry: none may reach a dispatcher.
CLINICAL_KEYS = frozenset(
    {
        "diagnoses",
        "conditions",
        "medications",
        "allergies",
        "weight_kg",
        "height_cm",
        "planned_dose_mg",
        "past_sessions",
        "date_of_birth",
        "baseline_phq9",
        "baseline_pain_nrs",
        "note",
        "dose_mg",
    }
)
CLINICAL_TEXT = ("test diagnosis", "F32.9")


def place(n: int) -> Address:
    """A synthetic address spread over a small grid."""
    return Address(
        street=f"{n} Test Way",
        city="Testville",
        state="WA",
        postal_code="98000",
        lat=47.60 + 0.01 * (n % 5),
        lon=-122.33 + 0.01 * (n // 5),
    )


def add_patients(world: World, count: int) -> list[uuid.UUID]:
    """`count` more synthetic patients (with clinical fields the dispatcher must not see)."""
    made = [patient(100 + i).model_copy(update={"address": place(i)}) for i in range(count)]
    with transaction(world.engine) as session:
        for p in made:
            crud.put_patient_summary(session, p, T0)
    return [p.id for p in made]


def request(
    ref: str, patient_id: uuid.UUID, hour: int, day: date = TODAY, **extra: Any
) -> dict[str, Any]:
    """A visit request body: a two-hour window starting at `hour` UTC."""
    start = datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)
    return {
        "ref": ref,
        "patient_id": str(patient_id),
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=2)).isoformat(),
        "duration_min": 90,
        "course": {"number": 2, "of": 6},
        **extra,
    }


def stop(seq: int, visit_id: str, hour: int, day: date = TODAY) -> dict[str, Any]:
    """A plan stop starting at `hour` (naive local time, as `fieldapp plan` writes)."""
    start = datetime(day.year, day.month, day.day, hour, 0)
    return {
        "seq": seq,
        "visit_id": visit_id,
        "place": visit_id,
        "arrival": start.isoformat(),
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=90)).isoformat(),
        "drive_km": 1.0,
        "drive_min": 3.0,
    }


def plan_doc(
    routes: dict[str, list[tuple[str, int]]], unassigned: list[str] = ()
) -> dict[str, Any]:  # type: ignore[assignment]
    """A plan document: clinician -> [(visit id or ref, start hour)]."""
    day = TODAY
    return {
        "schema": "fieldapp.plan/1",
        "date": day.isoformat(),
        "solver": "hand",
        "routes": [
            {
                "clinician_id": who,
                "depart": datetime(day.year, day.month, day.day, 7, 0).isoformat(),
                "arrive_end": datetime(day.year, day.month, day.day, 17, 0).isoformat(),
                "break": None,
                "stops": [stop(i, v, h) for i, (v, h) in enumerate(visits, start=1)],
            }
            for who, visits in routes.items()
        ],
        "unassigned": [{"visit_id": v, "reason": "hand-made"} for v in unassigned],
        "totals": {"visits_planned": sum(len(v) for v in routes.values())},
    }


async def upload(
    api: httpx.AsyncClient, world: World, requests: list[dict[str, Any]]
) -> dict[str, str]:
    """Upload requests for TODAY; ref -> id."""
    answer = await api.post(
        "/dispatch/requests",
        json={"scheduled_on": TODAY.isoformat(), "requests": requests},
        headers=auth(world, "disp"),
    )
    assert answer.status_code == 200, answer.text
    return {r["ref"]: r["id"] for r in answer.json()}


async def store_and_publish(
    api: httpx.AsyncClient,
    world: World,
    doc: dict[str, Any],
    roster: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Store a plan for TODAY and publish it; the publish result."""
    stored = await api.post(
        "/dispatch/plans",
        json={"scheduled_on": TODAY.isoformat(), "plan": doc, "roster": roster or []},
        headers=auth(world, "disp"),
    )
    assert stored.status_code == 201, stored.text
    published = await api.post(
        f"/dispatch/plans/{stored.json()['id']}/publish", headers=auth(world, "disp")
    )
    assert published.status_code == 200, published.text
    return published.json()


def status_event(
    world: World, who: str, visit_id: str, patient_id: str, what: str, at: datetime
) -> StatusEvent:
    """A check-in as a laptop would record it."""
    extra: dict[str, Any] = {}
    if what in ("arrived", "checked_out"):
        extra = {"service_type": "infusion", "location_attested": True}
    return StatusEvent(
        id=uuid.uuid4(),
        patient_id=uuid.UUID(patient_id),
        visit_id=uuid.UUID(visit_id),
        recorded_at=at,
        recorded_by=who,
        status=what,  # type: ignore[arg-type]
        at=at,
        note="synthetic note text",
        **extra,
    )


def all_keys(data: Any) -> set[str]:
    """Every key anywhere in a JSON value."""
    if isinstance(data, dict):
        return set(data) | {k for v in data.values() for k in all_keys(v)}
    if isinstance(data, list):
        return {k for v in data for k in all_keys(v)}
    return set()
