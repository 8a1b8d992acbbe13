"""No number a clinician types or a record holds is NaN or infinity."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import get_args

import pytest
from pydantic import BaseModel, ValidationError

from fieldapp.services.checklist import Item, parse_answer
from sync.approvals import Answer, Facts
from sync.records import RECORD_TYPES, RecordInvalid, parse_record

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


def _models_within(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    """`model` and every model its fields hold, at any depth (lists, unions, dicts)."""
    if model in seen:
        return seen
    seen.add(model)
    pending = [info.annotation for info in model.model_fields.values()]
    while pending:
        annotation = pending.pop()
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            _models_within(annotation, seen)
        pending.extend(get_args(annotation))
    return seen


@pytest.mark.parametrize("kind", sorted(RECORD_TYPES))
def test_every_model_inside_a_record_refuses_nan(kind: str) -> None:
    # A model added inside a record without the shared config (`records.Strict`) would let
    # NaN into a record's canonical bytes, which its content hash and signatures cover.
    for model in _models_within(RECORD_TYPES[kind], set()):
        assert model.model_config.get("allow_inf_nan") is False, model.__name__
