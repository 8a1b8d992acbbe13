"""No number a clinician types or a record holds is NaN or infinity."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from fieldapp.services.checklist import Item, parse_answer
from sync.approvals import Answer, Facts
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


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_no_approval_facts_or_answer_hold_nan_or_infinity(number: float) -> None:
    # An answer rides in a checklist record (its `approval`), signed over its canonical bytes.
    with pytest.raises(ValidationError, match="finite number"):
        Facts(values={"bp_systolic": number})
    answer = {
        "request_id": str(uuid.uuid4()),
        "facts_hash": "0" * 64,
        "decision": "modify",
        "note": "Lower the dose.",
        "modified": {"mg_per_kg": number},
        "answered_by": "drdemo",
        "role": "prescriber",
        "answered_at": datetime.now(UTC).isoformat(),
        "public_key": "A" * 43,
    }
    with pytest.raises(ValidationError, match="finite number"):
        Answer.model_validate(answer)
    Answer.model_validate(answer | {"modified": {"mg_per_kg": 0.25}})  # a number is fine
