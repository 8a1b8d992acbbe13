"""The lock is a wall: while locked no key, palette entry, timer or screen push gets past it,
nothing of a patient is on the screen, and the screens that held patient data are gone."""

from __future__ import annotations

import gc
import weakref

from textual import events
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input

from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.base import FieldScreen
from fieldapp.tui.screens.checklist import ChecklistScreen
from fieldapp.tui.screens.overdue import OverdueDialog
from fieldapp.tui.screens.today import TodayScreen
from fieldapp.tui.screens.unlock import UnlockScreen
from tests.tui.helpers import (
    check_in,
    fill,
    later,
    open_first_visit,
    patient_facts,
    rendered_text,
    settle,
    unlock,
)
from tests.tui.test_visit import to_checklist

SIZE = (100, 32)
# Every F-key, every ctrl+letter but ctrl+q (quits: it shows nothing) and ctrl+e (duress,
# tested on its own), and the keys that act on today's list and in dialogs.
KEYS = [
    *(f"f{n}" for n in range(1, 13)),
    *(f"ctrl+{c}" for c in "abcdfghijklmnoprstuvwxyz"),
    *("escape", "tab", "shift+tab", "enter", "h", "r", "s", "c", "space"),
]


def assert_walled(app: FieldApp) -> None:
    """Only the lock screen, over the blank base; the store locked; no patient on screen."""
    assert isinstance(app.screen, UnlockScreen)
    assert len(app.screen_stack) == 2
    assert app.services.store.is_locked and app.locked
    shown = rendered_text(app)
    assert [fact for fact in patient_facts() if fact in shown] == []


async def press_everything(pilot: Pilot[object]) -> None:
    """Every key of `KEYS`, checking after each that the lock screen still stands."""
    app = pilot.app
    assert isinstance(app, FieldApp)
    for key in KEYS:
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, UnlockScreen), key
    await settle(pilot)
    assert_walled(app)
    for box in app.screen.query(Input):
        box.value = ""  # what was typed went into the lock screen's box: clear it


async def test_keys_after_the_lock_key_reach_nothing(app: FieldApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await to_checklist(pilot)
        await fill(pilot, {"bp_first": "131/85"})
        assert any(fact in rendered_text(app) for fact in patient_facts())  # the test can see
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert_walled(app)
        await press_everything(pilot)
        await unlock(pilot)
        assert isinstance(app.screen, ChecklistScreen)  # back where the clinician was
        assert app.screen.fields()["bp_first"].value == "131/85"


async def test_keys_after_the_idle_lock_reach_nothing(app: FieldApp, clock) -> None:  # type: ignore[no-untyped-def]
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await unlock(pilot)
        await pilot.press("f1")  # a screen over today's list
        await settle(pilot)
        clock.advance(minutes=app.settings.store.auto_lock_minutes + 0.1)
        app.tick()
        await settle(pilot)
        assert_walled(app)
        await press_everything(pilot)
        await unlock(pilot)
        assert isinstance(app.screen, TodayScreen)


async def test_the_first_unlock_screen_is_a_wall_too(app: FieldApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await press_everything(pilot)


async def test_the_palette_and_actions_do_nothing_while_locked(app: FieldApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert not CommandPalette.is_open(app)
        app.action_command_palette()  # as a click on the header icon would
        for action in ("today", "ledger", "sync", "help", "lone_check_in", "lock"):
            assert not await app.run_action(action)
        app.action_today()  # called directly, as code might
        app.action_ledger()
        app.open_history(app.services.store.device_id)  # type: ignore[arg-type]
        await settle(pilot)
        assert not CommandPalette.is_open(app)
        assert_walled(app)


async def test_a_timer_opens_no_screen_while_locked(app: FieldApp, clock) -> None:  # type: ignore[no-untyped-def]
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await unlock(pilot)
        await open_first_visit(pilot)
        await check_in(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        overdue = app.services.lone_worker.expected_out - clock.now()
        clock.advance(seconds=overdue.total_seconds() + 16 * 60)
        app.tick()  # the overdue prompt is due: not over the lock
        await settle(pilot)
        assert_walled(app)
        assert "OVERDUE" in rendered_text(app)  # the timer itself is safe to show
        await unlock(pilot)
        app.tick()
        await settle(pilot)
        assert isinstance(app.screen, OverdueDialog)  # asked at once after unlocking


async def test_locking_forgets_every_screen_and_the_visit(app: FieldApp, clock) -> None:  # type: ignore[no-untyped-def]
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        # Keys only: a Pilot click leaves the screens it saw in the test's own context.
        await unlock(pilot)
        await open_first_visit(pilot)
        await pilot.press("ctrl+r", "space", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ChecklistScreen)
        later(app, clock, 1)
        await pilot.press("f1")
        await settle(pilot)
        _ = app.services.ledger
        # A mouse move through the app, as a real terminal sends it: Textual keeps the
        # screens behind the help dialog in the app's context until the next one.
        app.post_message(events.MouseMove(None, 5, 5, 0, 0, 0, False, False, False, 5, 5))
        await settle(pilot)
        screens = [weakref.ref(s) for s in app.screen_stack if isinstance(s, FieldScreen)]
        assert len(screens) == 2  # today's list and the checklist, under the help dialog
        assert app.kept_check_in.screen is not None  # off the stack, kept for the next visit
        screens.append(weakref.ref(app.kept_check_in.screen))
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert_walled(app)
        assert app.services.current_visit is None and app.services._ledger is None
        assert app.services.current_visit_id is not None  # an id: to resume the visit
        for _ in range(300):  # removing a screen finishes in its own time (slow under load)
            gc.collect()
            if all(ref() is None for ref in screens):
                break
            await pilot.pause(0.1)
        assert [ref() for ref in screens] == [None, None, None]  # freed, not merely hidden
