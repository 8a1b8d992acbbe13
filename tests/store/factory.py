"""Synthetic records and fast store settings for the store tests (no real person anywhere)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fieldapp.settings import StoreSettings
from fieldapp.store import Store
from sync.outbox import ChainHead
from sync.records import (
    Addendum,
    Address,
    CoursePosition,
    Diagnosis,
    DoseAdministration,
    DoseOrder,
    Incident,
    PatientSummary,
    Record,
    RecoveryRecord,
    SessionNote,
    StatusEvent,
    SubstanceEvent,
    Visit,
    VitalsReading,
)

# Low but legal Argon2id (the OWASP floor) keeps each unlock around 40 ms.
FAST = StoreSettings(kdf_memory_kib=19456, kdf_iterations=2, kdf_lanes=1)
PASSPHRASE = "synthetic passphrase one"
OTHER_PASSPHRASE = "synthetic passphrase two"
DAY = date(2026, 5, 4)
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def new_store(path: Path, clock: FakeClock | None = None, **kwargs: object) -> Store:
    """A fresh unlocked store with fast KDF settings."""
    return Store.create(path, PASSPHRASE, FAST, clock=clock or FakeClock(), **kwargs)  # type: ignore[arg-type]


def address(street: str = "1200 Synthetic Way", city: str = "Seattle") -> Address:
    return Address(
        street=street, city=city, state="WA", postal_code="98101", lat=47.61, lon=-122.33
    )


def patient(
    name: str = "Test Patient", phone: str = "(206) 555-0100", **kw: object
) -> PatientSummary:
    fields: dict[str, object] = {
        "id": uuid.uuid4(),
        "display_name": name,
        "date_of_birth": date(1980, 2, 3),
        "sex": "female",
        "phone": phone,
        "address": address(),
        "diagnoses": [Diagnosis(code="F33.2", name="Major depressive disorder", evidence="B")],
        "medications": ["sertraline 100 mg"],
        "weight_kg": 70.5,
    }
    fields.update(kw)
    return PatientSummary.model_validate(fields)


def visit(patient_id: uuid.UUID, order: int | None = 1, day: date = DAY, **kw: object) -> Visit:
    start = datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC) + timedelta(hours=order or 0)
    fields: dict[str, object] = {
        "id": uuid.uuid4(),
        "patient_id": patient_id,
        "clinician_id": "c01",
        "scheduled_on": day,
        "window_start": start,
        "window_end": start + timedelta(hours=1),
        "duration_min": 120,
        "address": address(),
        "course": CoursePosition(number=2, of=6),
        "route_order": order,
    }
    fields.update(kw)
    return Visit.model_validate(fields)


def _base(patient_id: uuid.UUID, minutes: int) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "patient_id": patient_id,
        "recorded_at": T0 + timedelta(minutes=minutes),
        "recorded_by": "c01",
    }


def device_record(kind: str, patient_id: uuid.UUID, minutes: int = 0, text: str = "x") -> Record:
    """One valid device record of `kind` about a patient."""
    base = _base(patient_id, minutes)
    at = T0 + timedelta(minutes=minutes)
    match kind:
        case "status":
            return StatusEvent.model_validate(
                {**base, "status": "en_route", "at": at, "note": text}
            )
        case "vitals":
            return VitalsReading.model_validate(
                {
                    **base,
                    "phase": "pre",
                    "taken_at": at,
                    "systolic_mmhg": 128,
                    "diastolic_mmhg": 82,
                    "heart_rate_bpm": 71,
                    "spo2_pct": 98,
                    "symptoms": [text] if text.strip() else [],
                }
            )
        case "dose_order":
            return DoseOrder.model_validate(
                {
                    **base,
                    "prescriber": "Dr. Synthetic",
                    "mode": "infusion_total",
                    "weight_kg": 70,
                    "dosing_weight_kg": 70,
                    "mg_per_kg": 0.5,
                    "duration_min": 40,
                    "dose_mg": 35,
                    "vial_concentration_mg_per_ml": 50,
                    "draw_ml": 0.7,
                    "double_checked_by": "RN Two",
                }
            )
        case "dose_admin":
            return DoseAdministration.model_validate(
                {
                    **base,
                    "order_id": uuid.uuid4(),
                    "vial_id": "V-1",
                    "started_at": at,
                    "dose_mg": 35,
                    "volume_ml": 0.7,
                    "stop_reason": text,
                }
            )
        case "substance":
            return SubstanceEvent.model_validate(
                {
                    **base,
                    "event": "waste",
                    "vial_id": "V-1",
                    "at": at,
                    "concentration_mg_per_ml": 50,
                    "mg": 15,
                    "ml": 0.3,
                    "witness": "RN Two",
                    "note": text,
                }
            )
        case "recovery":
            return RecoveryRecord.model_validate(
                {
                    **base,
                    "assessed_at": at,
                    "aldrete": 9,
                    "padss": 9,
                    "oriented_x3": True,
                    "gait_steady": True,
                    "decision": "cleared",
                }
            )
        case "note":
            return SessionNote.model_validate(
                {
                    **base,
                    "status": "signed",
                    "subjective": text,
                    "assessment": "stable",
                    "signed_at": at,
                    "signed_by": "c01",
                }
            )
        case "addendum":
            return Addendum.model_validate({**base, "note_id": uuid.uuid4(), "text": text or "x"})
        case "incident":
            return Incident.model_validate(
                {
                    **base,
                    "category": "safety",
                    "severity": "low",
                    "occurred_at": at,
                    "description": text or "x",
                }
            )
    raise ValueError(kind)


DEVICE_SAMPLE_KINDS = (
    "status",
    "vitals",
    "dose_order",
    "dose_admin",
    "substance",
    "recovery",
    "note",
    "addendum",
    "incident",
)


def mixed_device_records(rng: random.Random, patient_ids: list[uuid.UUID], n: int) -> list[Record]:
    """`n` device records of mixed kinds spread over the patients."""
    return [
        device_record(rng.choice(DEVICE_SAMPLE_KINDS), rng.choice(patient_ids), minutes=i)
        for i in range(n)
    ]


def server_head(store: Store, seq: int) -> ChainHead:
    """The head a server answers once it holds the store's entries up to `seq`."""
    return ChainHead(seq, store.chain_hash_at(seq) or "")
