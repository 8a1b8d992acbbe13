"""The shared record schemas: ranges, unknown fields, owners, hashes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.records import (
    DEVICE_KINDS,
    RECORD_TYPES,
    SERVER_KINDS,
    CoursePosition,
    RecordInvalid,
    VitalsReading,
    field_ranges,
    parse_record,
)

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def vitals(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": str(uuid.uuid4()),
        "patient_id": str(uuid.uuid4()),
        "recorded_at": NOW.isoformat(),
        "recorded_by": "c01",
        "phase": "pre",
        "taken_at": NOW.isoformat(),
    }
    base.update(fields)
    return base


def test_every_kind_has_one_owner_and_a_schema_version() -> None:
    assert set(RECORD_TYPES) == DEVICE_KINDS | SERVER_KINDS
    assert not DEVICE_KINDS & SERVER_KINDS
    for model in RECORD_TYPES.values():
        assert model.model_fields["schema_version"].default == 1


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("heart_rate_bpm", 900, "heart_rate_bpm: must be at most 250"),
        ("spo2_pct", 49, "spo2_pct: must be at least 50"),
        ("systolic_mmhg", 301, "systolic_mmhg: must be at most 300"),
        ("rass", -6, "rass: must be at least -5"),
    ],
)
def test_out_of_range_values_are_refused_naming_the_field(
    field: str, value: int, expected: str
) -> None:
    with pytest.raises(RecordInvalid) as caught:
        parse_record("vitals", vitals(**{field: value}))
    assert expected in str(caught.value)


def test_messages_never_echo_the_value() -> None:
    with pytest.raises(RecordInvalid) as caught:
        parse_record("vitals", vitals(recorded_by="", symptoms=["x" * 300]))
    assert "x" * 50 not in str(caught.value)


def test_weight_of_zero_is_refused() -> None:
    patient_fields = {"weight_kg": 0}
    with pytest.raises(RecordInvalid, match="weight_kg: must be more than 0"):
        parse_record("dose_order", {"id": str(uuid.uuid4()), **patient_fields})


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(RecordInvalid, match="diagnosis: unknown field"):
        parse_record("vitals", vitals(diagnosis="x"))


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(RecordInvalid, match="unknown record kind"):
        parse_record("spaceship", {})


def test_diastolic_must_be_below_systolic() -> None:
    with pytest.raises(RecordInvalid, match="diastolic_mmhg must be below"):
        parse_record("vitals", vitals(systolic_mmhg=90, diastolic_mmhg=95))


def test_arrival_needs_a_fix_or_an_attestation() -> None:
    event = {
        "id": str(uuid.uuid4()),
        "patient_id": str(uuid.uuid4()),
        "recorded_at": NOW.isoformat(),
        "recorded_by": "c01",
        "status": "arrived",
        "at": NOW.isoformat(),
        "service_type": "IV ketamine infusion",
    }
    with pytest.raises(RecordInvalid, match="location fix or an attestation"):
        parse_record("status", event)
    assert parse_record("status", {**event, "location_attested": True})
    assert parse_record("status", {**event, "lat": 47.6, "lon": -122.3})


def test_signed_note_needs_signature() -> None:
    note = {
        "id": str(uuid.uuid4()),
        "patient_id": str(uuid.uuid4()),
        "recorded_at": NOW.isoformat(),
        "recorded_by": "c01",
        "status": "signed",
    }
    with pytest.raises(RecordInvalid, match="signed note needs"):
        parse_record("note", note)


def test_course_position_reads_like_a_clinician_says_it() -> None:
    assert str(CoursePosition(number=3, of=6)) == "3 of 6"
    assert str(CoursePosition(number=2, of=6, booster=True)) == "booster 2"
    with pytest.raises(ValueError, match="must not exceed"):
        CoursePosition(number=7, of=6)


@given(hr=st.integers(20, 250), spo2=st.integers(50, 100))
def test_content_hash_is_stable_through_json(hr: int, spo2: int) -> None:
    record = parse_record("vitals", vitals(heart_rate_bpm=hr, spo2_pct=spo2))
    again = parse_record("vitals", record.canonical_json())
    assert again == record
    assert again.content_hash() == record.content_hash()
    changed = parse_record(
        "vitals", {**record.model_dump(mode="json"), "heart_rate_bpm": hr % 230 + 21}
    )
    assert changed.content_hash() != record.content_hash()


def test_field_ranges_feed_the_forms() -> None:
    ranges = field_ranges(VitalsReading)
    assert ranges["spo2_pct"] == (50, 100)
    assert ranges["heart_rate_bpm"] == (20, 250)
