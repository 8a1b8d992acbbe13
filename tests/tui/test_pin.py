"""Quick unlock at the bedside: a PIN set in settings, 5 tries then the passphrase, never past
the re-entry; during an infusion the lock screen shows the timers and nothing else."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Input, Static

from fieldapp.services.clock import ManualClock
from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.monitor import MonitorScreen
from fieldapp.tui.screens.settings import SettingsScreen
from fieldapp.tui.screens.today import TodayScreen
from fieldapp.tui.screens.unlock import UnlockScreen
from tests.tui.helpers import patient_facts, rendered_text, settle, unlock
from tests.tui.states import bring_to

SIZE = (100, 32)
PIN = "135790"


async def set_pin(pilot: Pilot[object], pin: str = PIN, again: str = PIN) -> None:
    """F8, the PIN twice, ctrl+s; back to where the clinician was."""
    await pilot.press("f8")
    await settle(pilot)
    assert isinstance(pilot.app.screen, SettingsScreen)
    await pilot.press(*pin, "tab", *again, "ctrl+s")
    await settle(pilot)
    await pilot.press("escape")
    await settle(pilot)


def pin_mode(app: FieldApp) -> bool:
    """Whether the lock screen asks for the PIN (not the passphrase)."""
    screen = app.screen
    assert isinstance(screen, UnlockScreen)
    return bool(screen.query_one("#pin", Input).display) and not bool(
        screen.query_one("#passphrase", Input).display
    )


def message(app: FieldApp) -> str:
    """The lock screen's message line."""
    return str(app.screen.query_one("#unlock-message", Static).render())


async def test_the_pin_unlocks_after_the_lock(app: FieldApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await unlock(pilot)
        await set_pin(pilot)
        assert app.services.store.has_pin
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert pin_mode(app)
        await unlock(pilot, PIN)
        assert isinstance(app.screen, TodayScreen)


async def test_two_different_pins_set_nothing(app: FieldApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await unlock(pilot)
        await set_pin(pilot, PIN, "135791")
        assert not app.services.store.has_pin
        await set_pin(pilot, "1357", "1357")  # too short
        assert not app.services.store.has_pin
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert not pin_mode(app)


async def test_five_wrong_pins_then_the_passphrase(app: FieldApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await unlock(pilot)
        await set_pin(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        for left in (4, 3, 2, 1):
            await unlock(pilot, "000000")
            assert pin_mode(app) and f"{left} tr" in message(app)
        await unlock(pilot, "000000")
        assert not pin_mode(app)  # the passphrase box now
        assert "Too many wrong PINs" in message(app)
        await unlock(pilot, PIN)  # the right PIN typed as a passphrase does nothing
        assert isinstance(app.screen, UnlockScreen)
        await unlock(pilot)
        assert isinstance(app.screen, TodayScreen)
        assert not app.services.store.has_pin  # set a new one if wanted


async def test_the_reentry_asks_for_the_passphrase_despite_a_pin(
    app: FieldApp, clock: ManualClock
) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await unlock(pilot)
        await set_pin(pilot)
        for _ in range(int(app.settings.store.reentry_hours * 60 / 4) + 1):
            clock.advance(minutes=4)
            app.services.note_activity()
        app.tick()
        await settle(pilot)
        assert isinstance(app.screen, UnlockScreen) and not pin_mode(app)
        assert "hours" in str(app.screen.query_one("#unlock-reason", Static).render())


async def test_the_locked_infusion_shows_its_timers_and_nothing_else(
    app: FieldApp, clock: ManualClock
) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await unlock(pilot)
        session = bring_to(app, clock, "monitor")
        app.open_visit(session.visit.id)
        await settle(pilot)
        assert isinstance(app.screen, MonitorScreen)
        await set_pin(pilot)
        assert isinstance(app.screen, MonitorScreen)
        # The idle lock fires at the bedside: the PIN is the answer, not the passphrase.
        clock.advance(minutes=app.settings.store.auto_lock_minutes + 0.1)
        app.tick()
        await settle(pilot)
        assert pin_mode(app)
        shown = rendered_text(app)
        assert "Infusion running" in shown and "Vitals due in 1 min" in shown
        assert "on visit" in shown  # the lone-worker timer
        assert [f for f in patient_facts() if f in shown] == []
        for value in ("152/94", "152", "mmHg", "CADSS", "mg"):  # no clinical value either
            assert value not in shown
        clock.advance(minutes=1)
        app.tick()
        await settle(pilot)
        assert "VITALS DUE now" in rendered_text(app)
        await unlock(pilot, PIN)
        assert isinstance(app.screen, MonitorScreen)  # back at the bedside screen
