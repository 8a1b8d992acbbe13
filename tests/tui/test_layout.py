"""Layouts at 80×24 and 100×32: the columns that matter stay on screen, a long value ends
in "…" (never cut silently), no key a terminal cannot send, every screen in the palette."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from textual import events

from fieldapp.services.clock import ManualClock
from fieldapp.settings import Settings
from fieldapp.store.store import Store
from fieldapp.tui.app import FieldApp
from fieldapp.tui.commands import ACTIONS
from fieldapp.tui.screens.history import HistoryScreen
from fieldapp.tui.screens.ledger import LedgerScreen
from fieldapp.tui.screens.today import TodayScreen
from fieldapp.tui.widgets.fit_table import Col, elide, fit_widths
from tests.dispatch.fakes import at
from tests.dispatch.test_board_tui import a_day, make_app
from tests.tui.conftest import PASSPHRASE
from tests.tui.helpers import screen_text, settle, unlock
from tests.tui.states import bring_to

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((100, 32), id="100x32")]
# What a terminal sends for these is another key: ctrl+h is Backspace, ctrl+i Tab, ...
UNSENDABLE = {"ctrl+h", "ctrl+i", "ctrl+m", "ctrl+j", "ctrl+left_square_bracket"}


def shown_or_elided(value: str, screen: str) -> bool:
    """The value is on screen whole, or a prefix of it followed by "…"."""
    if value in screen:
        return True
    return any(value[:n] + "…" in screen for n in range(1, len(value)))


@pytest.mark.parametrize("size", SIZES)
async def test_today_keeps_window_eta_and_status_and_elides_the_rest(
    app: FieldApp, size: tuple[int, int]
) -> None:
    async with app.run_test(size=size) as pilot:
        await unlock(pilot)
        assert isinstance(app.screen, TodayScreen)
        shown = screen_text(app)
        for label in ("Window", "ETA", "Status"):
            assert label in shown
        for row in app.screen.rows:
            assert row.window in shown and row.eta in shown and row.status in shown
            assert shown_or_elided(row.address, shown)
            assert shown_or_elided(row.patient, shown)


@pytest.mark.parametrize("size", SIZES)
async def test_the_ledger_keeps_left_mg_ml_and_status(
    store: Store, settings: Settings, clock: ManualClock, size: tuple[int, int]
) -> None:
    store.unlock(PASSPHRASE)
    app = FieldApp(store, settings, clock=clock)
    bring_to(app, clock, "recovery")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await app.push_screen(LedgerScreen(app.services))
        await settle(pilot)
        shown = screen_text(app)
        assert "Left mg" in shown and "Status" in shown and "V-0310-A" in shown
        # 200 mg less 39.5 mg given: 160.5 mg, and its 16.05 mL beside it
        assert "160.5" in shown and "16.05" in shown and "INCOMPLETE" in shown
    assert app.boundary.caught == []


@pytest.mark.parametrize("size", SIZES)
async def test_the_board_keeps_due_live_window_and_eta(size: tuple[int, int]) -> None:
    backend = a_day(duress=True)
    app = make_app(backend, ManualClock(at(11, 2)))
    async with app.run_test(size=size) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = screen_text(app)
        for label in ("Due now", "Live", "Window", "ETA"):
            assert label in shown
        assert "emergency" in shown and "emergenc " not in shown
        assert "11:00" in shown  # the duress time, in the Live column


def test_no_binding_is_a_key_a_terminal_cannot_send(app: FieldApp) -> None:
    keys = {key for _, key, _, _ in app.key_rows()}
    assert not keys & UNSENDABLE


def test_the_palette_offers_every_screen() -> None:
    actions = {action for _, _, action in ACTIONS}
    assert {"today", "ledger", "screen.history", "sync", "help"} <= actions


async def test_the_palette_opens_the_visit_patients_history(
    store: Store, settings: Settings, clock: ManualClock
) -> None:
    store.unlock(PASSPHRASE)
    app = FieldApp(store, settings, clock=clock)
    visit = bring_to(app, clock, "dose")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        app.open_visit(visit.visit.id)
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Patient history")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, HistoryScreen)
        assert app.screen.patient_id == visit.patient.id
    assert app.boundary.caught == []


COLS = st.lists(
    st.builds(Col, st.just("c"), st.one_of(st.none(), st.integers(1, 12)), st.integers(0, 1)),
    min_size=1,
    max_size=9,
)


@given(COLS, st.data(), st.integers(0, 120))
def test_fitted_widths_never_cut_a_whole_column(cols: list[Col], data: Any, room: int) -> None:
    natural = [data.draw(st.integers(max(1, c.shrink_to or 1), 40)) for c in cols]
    widths = fit_widths(cols, natural, room)
    for col, width, nat in zip(cols, widths, natural, strict=True):
        floor = nat if col.shrink_to is None else min(nat, col.shrink_to)
        assert floor <= width <= nat
    pairs = zip(cols, natural, strict=True)
    least = sum(n if c.shrink_to is None else min(n, c.shrink_to) for c, n in pairs)
    assert sum(widths) <= max(room, least)


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40), st.integers(1, 30))
def test_an_elided_value_ends_in_the_marker(value: str, width: int) -> None:
    text = elide(value, width).plain
    if len(value) <= width and text == value:
        return
    # A wide character that does not fit leaves a space before the marker.
    assert text.endswith("…") and value.startswith(text[:-1].rstrip())


async def test_a_second_palette_never_opens_over_the_first(app: FieldApp) -> None:
    # Found by the monkey: the overdue prompt came up over an open palette, and ctrl+p then
    # pushed a second palette with the same id.
    from fieldapp.tui.screens.help import HelpScreen

    async with app.run_test(size=(100, 32)) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        app.push_screen(HelpScreen(app.key_rows()))
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        palettes = [s for s in app.screen_stack if s.has_class("--textual-command-palette")]
        assert len(palettes) == 1


async def test_a_dialog_taken_away_closes_nothing_else(app: FieldApp) -> None:
    # Found by the monkey: an Enter queued in the palette before F2 took the palette away
    # then closed the screen under it, and one more emptied the app's screen stack.
    async with app.run_test(size=(100, 32)) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        palette = app.screen
        app.action_today()  # F2
        await settle(pilot)
        palette.dismiss()  # the Enter that was queued for it
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen) and len(app.screen_stack) == 2


async def test_page_keys_in_the_palette_do_nothing_harmful(app: FieldApp) -> None:
    # Found by the monkey: Textual's option list raised on page up while being refilled.
    async with app.run_test(size=(100, 32)) as pilot:
        await unlock(pilot)
        app.post_message(events.Key("ctrl+p", None))
        for key in ("s", "pageup", "y", "pagedown", "backspace", "pageup"):
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        await settle(pilot)
        assert app.screen.has_class("--textual-command-palette")
