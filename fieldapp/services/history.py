"""One patient's course: earlier sessions, pain and mood over time, response, what is due.

The clinic's summary (`PatientSummary.past_sessions`) is merged with the visits recorded
on this laptop (pain NRS and PHQ-9 from their checklists). Response bands and the
course's triggers (LFTs due, the non-responder review) come from the clinical engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

from fieldapp.clinical.course import CourseInput, course_reasons
from fieldapp.clinical.dates import add_months
from fieldapp.clinical.scales import nrs_change, phq9_response
from fieldapp.services import engine
from fieldapp.services.ports import StorePort
from sync.records import (
    ChecklistSubmission,
    DoseAdministration,
    PatientSummary,
    Record,
    RecoveryRecord,
)

PHQ9_KEYS = tuple(f"phq9_{n}" for n in range(1, 10))


@dataclass(frozen=True)
class SessionPoint:
    """One infusion on the chart: its day, pain before and after, PHQ-9, dose, source."""

    on: date
    nrs_before: int | None
    nrs_after: int | None
    phq9: int | None
    dose_mg: float | None
    source: str


@dataclass(frozen=True)
class CourseHistory:
    """Everything the history screen shows, as plain data."""

    patient: str
    course_line: str
    points: list[SessionPoint]
    pain: str
    mood: str
    triggers: list[str] = field(default_factory=list)


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def phq9_total(answers: dict[str, Any]) -> int | None:
    """The PHQ-9 total from checklist answers (nine items, or the nine-digit form)."""
    items = [_int(answers.get(key)) for key in PHQ9_KEYS]
    if all(item is not None for item in items):
        return sum(item for item in items if item is not None)
    digits = str(answers.get("phq9", ""))
    nine = len(digits) == 9 and digits.isascii() and digits.isdigit()
    return sum(int(c) for c in digits) if nine else None


def pain_after(records: list[Record]) -> dict[UUID | None, int]:
    """Each visit's pain NRS at departure, from its newest recovery assessment that
    scored it (records come oldest first)."""
    found: dict[UUID | None, int] = {}
    for record in records:
        if isinstance(record, RecoveryRecord) and record.pain_nrs_after is not None:
            found[record.visit_id] = record.pain_nrs_after
    return found


def local_points(records: list[Record], known: set[date]) -> list[SessionPoint]:
    """Sessions recorded on this laptop that the clinic's summary does not list yet."""
    points = []
    checklists: dict[UUID | None, ChecklistSubmission] = {}
    for record in records:
        if isinstance(record, ChecklistSubmission) and "pre_visit" in record.template:
            checklists[record.visit_id] = record
    given = {r.visit_id: r for r in records if isinstance(r, DoseAdministration)}
    after = pain_after(records)
    for visit_id, checklist in checklists.items():
        day = checklist.recorded_at.date()
        if day in known:
            continue
        dose = given.get(visit_id)
        points.append(
            SessionPoint(
                on=day,
                nrs_before=_int(checklist.answers.get("pain_nrs")),
                nrs_after=after.get(visit_id),
                phq9=phq9_total(checklist.answers),
                dose_mg=dose.dose_mg if dose else None,
                source="this laptop",
            )
        )
    return points


def course_history(store: StorePort, patient_id: UUID, now: datetime) -> CourseHistory:
    """Read one patient's course and judge it (run it in a worker thread)."""
    patient = store.patient(patient_id)
    if patient is None:
        return CourseHistory("(patient not on this laptop)", "", [], "–", "–")
    points = [
        SessionPoint(
            s.on, s.pain_nrs_before, s.pain_nrs_after, s.phq9_total, s.dose_mg, "clinic record"
        )
        for s in patient.past_sessions
    ]
    points += local_points(store.patient_history(patient_id), {p.on for p in points})
    points.sort(key=lambda p: p.on)
    return CourseHistory(
        patient=patient.display_name,
        course_line=_course_line(patient, points),
        points=points,
        pain=_pain(patient, points),
        mood=_mood(patient, points),
        triggers=_triggers(patient, points, now),
    )


def _course_line(patient: PatientSummary, points: list[SessionPoint]) -> str:
    diagnoses = ", ".join(d.name for d in patient.diagnoses) or "no diagnosis on file"
    return (
        f"{diagnoses} · {len(points)} infusions recorded · baseline NRS "
        + (f"{patient.baseline_pain_nrs}" if patient.baseline_pain_nrs is not None else "–")
        + " · baseline PHQ-9 "
        + (f"{patient.baseline_phq9}" if patient.baseline_phq9 is not None else "–")
    )


def _pain(patient: PatientSummary, points: list[SessionPoint]) -> str:
    baseline = patient.baseline_pain_nrs
    afters = [p.nrs_after for p in points if p.nrs_after is not None]
    if baseline is None or not afters:
        return "Pain response: not enough data (baseline and a pain score after an infusion)."
    scale = engine.protocol().scales.nrs
    best = min(afters)
    change = nrs_change(baseline, best, scale)
    if change.pct_change is None:
        return "Pain response: baseline NRS is 0, so no percentage change."
    return (
        f"Pain response: best NRS {best} against baseline {baseline}: "
        f"{change.pct_change:.0f}% better ({change.responder})."
    )


def _mood(patient: PatientSummary, points: list[SessionPoint]) -> str:
    baseline = patient.baseline_phq9
    totals = [p.phq9 for p in points if p.phq9 is not None]
    if baseline is None or not totals:
        return "Depression response: not enough data (baseline and a later PHQ-9)."
    response = phq9_response(baseline, totals[-1], engine.protocol().scales.phq9)
    words = "remission" if response.remission else ("response" if response.response else "none")
    drop = f"{response.pct_drop:.0f}%" if response.pct_drop is not None else "–"
    return (
        f"Depression: latest PHQ-9 {totals[-1]} against baseline {baseline}: "
        f"{drop} lower ({words})."
    )


def _triggers(patient: PatientSummary, points: list[SessionPoint], now: datetime) -> list[str]:
    protocol = engine.protocol()
    tz = now.tzinfo
    course = CourseInput(
        previous_infusions=[datetime.combine(p.on, time(12), tz) for p in points],
        nrs_baseline=patient.baseline_pain_nrs,
        nrs_after=[p.nrs_after for p in points if p.nrs_after is not None],
        last_lft_date=patient.last_lft_on,
    )
    reasons, numbers = course_reasons(course, now, protocol)
    lines = [f"DUE: {r.message}" for r in reasons if r.rule_id in ("lft_due", "nonresponder")]
    hepatic = protocol.hepatic
    if not any(r.rule_id == "lft_due" for r in reasons):
        count = numbers.get("infusions_in_window")
        last = patient.last_lft_on
        lines.append(
            f"LFTs not due: {count} infusions in {hepatic.frequent_window_days} days, counting "
            f"the next (due above {hepatic.frequent_infusions_above}); last LFTs "
            + (
                f"{last}, series check by {add_months(last, hepatic.series_interval_months)}"
                if last
                else "none on file"
            )
            + "."
        )
    review_after = protocol.course.nonresponder_after_infusions
    done = len(course.nrs_after)
    if done < review_after:
        lines.append(
            f"Response review after {review_after} infusions with a pain score: "
            f"{done} so far, {review_after - done} to go."
        )
    elif not any(r.rule_id == "nonresponder" for r in reasons):
        lines.append(f"Response review after {review_after} infusions: reached, responding.")
    return lines
