"""Checklist answers as typed: every number checked against its one range, never a crash,
never the value typed in a message, and the engine's refusal a sentence, not an exception."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.services.answers import parse_answer
from fieldapp.services.checklist import AnswersRefused, ChecklistRun, item_by_id, items
from fieldapp.services.validation import bounds_of
from fieldapp.services.visit import VisitSession
from sync.records import DoseOrder, VitalsReading
from tests.services.scenario import GOOD_CHECKLIST
from tests.tui.conftest import DAY

# The typos of the report, each with the schema range the message must give.
TYPOS = [
    ("heart_rate", "720", "Heart rate (beats/min): must be 20–250 beats/min"),
    ("spo2", "101", "SpO2 (%) on room air: must be 50–100 %"),
    ("temperature_c", "368", "Temperature (°C): must be 30–45 °C"),
    ("rr", "140", "Respiratory rate (breaths/min): must be 0–60 breaths/min"),
    ("bp_first", "1280/82", "BP, first reading (systolic/diastolic): systolic must be 50–300 mmHg"),
    ("bp_second", "128/820", "diastolic must be 20–200 mmHg"),
    ("phq9_3", "7", "must be 0–3"),
    ("pain_nrs", "11", "Pain NRS now: must be 0–10"),
    ("weight_kg", "-3", "more than 0 and at most 500 kg"),
]


@pytest.mark.parametrize(("item_id", "typed", "message"), TYPOS)
def test_an_implausible_number_is_refused_with_its_range(
    item_id: str, typed: str, message: str
) -> None:
    value, problem = parse_answer(item_by_id()[item_id], typed)
    assert value is None
    assert problem is not None and message in problem
    assert typed not in problem


def test_ranges_come_from_the_record_schemas() -> None:
    by_id = item_by_id()
    assert by_id["heart_rate"].bounds == bounds_of(VitalsReading, "heart_rate_bpm", "beats/min")
    assert by_id["weight_kg"].bounds == bounds_of(DoseOrder, "weight_kg", "kg")
    assert by_id["heart_rate"].hint == "20–250 beats/min"


@pytest.mark.parametrize("typed", ["²", "1_0", "٣", "-", "7 0", "1e3", "9" * 5000])
def test_odd_digits_are_not_whole_numbers(typed: str) -> None:
    value, problem = parse_answer(item_by_id()["heart_rate"], typed)
    assert value is None and problem is not None
    assert typed not in problem


@given(st.text(max_size=30))
def test_no_text_crashes_an_answer_or_is_echoed(typed: str) -> None:
    for item in items():
        value, problem = parse_answer(item, typed)
        if problem is not None:
            assert value is None
            assert problem.startswith(item.label)
            if len(typed.strip()) > 3 and typed.strip() not in item.label:
                assert typed.strip() not in problem
        elif value is not None and item.bounds is not None:
            assert item.bounds.admits(value)


@pytest.fixture
def run(app: Any, clock: Any) -> ChecklistRun:
    """The checklist of the demo day's first visit."""
    app.services.store.unlock("correct horse battery")
    app.services.unlocked_at = clock.now()
    visit = app.services.store.visits_for_day(DAY)[0]
    return ChecklistRun(VisitSession.load(app.services, visit.id))


def test_a_value_the_engine_refuses_is_a_sentence_naming_the_question(run: ChecklistRun) -> None:
    # 45 °C is inside the record's range but outside the engine's input: refused by name.
    run.texts = {**GOOD_CHECKLIST, "temperature_c": "45"}
    with pytest.raises(AnswersRefused) as refused:
        run.decide()
    assert refused.value.item_ids == ["temperature_c"]
    assert "Temperature" in str(refused.value) and "45" not in str(refused.value)
    assert refused.value.__cause__ is None and refused.value.__suppress_context__


ANSWER_TEXT = st.one_of(
    st.sampled_from(["", "y", "n", "0", "3", "76", "720", "128/82", "1280/82", "-1", "2026-03-10"]),
    st.text(max_size=8),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(st.sampled_from([i.id for i in items()]), ANSWER_TEXT, max_size=12))
def test_any_answers_give_a_decision_or_a_refusal(run: ChecklistRun, typed: dict[str, str]) -> None:
    run.texts = {**GOOD_CHECKLIST, **typed}
    try:
        decision = run.decide()
    except AnswersRefused as refused:
        assert set(refused.item_ids) <= set(item_by_id())
    else:
        assert decision.outcome in (
            "proceed",
            "proceed_with_flags",
            "hold",
            "hard_stop",
            "emergency",
        )


@given(st.text(max_size=30))
def test_any_cadss_text_is_a_message_or_a_score(typed: str) -> None:
    from fieldapp.tui.screens.monitor import _cadss, cadss_values

    problem = _cadss(typed)  # "²" is a digit to str.isdigit, and int() refuses it
    if problem is None:
        assert cadss_values(typed)["cadss_total"] >= 0
