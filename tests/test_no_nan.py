"""No number a clinician types or a record holds is NaN or infinity."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from fieldapp.services.checklist import Item, parse_answer
from sync.records import RecordInvalid, parse_record

WEIGHT = Item("weight_kg", "Weight (kg)", "number", "weight_kg")


@pytest.mark.parametrize("typed", ["nan", "NaN", "inf", "-Infinity", "sNaN", "abc"])
def test_a_number_answer_that_is_no_number_is_refused(typed: str) -> None:
    value, problem = parse_answer(WEIGHT, typed)
    assert value is None
    assert problem == "Weight (kg): must be a number"


def test_a_number_answer_is_read() -> None:
    assert parse_answer(WEIGHT, " 72.5 ") == (72.5, None)


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_no_record_holds_nan_or_infinity(number: float) -> None:
    checklist = {
        "id": str(uuid.uuid4()),
        "patient_id": str(uuid.uuid4()),
        "recorded_at": datetime.now(UTC).isoformat(),
        "recorded_by": "c01",
        "template": "pre_visit@1",
        "answers": {"weight_kg": number},
        "decision": "proceed",
    }
    with pytest.raises(RecordInvalid) as refused:
        parse_record("checklist", checklist)
    assert "answers" in str(refused.value)
    assert parse_record("checklist", {**checklist, "answers": {"weight_kg": 72.5}})
