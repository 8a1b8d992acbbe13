"""A clinician's day without friction, through the services on the real store (issue 18):
clock times in every message, one visit checked in at a time, the pain after the infusion
feeding the course, the day's outcomes, and sync rounds counted, automatic ones too."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldapp.clinical.monitoring import Reading, evaluate_reading, evaluate_series
from fieldapp.clinical.recovery import RecoveryInput, evaluate_recovery
from fieldapp.demo.seattle import SEATTLE
from fieldapp.services import engine
from fieldapp.services.checklist import ChecklistRun, _course
from fieldapp.services.clock import ManualClock, clock_time, minutes_left, whole_minutes
from fieldapp.services.context import AppServices
from fieldapp.services.history import course_history
from fieldapp.services.recovery import Recovery
from fieldapp.services.resume import resume_visit
from fieldapp.services.syncing import SyncState
from fieldapp.services.today import rows_for_day
from fieldapp.services.visit import AnotherVisitOpen, StepRefused, VisitSession
from fieldapp.store import Store
from sync.records import RecoveryRecord, StatusEvent
from tests.services.scenario import GOOD_CHECKLIST, GOOD_RECOVERY, GOOD_VITALS
from tests.services.test_clinical_flow import infusing, later, services
from tests.tui.conftest import DAY, PASSPHRASE

__all__ = ["services"]  # the fixture, used by name

FRACTION = re.compile(r"\d\.\d")
HIGH = {**GOOD_VITALS, "systolic_mmhg": 186, "diastolic_mmhg": 104}


# -- clock times --------------------------------------------------------------------------


def test_a_pause_is_held_until_a_clock_time(services: AppServices, clock: ManualClock) -> None:
    infusion = infusing(services, clock)
    started = infusion.started_at
    assert started is not None
    later(services, clock, 10.4)  # a reading at an odd second: minute 10.4
    infusion.record(HIGH)
    later(services, clock, 1.3)
    _, decision = infusion.record(GOOD_VITALS)  # settled before the recheck: still paused
    held = next(r for r in decision.reasons if r.rule_id == "pause_held")
    recheck = started + timedelta(minutes=10.4 + 5)
    assert held.message == f"Paused until the recheck at {recheck.astimezone(SEATTLE):%H:%M}"
    assert "minute" not in held.message


def test_a_stop_names_its_clock_time(services: AppServices, clock: ManualClock) -> None:
    infusion = infusing(services, clock)
    later(services, clock, 7.5)
    infusion.record({**GOOD_VITALS, "rass": -3})  # RASS -3: stop
    later(services, clock, 1)
    readings = [infusion._as_reading(v) for v in infusion.readings()]
    after = Reading(minute=Decimal("9.5"), systolic=130, diastolic=80, heart_rate=80, spo2=98)
    decision = evaluate_reading(after, readings, engine.protocol(), infusion.clock_label())
    stopped = next(r for r in decision.reasons if r.rule_id == "no_restart")
    assert stopped.message.startswith(
        f"Stopped at {clock_time(infusion.readings()[0].taken_at, clock)}"
    )


@given(st.decimals(min_value=0, max_value=200, places=3))
@settings(max_examples=60, deadline=None)
def test_without_a_clock_a_minute_is_whole(minute: Decimal) -> None:
    high = Reading(minute=minute, systolic=186, diastolic=104, heart_rate=80, spo2=98)
    calm = Reading(minute=minute + Decimal("0.5"), systolic=130, diastolic=80, heart_rate=80)
    decisions = evaluate_series([high, calm], engine.protocol())
    for reason in decisions[-1].reasons:
        assert not FRACTION.search(reason.message.split("limit")[0]), reason.message


@given(st.decimals(min_value=0, max_value=120, places=3), st.booleans())
@settings(max_examples=60, deadline=None)
def test_observed_minutes_are_whole(minutes: Decimal, first: bool) -> None:
    data = RecoveryInput(minutes_since_end=minutes, first_infusion=first)
    for reason in evaluate_recovery(data, engine.protocol()).reasons:
        if reason.rule_id == "observation_time":
            assert f"Observed {int(minutes)} min" in reason.message
            assert not FRACTION.search(reason.message)


@given(st.integers(min_value=-7200, max_value=7200))
def test_minutes_left_is_never_zero_before_the_end(seconds: int) -> None:
    left = minutes_left(timedelta(seconds=seconds))
    assert (left == 0) == (seconds <= 0)
    assert whole_minutes(timedelta(seconds=seconds)) == max(0, seconds // 60)


def test_clock_time_is_the_clinics_zone() -> None:
    clock = ManualClock(datetime(2026, 3, 10, 8, 30, tzinfo=SEATTLE))
    utc = datetime(2026, 3, 10, 22, 5, tzinfo=SEATTLE).astimezone(tz=None)
    assert clock_time(utc, clock) == "22:05"


# -- one visit checked in at a time -------------------------------------------------------


def _visit(services: AppServices, index: int) -> VisitSession:
    visit = services.store.visits_for_day(DAY)[index]
    return VisitSession.load(services, visit.id)


def test_a_second_check_in_needs_a_reason(services: AppServices) -> None:
    first = _visit(services, 0)
    first.arrive(None, None, attested=True)
    second = _visit(services, 1)
    with pytest.raises(AnotherVisitOpen) as refused:
        second.arrive(None, None, attested=True)
    assert [v.id for v in refused.value.others] == [first.visit.id]
    assert not second.has_status("arrived")
    with pytest.raises(AnotherVisitOpen):
        second.arrive(None, None, attested=True, second_reason=" ok ")  # no reason at all
    event = second.arrive(
        None, None, attested=True, second_reason="first patient's check-out was missed"
    )
    assert event.note is not None and "first patient's check-out was missed" in event.note
    assert str(first.visit.id) in event.note
    stored = VisitSession.load(services, second.visit.id).of(StatusEvent)
    assert any(e.status == "arrived" and e.note == event.note for e in stored)


def test_a_checked_out_visit_leaves_the_next_check_in_free(services: AppServices) -> None:
    first = _visit(services, 0)
    first.arrive(None, None, attested=True)
    first.decline("Hard stop at the checklist.")
    with pytest.raises(AnotherVisitOpen):  # declined, but the clinician is still there
        _visit(services, 1).arrive(None, None, attested=True)
    first.check_out(None, None, attested=True)
    event = _visit(services, 1).arrive(None, None, attested=True)
    assert event.note is None


def test_a_declined_visit_keeps_its_timer_until_check_out(
    services: AppServices, clock: ManualClock
) -> None:
    """No infusion, but the clinician is in the home: the lone-worker timer runs on (the
    welfare check must still come if they never leave), and check-out stops it."""
    first = _visit(services, 0)
    first.arrive(None, None, attested=True)
    first.decline("Hard stop at the checklist.")
    assert first.step == "checkout"
    assert services.lone_worker.visit_id == first.visit.id
    later(services, clock, first.visit.duration_min + 30)
    assert services.lone_worker.state().overdue
    first.check_out(None, None, attested=True)
    assert first.step == "done"
    assert services.lone_worker.state().text == "not on a visit"
    assert services.current_visit is None


def test_a_restart_after_a_decline_brings_back_the_check_out(
    store: Store, settings: Any, clock: ManualClock
) -> None:
    before = AppServices(store, settings, clock=clock)
    before.unlock(PASSPHRASE)
    first = _visit(before, 0)
    first.arrive(None, None, attested=True)
    first.decline("Hard stop at the checklist.")
    after = AppServices(store, settings, clock=clock)  # the app was killed and started again
    after.unlock(PASSPHRASE)
    resumed = resume_visit(after)
    assert resumed is not None and resumed.visit.id == first.visit.id
    assert resumed.step == "checkout"
    assert after.lone_worker.visit_id == first.visit.id


def test_checking_out_of_a_forgotten_visit_keeps_the_timer_where_the_clinician_is(
    services: AppServices,
) -> None:
    first = _visit(services, 0)
    first.arrive(None, None, attested=True)
    first.decline("Hard stop at the checklist.")
    second = _visit(services, 1)
    second.arrive(None, None, attested=True, second_reason="first check-out was missed")
    assert services.lone_worker.visit_id == second.visit.id
    first.check_out(None, None, attested=True)  # the first visit's check-out, late
    assert services.lone_worker.visit_id == second.visit.id
    assert services.current_visit_id == second.visit.id


def test_checking_out_with_another_visit_open_gives_that_one_the_timer(
    services: AppServices,
) -> None:
    first = _visit(services, 0)
    first.arrive(None, None, attested=True)
    second = _visit(services, 1)
    second.arrive(None, None, attested=True, second_reason="first check-out was missed")
    second.decline("Hard stop at the checklist.")
    second.check_out(None, None, attested=True)
    assert services.lone_worker.visit_id == first.visit.id  # never without a timer
    arrived = first.status_at("arrived")
    assert services.lone_worker.checked_in_at == arrived


def test_the_reason_does_not_stand_in_for_the_location(services: AppServices) -> None:
    _visit(services, 0).arrive(None, None, attested=True)
    with pytest.raises(StepRefused, match="attest"):
        _visit(services, 1).arrive(None, None, attested=False, second_reason="a good reason")


# -- the pain after, the course -----------------------------------------------------------


def _to_recovery(services: AppServices, clock: ManualClock) -> VisitSession:
    infusion = infusing(services, clock)
    later(services, clock, 40)
    infusion.end()
    later(services, clock, 61)
    return infusion.session


def test_the_pain_after_is_kept_and_feeds_the_history(
    services: AppServices, clock: ManualClock
) -> None:
    s = _to_recovery(services, clock)
    record, decision = Recovery(s).record({**GOOD_RECOVERY, "pain_nrs_after": 2})
    assert decision.outcome == "cleared" and record.pain_nrs_after == 2
    stored = VisitSession.load(services, s.visit.id).last(RecoveryRecord)
    assert stored is not None and stored.pain_nrs_after == 2
    history = course_history(services.store, s.patient.id, clock.now())
    today = [p for p in history.points if p.source == "this laptop"]
    assert [p.nrs_after for p in today] == [2]
    assert "best NRS 2" in history.pain or s.patient.baseline_pain_nrs is None


def test_a_pain_after_on_this_laptop_counts_for_the_course(
    services: AppServices, clock: ManualClock
) -> None:
    s = _to_recovery(services, clock)
    Recovery(s).record({**GOOD_RECOVERY, "pain_nrs_after": 1})
    # The same patient's next visit: the course sees today's score (not yet in the summary).
    nxt = VisitSession.load(services, s.visit.id)
    nxt._earlier = [*services.store.patient_history(s.patient.id)]
    nxt.records = []
    course = _course(nxt)
    summary = [p.pain_nrs_after for p in s.patient.past_sessions if p.pain_nrs_after is not None]
    assert course.nrs_after == [*summary, 1]


def test_the_pain_change_reads_against_the_course_baseline(
    services: AppServices, clock: ManualClock
) -> None:
    s = _to_recovery(services, clock)
    baseline = s.patient.baseline_pain_nrs
    text = Recovery(s).pain_change(0)
    if baseline:
        assert text is not None and text.startswith(f"100% below the course baseline {baseline}")
    else:
        assert text is None or "no percentage" in text


def test_a_checklist_course_is_unchanged_without_local_scores(
    services: AppServices, clock: ManualClock
) -> None:
    s = _visit(services, 0)
    s.arrive(None, None, attested=True)
    run = ChecklistRun(s)
    run.texts.update(GOOD_CHECKLIST)
    summary = [p.pain_nrs_after for p in s.patient.past_sessions if p.pain_nrs_after is not None]
    assert _course(s).nrs_after == summary


# -- the day's outcomes -------------------------------------------------------------------


def test_a_stopped_infusion_shows_as_stopped_early(
    services: AppServices, clock: ManualClock
) -> None:
    infusion = infusing(services, clock)
    later(services, clock, 10)
    infusion.record({**GOOD_VITALS, "rass": -3})
    s = infusion.session
    assert s.has_status("infusion_ended")
    row = next(r for r in rows_for_day(services.store, DAY) if r.visit_id == s.visit.id)
    assert row.status == "recovering"
    later(services, clock, 61)
    Recovery(s).record(dict(GOOD_RECOVERY))
    from fieldapp.services.recovery import Note

    note = Note(s)
    note.sign(note.draft())
    s.check_out(None, None, attested=True)
    row = next(r for r in rows_for_day(services.store, DAY) if r.visit_id == s.visit.id)
    assert row.status == "stopped early"


def test_a_declined_visit_shows_as_not_given(services: AppServices) -> None:
    s = _visit(services, 0)
    s.arrive(None, None, attested=True)
    s.decline("Hard stop: BP.")
    row = next(r for r in rows_for_day(services.store, DAY) if r.visit_id == s.visit.id)
    assert row.status == "not given"
    s.check_out(None, None, attested=True)
    row = next(r for r in rows_for_day(services.store, DAY) if r.visit_id == s.visit.id)
    assert row.status == "not given"


# -- sync rounds ---------------------------------------------------------------------------


class Report:
    def __init__(self, pushed: dict[str, int], pulled: int = 0) -> None:
        self.pushed, self.pulled, self.pending, self.set_aside = pushed, pulled, 0, 0

    def summary(self) -> str:
        return "ok"


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 5)), min_size=1, max_size=8))
def test_automatic_rounds_are_reported_and_never_hide_what_was_sent(
    rounds: list[tuple[bool, int]],
) -> None:
    state = SyncState(configured=True)
    now = datetime(2026, 3, 10, 9, 0, tzinfo=SEATTLE)
    for index, (manual, sent) in enumerate(rounds):
        state.begin(now + timedelta(minutes=index), manual)
        state.finish(Report({"applied": sent} if sent else {}), now + timedelta(minutes=index))
    text = state.sent_text()
    total = sum(n for _, n in rounds)
    automatic = sum(1 for manual, _ in rounds if not manual)
    assert "Nothing sent yet" not in text
    assert f"({automatic} automatic)" in text
    assert f"Last round ({'manual' if rounds[-1][0] else 'automatic'})" in text
    if total:
        assert f"{total} records sent in {len(rounds)} round" in text
    else:
        assert "nothing sent" in text


def test_no_round_yet_says_so() -> None:
    assert SyncState().sent_text() == "Nothing sent yet in this session."
