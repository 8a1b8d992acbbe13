"""The C-SSRS screener (recent version, Posner 2011) with its skip logic and risk levels.

Flow: Q1 and Q2; Q3-Q5 only if Q2 is yes; Q6 always; "within the past 3 months?"
(`q6_recent`) only if Q6 is yes. The risk is set by the highest positive item:
Q1/Q2 low; Q3 or Q6 longer ago moderate; Q4, Q5 or Q6 within 3 months high.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

QUESTIONS: dict[str, str] = {
    "q1": "Have you wished you were dead or wished you could go to sleep and not wake up?",
    "q2": "Have you actually had any thoughts of killing yourself?",
    "q3": "Have you been thinking about how you might do this?",
    "q4": "Have you had these thoughts and had some intention of acting on them?",
    "q5": "Have you started to work out or worked out the details of how to kill yourself? "
    "Do you intend to carry out this plan?",
    "q6": "Have you ever done anything, started to do anything, or prepared to do anything "
    "to end your life?",
    "q6_recent": "Was this within the past 3 months?",
}
Risk = Literal["none", "low", "moderate", "high"]


class CssrsError(ValueError):
    """Answers the screener's flow would never have collected, or an incomplete screen."""


def asked(answers: Mapping[str, bool]) -> list[str]:
    """The questions the flow asks, in order, given the answers so far."""
    order = ["q1", "q2"]
    if answers.get("q2") is True:
        order += ["q3", "q4", "q5"]
    order.append("q6")
    if answers.get("q6") is True:
        order.append("q6_recent")
    return order


def next_question(answers: Mapping[str, bool]) -> str | None:
    """The next question to ask, or None when the screen is complete."""
    validate_answers(answers, complete=False)
    for question in asked(answers):
        if question not in answers:
            return question
    return None


def validate_answers(answers: Mapping[str, bool], complete: bool = True) -> None:
    """Refuse unknown questions, answers to skipped questions, and (if `complete`) gaps."""
    for key, value in answers.items():
        if key not in QUESTIONS:
            raise CssrsError(f"C-SSRS: unknown question {key!r}")
        if not isinstance(value, bool):
            raise CssrsError(f"C-SSRS: {key} must be yes or no")
    flow = asked(answers)
    skipped = [key for key in answers if key not in flow]
    if skipped:
        raise CssrsError(f"C-SSRS: {', '.join(skipped)} must be skipped by the flow")
    # An answer after a gap means a question was jumped over, not skipped by the flow.
    seen_gap = False
    for question in flow:
        if question not in answers:
            seen_gap = True
        elif seen_gap:
            raise CssrsError(f"C-SSRS: {question} answered before an earlier question")
    if complete and seen_gap:
        missing = [question for question in flow if question not in answers]
        raise CssrsError(f"C-SSRS: not finished, still to ask {', '.join(missing)}")


def risk(answers: Mapping[str, bool]) -> Risk:
    """The risk level of a complete screen (highest positive item wins)."""
    validate_answers(answers)
    if answers.get("q4") or answers.get("q5") or (answers["q6"] and answers.get("q6_recent")):
        return "high"
    if answers.get("q3") or answers["q6"]:
        return "moderate"
    if answers["q1"] or answers["q2"]:
        return "low"
    return "none"
