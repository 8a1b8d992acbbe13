"""History, sync (not configured), the overdue prompt, and opening on an unlocked store."""

from __future__ import annotations

from textual.widgets import DataTable, Static

from fieldapp.services.clock import ManualClock
from fieldapp.settings import Settings
from fieldapp.store.store import Store
from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.history import HistoryScreen
from fieldapp.tui.screens.overdue import OverdueDialog
from fieldapp.tui.screens.sync import SyncScreen
from fieldapp.tui.screens.today import TodayScreen
from sync.records import StatusEvent
from tests.tui.conftest import PASSPHRASE
from tests.tui.helpers import check_in, later, open_first_visit, settle, unlock

SIZE = (100, 32)


async def test_history_charts_the_course_and_names_what_is_due(app: FieldApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        await pilot.press("h")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        assert screen.history is not None and len(screen.history.points) == 4
        assert screen.query_one("#history-sessions", DataTable).row_count == 4
        summary = str(screen.query_one("#history-summary", Static).render())
        assert "Pain response: best NRS" in summary
        assert "Depression: latest PHQ-9" in summary
        assert "LFTs" in summary and "review" in summary.lower()
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)


async def test_sync_screen_without_sync_says_so(app: FieldApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, SyncScreen)
        state = str(app.screen.query_one("#sync-state", Static).render())
        assert "not configured" in state
        await pilot.press("s")
        await settle(pilot)
        assert not app.services.sync_state.running


async def test_overdue_prompt_asks_and_records_the_answer(app: FieldApp, clock) -> None:  # type: ignore[no-untyped-def]
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        await open_first_visit(pilot)
        await check_in(pilot)
        minutes = app.services.lone_worker.expected_out - clock.now()
        later(app, clock, int(minutes.total_seconds() // 60) + 16)
        app.tick()
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, OverdueDialog)
        assert "App prompt" in str(dialog.query_one("#overdue-action", Static).render())
        await pilot.click("#overdue-extend")
        await settle(pilot)
        assert not isinstance(app.screen, OverdueDialog)
        assert not app.services.lone_worker.state().overdue
        session = app.services.current_visit
        notes = [
            r.note
            for r in app.services.store.patient_history(session.patient.id)
            if isinstance(r, StatusEvent) and r.status == "check_in"
        ]
        assert notes == ["safe, needs 15 more min"]
        # Overdue again and past the dispatcher step: asked again; "I am safe" answers it.
        later(app, clock, 46)
        app.tick()
        await settle(pilot)
        assert isinstance(app.screen, OverdueDialog)
        assert "Dispatcher" in str(app.screen.query_one("#overdue-action", Static).render())
        await pilot.press("f5")
        await settle(pilot)
        app.tick()
        await settle(pilot)
        assert not isinstance(app.screen, OverdueDialog)


async def test_an_unlocked_store_opens_on_today(
    store: Store, settings: Settings, clock: ManualClock
) -> None:
    store.unlock(PASSPHRASE)
    app = FieldApp(store, settings, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        assert len(app.screen.rows) == 4


async def test_enter_opens_a_visit_through_its_remappable_binding(
    store: Store, settings: Settings, clock: ManualClock
) -> None:
    remapped = settings.model_copy(
        update={"ui": settings.ui.model_copy(update={"keys": {"today-open": "o"}})}
    )
    app = FieldApp(store, remapped, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)  # Enter is now "o"
        await pilot.press("o")
        await settle(pilot)
        assert not isinstance(app.screen, TodayScreen)
