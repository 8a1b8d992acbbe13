"""Synthetic people, patients, visits and device records for sync tests (no real person)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from sync.records import (
    Address,
    CoursePosition,
    DoseAdministration,
    PatientSummary,
    StatusEvent,
    Visit,
    VitalsReading,
)
from sync.server import crud
from sync.server.auth import create_enroll_code, redeem_code
from sync.server.config import ServerSettings
from sync.server.db import transaction

ADDRESS = Address(
    street="1 Test Way", city="Testville", state="WA", postal_code="98000", lat=47.6, lon=-122.3
)
T0 = datetime(2030, 3, 4, 12, 0, tzinfo=UTC).timestamp()


def patient(n: int = 0, **extra: Any) -> PatientSummary:
    """A synthetic patient summary."""
    return PatientSummary(
        id=uuid.uuid4(),
        display_name=f"Testpatient Number{n}",
        date_of_birth=date(1970, 1, 1),
        sex="unknown",
        phone="555-0100",
        address=ADDRESS,
        diagnoses=[{"code": "F32.9", "name": "test diagnosis"}],  # type: ignore[list-item]
        weight_kg=70,
        **extra,
    )


def visit(patient_id: uuid.UUID, clinician: str, on: date, **extra: Any) -> Visit:
    """A synthetic visit for one day."""
    start = datetime(on.year, on.month, on.day, 9, 0, tzinfo=UTC)
    return Visit(
        id=uuid.uuid4(),
        patient_id=patient_id,
        clinician_id=clinician,
        scheduled_on=on,
        window_start=start,
        window_end=start + timedelta(hours=2),
        duration_min=90,
        address=ADDRESS,
        course=CoursePosition(number=1, of=6),
        planned_dose_mg=35.0,
        **extra,
    )


ON_THE_ROAD = datetime(2030, 3, 4, 10, 0, tzinfo=UTC)


def _written(
    patient_id: uuid.UUID, visit_id: uuid.UUID | None, by: str, at: datetime
) -> dict[str, Any]:
    """The fields every device record carries: a new id, whom and what visit, who, when."""
    return {
        "id": uuid.uuid4(),
        "patient_id": patient_id,
        "visit_id": visit_id,
        "recorded_at": at,
        "recorded_by": by,
    }


def vitals(
    patient_id: uuid.UUID,
    visit_id: uuid.UUID | None,
    by: str,
    hr: int = 80,
    at: datetime | None = None,
) -> VitalsReading:
    """A synthetic vitals reading."""
    at = at or ON_THE_ROAD
    return VitalsReading(
        **_written(patient_id, visit_id, by, at),
        phase="pre",
        taken_at=at,
        systolic_mmhg=120,
        diastolic_mmhg=80,
        heart_rate_bpm=hr,
    )


def status(patient_id: uuid.UUID, visit_id: uuid.UUID, by: str, what: str) -> StatusEvent:
    """A synthetic status event (not arrival or check-out, which need EVV fields)."""
    return StatusEvent(
        **_written(patient_id, visit_id, by, ON_THE_ROAD), status=what, at=ON_THE_ROAD
    )


def dose(patient_id: uuid.UUID, visit_id: uuid.UUID, by: str) -> DoseAdministration:
    """A synthetic dose given on the road (the order and vial are invented)."""
    return DoseAdministration(
        **_written(patient_id, visit_id, by, ON_THE_ROAD),
        order_id=uuid.uuid4(),
        vial_id="V-TEST-1",
        started_at=ON_THE_ROAD,
        dose_mg=20.0,
        volume_ml=20.0,
    )


@dataclass
class World:
    """A seeded server database: users, tokens, and one patient and visit per clinician."""

    engine: Engine
    settings: ServerSettings
    tokens: dict[str, str]
    device_ids: dict[str, str]
    patients: dict[str, PatientSummary]
    visits: dict[str, Visit]


def add_user(engine: Engine, name: str, role: str, now: float = T0) -> None:
    """A user, directly through crud."""
    with transaction(engine) as session:
        crud.add_user(session, name, role, now)


def enroll_device(
    engine: Engine, settings: ServerSettings, user: str, now: float = T0
) -> tuple[str, str]:
    """(device id, token) for a new device of `user`."""
    with transaction(engine) as session:
        code, _ = create_enroll_code(session, user, settings, now)
    with transaction(engine) as session:
        enrolled = redeem_code(session, code, "test laptop", settings, now)
        return enrolled.device.id, enrolled.token


def seed(engine: Engine, settings: ServerSettings, today: date, clinicians: int = 2) -> World:
    """Two clinicians (a, b), a dispatcher and an admin, each with a device; a visit each today."""
    world = World(engine, settings, {}, {}, {}, {})
    names = [chr(ord("a") + i) if i < 26 else f"c{i:03d}" for i in range(clinicians)]
    for name in names:
        add_user(engine, name, "clinician")
    add_user(engine, "disp", "dispatcher")
    add_user(engine, "root", "admin")
    for name in [*names, "disp", "root"]:
        world.device_ids[name], world.tokens[name] = enroll_device(engine, settings, name)
    with transaction(engine) as session:
        for i, name in enumerate(names):
            p = patient(i)
            v = visit(p.id, name, today)
            crud.put_patient_summary(session, p, T0)
            crud.put_visit(session, v, T0)
            world.patients[name], world.visits[name] = p, v
    return world
