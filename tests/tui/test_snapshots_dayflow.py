"""Snapshots of the screens a clinician's day changed (issue 18), at 100×32 and 80×24:
today's list with a visit stopped early and one not given, the check-in asking why a
second visit is opened, and the sync screen after automatic rounds.

Update after reviewing the SVGs: `pytest tests/tui/test_snapshots_dayflow.py --snapshot-update`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from textual.pilot import Pilot

from fieldapp.services.clock import ManualClock
from fieldapp.services.infusion import Infusion, compute, confirm_dose
from fieldapp.services.recovery import Note, Recovery
from fieldapp.services.visit import VisitSession
from fieldapp.settings import Settings
from fieldapp.store.store import Store
from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.sync import SyncScreen
from tests.services.scenario import GOOD_RECOVERY, GOOD_VITALS, dose_form
from tests.tui.conftest import CHECKER, CHECKER_PIN, DAY
from tests.tui.helpers import later, settle
from tests.tui.states import bring_to
from tests.tui.test_snapshots import SIZES, build, still


def visit(app: FieldApp, index: int) -> VisitSession:
    return VisitSession.load(app.services, app.services.store.visits_for_day(DAY)[index].id)


def day_with_outcomes(app: FieldApp, clock: ManualClock) -> None:
    """The first visit stopped early and checked out; the second declined at its checklist
    and checked out."""
    first = bring_to(app, clock, "dose")
    confirm_dose(first, dose_form(), compute(dose_form()), CHECKER, "V-0310-A", CHECKER_PIN)
    infusion = Infusion(first)
    infusion.start()
    later(app, clock, 10)
    infusion.record({**GOOD_VITALS, "rass": -3})  # RASS -3: stop
    later(app, clock, 61)
    Recovery(first).record(dict(GOOD_RECOVERY))
    note = Note(first)
    note.sign(note.draft())
    first.check_out(None, None, attested=True)
    second = visit(app, 1)
    second.en_route()
    second.arrive(None, None, attested=True)
    second.decline("Hard stop: BP 186/112 at the second reading.")
    second.check_out(None, None, attested=True)


class Report:
    """What a sync round reports, as the app's state keeps it."""

    def __init__(self, pushed: dict[str, int]) -> None:
        self.pushed, self.pulled, self.pending, self.set_aside = pushed, 3, 0, 0

    def summary(self) -> str:
        return "done"


@pytest.mark.parametrize("size", SIZES)
def test_today_outcomes(
    snap_compare: Any, store: Store, settings: Settings, clock: ManualClock, size: Any
) -> None:
    app = build(store, settings, clock)

    async def fill_day(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        day_with_outcomes(app, clock)
        app.action_today()
        await settle(pilot)
        app.screen.load_visits()  # type: ignore[attr-defined]
        await settle(pilot)
        app.refresh_status()  # the status line's facts now, not at its next tick
        await still(pilot)

    assert snap_compare(app, terminal_size=size, run_before=fill_day)


@pytest.mark.parametrize("size", SIZES)
def test_second_check_in(
    snap_compare: Any, store: Store, settings: Settings, clock: ManualClock, size: Any
) -> None:
    app = build(store, settings, clock)

    async def second(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        bring_to(app, clock, "checklist")  # the first visit checked in, not out
        app.open_visit(visit(app, 1).visit.id)
        await settle(pilot)
        await pilot.press("space", "ctrl+s")
        await settle(pilot)
        app.clear_notifications()
        app.refresh_status()
        await still(pilot)

    assert snap_compare(app, terminal_size=size, run_before=second)


@pytest.mark.parametrize("size", SIZES)
def test_sync_after_automatic_rounds(
    snap_compare: Any, store: Store, settings: Settings, clock: ManualClock, size: Any
) -> None:
    app = build(store, settings, clock)

    async def rounds(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        state = app.services.sync_state
        state.configured = True
        for minutes, pushed in ((0, {"applied": 12, "duplicate": 1}), (15, {}), (30, {})):
            at = clock.now() + timedelta(minutes=minutes)
            state.begin(at)
            state.finish(Report(pushed), at)
        await app.push_screen(SyncScreen(app.services))
        app.refresh_status()
        await still(pilot)

    assert snap_compare(app, terminal_size=size, run_before=rounds)
