"""C-SSRS skip logic and risk levels; the flow never asks a skipped question (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldapp.clinical import cssrs


def run_flow(responder):
    """Ask questions one by one with `responder(question) -> bool` until complete."""
    answers: dict[str, bool] = {}
    while (question := cssrs.next_question(answers)) is not None:
        assert question not in answers
        answers[question] = responder(question)
    return answers


@given(st.dictionaries(st.sampled_from(list(cssrs.QUESTIONS)), st.booleans()))
def test_flow_never_asks_a_skipped_question(truth):
    answers = run_flow(lambda q: truth.get(q, False))
    if not answers["q2"]:
        assert not {"q3", "q4", "q5"} & set(answers)
    if not answers["q6"]:
        assert "q6_recent" not in answers
    assert {"q1", "q2", "q6"} <= set(answers)
    cssrs.validate_answers(answers)  # a finished flow is always a valid screen
    assert cssrs.risk(answers) in ("none", "low", "moderate", "high")


@pytest.mark.parametrize(
    "answers",
    [
        {"q1": True, "q2": False, "q3": True, "q6": False},
        {"q1": True, "q2": False, "q6": False, "q6_recent": True},
        {"q1": True, "q3": True},
        {"q2": True},
        {"q1": True, "q2": "yes"},
        {"q7": True},
    ],
)
def test_skipped_unknown_or_out_of_order_answers_refused(answers):
    with pytest.raises(cssrs.CssrsError):
        cssrs.validate_answers(answers, complete=False)


def test_incomplete_screen_has_no_risk():
    with pytest.raises(cssrs.CssrsError, match="not finished"):
        cssrs.risk({"q1": True, "q2": True, "q3": False})


@pytest.mark.parametrize(
    ("answers", "level"),
    [
        ({"q1": False, "q2": False, "q6": False}, "none"),
        ({"q1": True, "q2": False, "q6": False}, "low"),
        ({"q1": False, "q2": True, "q3": False, "q4": False, "q5": False, "q6": False}, "low"),
        ({"q1": True, "q2": True, "q3": True, "q4": False, "q5": False, "q6": False}, "moderate"),
        ({"q1": False, "q2": False, "q6": True, "q6_recent": False}, "moderate"),
        ({"q1": True, "q2": True, "q3": False, "q4": True, "q5": False, "q6": False}, "high"),
        ({"q1": True, "q2": True, "q3": True, "q4": False, "q5": True, "q6": False}, "high"),
        ({"q1": False, "q2": False, "q6": True, "q6_recent": True}, "high"),
    ],
)
def test_risk_levels(answers, level):
    assert cssrs.risk(answers) == level
