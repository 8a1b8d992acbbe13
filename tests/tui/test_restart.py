"""Timers survive a restart: a new app over the same store finds the visit in progress, its
lone-worker timer (with the time asked for and the steps answered), vitals due and the
recovery watch. (The real process killed with SIGKILL: tests/tui/test_tmux_restart.py.)"""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import Static

from fieldapp.services import safety
from fieldapp.services.clock import ManualClock
from fieldapp.settings import Settings
from fieldapp.store.store import Store
from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.monitor import MonitorScreen
from fieldapp.tui.screens.recovery import RecoveryScreen
from fieldapp.tui.screens.today import TodayScreen
from tests.tui.helpers import later, unlock
from tests.tui.states import bring_to

SIZE = (100, 32)


async def record_then_quit(store: Store, settings: Settings, clock: ManualClock, step: str):  # type: ignore[no-untyped-def]
    """One app records the visit up to `step`, then stops without a goodbye."""
    app = FieldApp(store, settings, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        session = bring_to(app, clock, step)
        app.services.current_visit = session
        timer = app.services.lone_worker
        return session.visit.id, timer.checked_in_at, timer.expected_out


async def test_the_infusion_and_its_timers_come_back(
    store: Store, settings: Settings, clock: ManualClock
) -> None:
    visit_id, checked_in, expected = await record_then_quit(store, settings, clock, "monitor")
    store.lock()
    app = FieldApp(store, settings, clock=clock)  # a new process, as far as the app knows
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        assert isinstance(app.screen, MonitorScreen)  # straight back to the bedside screen
        assert app.screen.session.visit.id == visit_id
        timer = app.services.lone_worker
        assert (timer.visit_id, timer.checked_in_at, timer.expected_out) == (
            visit_id,
            checked_in,
            expected,
        )
        app.screen.update_timer()
        text = str(app.screen.query_one("#monitor-timer", Static).render())
        assert "Started 08:55" in text and "next BP" in text
        app.refresh_status()
        await pilot.pause()
        assert "on visit" in str(app.screen.query_one("#status-line", Static).render())


async def test_the_recovery_watch_comes_back(
    store: Store, settings: Settings, clock: ManualClock
) -> None:
    await record_then_quit(store, settings, clock, "recovery")
    store.lock()
    app = FieldApp(store, settings, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        assert isinstance(app.screen, RecoveryScreen)
        app.screen.update_timer()
        timer = str(app.screen.query_one("#observation-timer", Static).render())
        assert "Ended 09:35 · observed 35 min" in timer


async def test_more_time_and_answered_steps_come_back(
    store: Store, settings: Settings, clock: ManualClock
) -> None:
    app = FieldApp(store, settings, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        session = bring_to(app, clock, "checklist")
        app.services.current_visit = session
        timer = app.services.lone_worker
        later(app, clock, int((timer.expected_out - clock.now()).total_seconds() // 60) + 16)
        safety.safe_check_in(app.services)  # answers the +15 prompt
        answered = timer.acknowledged_step
        assert answered is not None
        later(app, clock, 2)
        safety.extend_visit(app.services, 20)
        expected = timer.expected_out
        later(app, clock, 36)  # 16 min past the new time: the first step again
        state = timer.state()
        assert state.overdue
        safety.safe_check_in(app.services)
        again = timer.acknowledged_step
    store.lock()
    app = FieldApp(store, settings, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        assert isinstance(app.screen, TodayScreen)  # a checklist is not a bedside timer
        timer = app.services.lone_worker
        assert timer.expected_out == expected and timer.acknowledged_step == again
        assert timer.needs_prompt() is None  # answered before the restart: not asked again
        clock.advance(minutes=20)
        assert timer.needs_prompt() is not None  # the next step is still asked
        assert expected - timer.checked_in_at > timedelta(minutes=session.visit.duration_min)
