"""Pilot tests of a clinician's day without friction (issue 18): clock times on the screens,
the monitor's focus and its list of readings, the pain after on the recovery screen, one
visit checked in at a time, and the day's outcomes on today's list."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from uuid import UUID

from textual.widgets import Static

from fieldapp.services.clock import clock_time
from fieldapp.services.visit import VisitSession
from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.checklist import ChecklistScreen
from fieldapp.tui.screens.evv import EvvScreen
from fieldapp.tui.screens.monitor import MonitorScreen
from fieldapp.tui.screens.recovery import RecoveryScreen
from fieldapp.tui.screens.today import TodayScreen
from fieldapp.tui.widgets.vitals_chart import VitalsChart, clock_ticks
from sync.records import RecoveryRecord, StatusEvent
from tests.tui.helpers import fill, later, screen_text, settle, unlock
from tests.tui.test_visit import GOOD_RECOVERY, GOOD_VITALS, session, to_monitor

SIZE = (100, 32)
HHMM = re.compile(r"^\d\d:\d\d$")


def text_of(app: FieldApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_the_monitor_reads_in_clock_times_and_lists_each_reading(
    app: FieldApp,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await to_monitor(pilot)
        s = session(app)
        started = s.status_at("infusion_started")
        assert started is not None
        assert f"Started {clock_time(started, clock)}" in text_of(app, "#monitor-timer")
        screen = app.screen
        assert isinstance(screen, MonitorScreen)
        systolic = screen.fields()["systolic_mmhg"].input
        for minutes, high in ((10, False), (10, True)):
            later(app, clock, minutes)
            values = {**GOOD_VITALS}
            if high:
                values.update(systolic_mmhg="186", diastolic_mmhg="104")
            await fill(pilot, values)
            screen.fields()["rass"].focus_input()  # the cursor on the last vital typed
            await pilot.press("ctrl+s")
            await settle(pilot)
            # The next reading starts at systolic: no shift+Tabs back through the form.
            assert app.focused is systolic
        readings = s.vitals("during")
        listed = text_of(app, "#readings-list").splitlines()
        assert len(listed) == 2
        newest, oldest = listed
        assert newest.startswith(f"{clock_time(readings[1].taken_at, clock)} 186/104")
        assert newest.endswith("PAUSE")
        assert oldest.startswith(f"{clock_time(readings[0].taken_at, clock)} 134/84")
        assert oldest.endswith("continue")
        # The pause is held until a clock time, never "minute 5.367".
        later(app, clock, 2)
        await fill(pilot, GOOD_VITALS)
        await pilot.press("ctrl+s")
        await settle(pilot)
        judgement = text_of(app, "#judgement")
        recheck = clock_time(readings[1].taken_at + timedelta(minutes=5), clock)
        assert f"Paused until the recheck at {recheck}" in judgement
        assert "minute" not in judgement
        # The chart: x labels in clock minutes, its key on a line of its own.
        assert "sys" in text_of(app, "#chart-legend") and "HR" in text_of(app, "#chart-legend")
        chart = screen.query_one(VitalsChart)
        times = [r.taken_at for r in s.vitals("during")]
        _, labels = clock_ticks(times)
        assert labels and all(HHMM.match(label) for label in labels)
        drawn = chart.plt.build()
        assert labels[0] in drawn and "sys" not in drawn


async def test_the_observation_is_not_done_before_the_minimum(
    app: FieldApp,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await to_monitor(pilot)
        later(app, clock, 40)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, RecoveryScreen)
        s = session(app)
        ended = s.status_at("infusion_ended")
        assert ended is not None
        need = 60 if s.first_infusion else 30
        later(app, clock, need - 1)
        clock.advance(seconds=30)  # 29.5 of 30 minutes: not done
        app.screen.update_timer()  # type: ignore[attr-defined]
        timer = text_of(app, "#observation-timer")
        assert f"Ended {clock_time(ended, clock)}" in timer
        assert f"observed {need - 1} min" in timer
        assert "(1 min to go)" in timer and "done" not in timer
        clock.advance(seconds=30)
        app.screen.update_timer()  # type: ignore[attr-defined]
        assert "minimum observation done" in text_of(app, "#observation-timer")


async def test_the_pain_after_is_asked_and_recorded(app: FieldApp, clock) -> None:  # type: ignore[no-untyped-def]
    async with app.run_test(size=SIZE) as pilot:
        await to_monitor(pilot)
        later(app, clock, 40)
        await pilot.press("ctrl+n")
        await settle(pilot)
        later(app, clock, 61)
        assert "Score the pain now" in text_of(app, "#recovery-decision")
        await fill(pilot, {**GOOD_RECOVERY, "pain_nrs_after": "11"})
        assert "Score the pain now" in text_of(app, "#recovery-decision")  # 11 is no NRS
        await fill(pilot, {"pain_nrs_after": "3"})
        panel = text_of(app, "#recovery-decision")
        assert "Pain NRS 3" in panel
        s = session(app)
        baseline = s.patient.baseline_pain_nrs
        if baseline:
            assert f"the course baseline {baseline}" in panel
        for box in app.screen.query("Checkbox"):
            box.value = True  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot)
        stored = VisitSession.load(app.services, s.visit.id).last(RecoveryRecord)
        assert stored is not None and stored.pain_nrs_after == 3


async def checked_in_to_the_first(pilot: Any) -> UUID:
    """Unlocked, checked in to the day's first visit and back on today's list; the second
    visit's id."""
    app = pilot.app
    await unlock(pilot)
    today = app.screen
    assert isinstance(today, TodayScreen)
    first, second = today.visit_ids()[:2]
    app.open_visit(first)
    await settle(pilot)
    await pilot.press("ctrl+r", "space", "ctrl+s")
    await settle(pilot)
    assert isinstance(app.screen, ChecklistScreen)
    await pilot.press("escape")
    await settle(pilot)
    return second


async def test_a_second_check_in_asks_why_and_records_it(app: FieldApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        second = await checked_in_to_the_first(pilot)
        app.open_visit(second)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, EvvScreen)
        reason = screen.fields()["second_reason"]
        assert not reason.display
        await pilot.press("ctrl+r", "space", "ctrl+s")
        await settle(pilot)
        assert app.screen is screen  # refused: still checking in
        assert reason.display and app.focused is reason.input
        assert not VisitSession.load(app.services, second).has_status("arrived")
        await pilot.press(*"first check-out missed")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ChecklistScreen)
        arrived = [
            e
            for e in VisitSession.load(app.services, second).of(StatusEvent)
            if e.status == "arrived"
        ]
        assert len(arrived) == 1 and arrived[0].note is not None
        assert "Reason: first check-out missed" in arrived[0].note


async def test_a_reason_typed_for_a_second_check_in_comes_back_shown(app: FieldApp) -> None:
    # The field is mounted only when asked for: a draft holding its text brings it back.
    async with app.run_test(size=SIZE) as pilot:
        second = await checked_in_to_the_first(pilot)
        app.open_visit(second)
        await settle(pilot)
        await pilot.press("ctrl+r", "space", "ctrl+s")
        await settle(pilot)
        await pilot.press(*"missed")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        app.open_visit(second)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, EvvScreen)
        reason = screen.fields()["second_reason"]
        assert reason.display and reason.is_mounted and reason.value == "missed"


async def test_todays_list_shows_how_a_visit_ended(app: FieldApp, clock) -> None:  # type: ignore[no-untyped-def]
    async with app.run_test(size=SIZE) as pilot:
        await to_monitor(pilot)
        later(app, clock, 10)
        await fill(pilot, {**GOOD_VITALS, "rass": "-3"})  # RASS -3: stop
        await pilot.press("ctrl+s")
        await settle(pilot)
        s = session(app)
        assert s.has_status("infusion_ended")
        later(app, clock, 61)
        from fieldapp.services.recovery import Note, Recovery
        from tests.services.scenario import GOOD_RECOVERY as RECOVERED

        Recovery(s).record(dict(RECOVERED))
        note = Note(s)
        note.sign(note.draft())
        s.check_out(None, None, attested=True)
        app.action_today()
        await settle(pilot)
        today = app.screen
        assert isinstance(today, TodayScreen)
        today.load_visits()
        await settle(pilot)
        row = next(r for r in today.rows if r.visit_id == s.visit.id)
        assert row.status == "stopped early"
        assert "1 done" in text_of(app, "#today-title")


async def test_a_colleagues_visit_reads_as_break_glass_at_80_columns(app: FieldApp) -> None:
    """A visit assigned to someone else (what a break-glass grant brings) says so in its
    status, whole at the narrowest size, and under the table says whose it is."""
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        store = app.services.store
        theirs = store.visits_for_day(app.services.clock.now().date())[1]
        store.put_server_records(
            [theirs.model_copy(update={"clinician_id": "c02", "version": theirs.version + 1})]
        )
        today = app.screen
        assert isinstance(today, TodayScreen)
        today.load_visits()
        await settle(pilot)
        marked = [row for row in today.rows if row.colleague]
        assert [row.visit_id for row in marked] == [theirs.id]
        assert marked[0].colleague == "c02"
        assert "⚠break-glass" in screen_text(app)
        table = today.query_one("#visits")
        table.move_cursor(row=today.rows.index(marked[0]))  # type: ignore[attr-defined]
        await settle(pilot)
        assert "Break-glass access: c02's visit, not on your route." in screen_text(app)
