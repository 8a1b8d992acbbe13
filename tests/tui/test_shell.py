"""The app shell: unlock, back-off, today's list, help, lock, auto-lock and re-entry."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Static

from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.help import HelpScreen
from fieldapp.tui.screens.today import TodayScreen
from fieldapp.tui.screens.unlock import UnlockScreen
from tests.tui.helpers import settle, unlock


async def test_unlock_shows_today_in_route_order(app: FieldApp) -> None:
    async with app.run_test(size=(100, 32)) as pilot:
        assert isinstance(app.screen, UnlockScreen)
        await unlock(pilot)
        screen = app.screen
        assert isinstance(screen, TodayScreen)
        orders = [row.order for row in screen.rows]
        assert orders == sorted(orders) and len(orders) >= 3
        table = screen.query_one("#visits", DataTable)
        assert table.row_count == len(orders)
        assert all(row.status == "scheduled" for row in screen.rows)
        assert "of 6" in screen.rows[0].course or "booster" in screen.rows[0].course
        app.refresh_status()
        await pilot.pause()
        line = str(screen.query_one("#status-line", Static).render())
        assert "0 pending" in line and "sync not configured" in line and "not on a visit" in line


async def test_wrong_passphrase_then_backoff_is_visible(app: FieldApp) -> None:
    async with app.run_test(size=(100, 32)) as pilot:
        for _ in range(3):
            await unlock(pilot, "wrong guess")
        message = app.screen.query_one("#unlock-message", Static)
        assert "did not unlock" in str(message.render())
        await unlock(pilot, "wrong again")
        assert "locked, try again in 30 s" in str(message.render())
        assert app.screen.query_one("#passphrase", Input).disabled
        assert isinstance(app.screen, UnlockScreen)


async def test_lock_key_and_idle_lock_and_reentry(app: FieldApp, clock) -> None:  # type: ignore[no-untyped-def]
    async with app.run_test(size=(100, 32)) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert isinstance(app.screen, UnlockScreen)
        assert app.services.store.is_locked
        await unlock(pilot)
        assert isinstance(app.screen, TodayScreen)
        # Idle past the configured minutes: the tick locks.
        clock.advance(minutes=app.settings.store.auto_lock_minutes + 0.1)
        app.tick()
        await pilot.pause()
        assert isinstance(app.screen, UnlockScreen)
        assert "idle" in str(app.screen.query_one("#unlock-reason", Static).render())
        await unlock(pilot)
        # Busy all day: the re-entry limit still asks again.
        for _ in range(int(app.settings.store.reentry_hours * 60 / 4) + 1):
            clock.advance(minutes=4)
            app.services.note_activity()
        app.tick()
        await pilot.pause()
        assert isinstance(app.screen, UnlockScreen)
        assert "hours" in str(app.screen.query_one("#unlock-reason", Static).render())


async def test_help_lists_every_binding_id(app: FieldApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        ids = {row[3] for row in app.screen.rows}
        assert {"help", "lock", "duress", "today-open"} <= ids
        await pilot.press("escape")
        assert isinstance(app.screen, TodayScreen)


async def test_keys_are_remappable(store, clock) -> None:  # type: ignore[no-untyped-def]
    from fieldapp.settings import Settings

    settings = Settings.model_validate({"store": {"user": "c01"}, "ui": {"keys": {"lock": "f8"}}})
    app = FieldApp(store, settings, clock=clock)
    async with app.run_test(size=(100, 32)) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert isinstance(app.screen, TodayScreen)
        await pilot.press("f8")
        await pilot.pause()
        assert isinstance(app.screen, UnlockScreen)
