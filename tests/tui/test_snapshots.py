"""Snapshots of every main screen at 100×32 and 80×24, from fixed data and a fixed clock.

Update after reviewing the SVGs: `pytest tests/tui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from fieldapp.services.clock import ManualClock
from fieldapp.settings import Settings
from fieldapp.store.store import Store
from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.draft_trouble import DraftTroubleDialog
from fieldapp.tui.screens.history import HistoryScreen
from fieldapp.tui.screens.ledger import LedgerScreen
from fieldapp.tui.screens.sync import SyncScreen
from tests.dispatch.fakes import at
from tests.dispatch.test_board_tui import a_day, make_app
from tests.tui.conftest import PASSPHRASE
from tests.tui.helpers import settle
from tests.tui.states import bring_to

SIZES = [pytest.param((100, 32), id="100x32"), pytest.param((80, 24), id="80x24")]


async def still(pilot: Pilot[Any]) -> None:
    """Workers done, no blinking cursor, nothing animating."""
    await settle(pilot)
    for widget in pilot.app.screen.query("Input, TextArea"):
        assert isinstance(widget, Input | TextArea)
        widget.cursor_blink = False
    await pilot.pause()


def build(store: Store, settings: Settings, clock: ManualClock, unlocked: bool = True) -> FieldApp:
    """The app over the test store, opened (or not) and without animations."""
    if unlocked:
        store.unlock(PASSPHRASE)
    app = FieldApp(store, settings, clock=clock)
    app.animation_level = "none"
    return app


@pytest.mark.parametrize("size", SIZES)
def test_unlock(
    snap_compare: Any, store: Store, settings: Settings, clock: ManualClock, size: Any
) -> None:
    app = build(store, settings, clock, unlocked=False)
    assert snap_compare(app, terminal_size=size, run_before=still)


@pytest.mark.parametrize("size", SIZES)
def test_today(
    snap_compare: Any, store: Store, settings: Settings, clock: ManualClock, size: Any
) -> None:
    assert snap_compare(build(store, settings, clock), terminal_size=size, run_before=still)


@pytest.mark.parametrize("size", SIZES)
def test_help(
    snap_compare: Any, store: Store, settings: Settings, clock: ManualClock, size: Any
) -> None:
    app = build(store, settings, clock)
    assert snap_compare(app, press=["f1"], terminal_size=size, run_before=still)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("step", ["checkin", "checklist", "dose", "monitor", "recovery", "note"])
def test_visit_step(
    snap_compare: Any, store: Store, settings: Settings, clock: ManualClock, size: Any, step: str
) -> None:
    app = build(store, settings, clock)
    session = bring_to(app, clock, step)

    async def open_step(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        app.open_visit(session.visit.id)
        await still(pilot)

    assert snap_compare(app, terminal_size=size, run_before=open_step)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", ["ledger", "history", "sync"])
def test_other_screens(
    snap_compare: Any, store: Store, settings: Settings, clock: ManualClock, size: Any, screen: str
) -> None:
    app = build(store, settings, clock)
    session = bring_to(app, clock, "recovery")

    async def open_screen(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        services = app.services
        made = {
            "ledger": lambda: LedgerScreen(services),
            "history": lambda: HistoryScreen(services, session.patient.id),
            "sync": lambda: SyncScreen(services),
        }[screen]()
        await app.push_screen(made)
        await still(pilot)

    assert snap_compare(app, terminal_size=size, run_before=open_screen)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dialog", ["carry", "draft-trouble"])
def test_dialogs(
    snap_compare: Any,
    store: Store,
    settings: Settings,
    clock: ManualClock,
    size: Any,
    dialog: str,
) -> None:
    app = build(store, settings, clock)
    bring_to(app, clock, "dose")

    async def open_dialog(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        if dialog == "carry":
            await app.push_screen(LedgerScreen(app.services))
            await settle(pilot)
            await pilot.press("c")
        else:
            await app.push_screen(DraftTroubleDialog("Safety checklist"))
        await still(pilot)

    assert snap_compare(app, terminal_size=size, run_before=open_dialog)


@pytest.mark.parametrize("size", SIZES)
def test_board(snap_compare: Any, size: Any) -> None:
    app = make_app(a_day(duress=True), ManualClock(at(11, 2)))
    app.animation_level = "none"
    assert snap_compare(app, terminal_size=size, run_before=still)
