"""Snapshots of the screens the lock brought: the lock screen over an infusion (PIN asked,
timers shown) and the settings screen, at 100×32 and 80×24.

Update after reviewing the SVGs: `pytest tests/tui/test_snapshots_lock.py --snapshot-update`.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from fieldapp.services.clock import ManualClock
from fieldapp.services.context import IDLE
from fieldapp.settings import Settings
from fieldapp.store.store import Store
from tests.tui.helpers import settle
from tests.tui.states import bring_to
from tests.tui.test_snapshots import SIZES, build, still


@pytest.mark.parametrize("size", SIZES)
def test_locked_infusion(
    snap_compare: Any, store: Store, settings: Settings, clock: ManualClock, size: Any
) -> None:
    app = build(store, settings, clock)
    session = bring_to(app, clock, "monitor")

    async def lock_at_the_bedside(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        app.open_visit(session.visit.id)
        await settle(pilot)
        store.set_pin("135790")
        app.lock_now(IDLE.message.format(minutes=settings.store.auto_lock_minutes))
        await still(pilot)
        app.tick()
        await still(pilot)

    assert snap_compare(app, terminal_size=size, run_before=lock_at_the_bedside)


@pytest.mark.parametrize("size", SIZES)
def test_settings(
    snap_compare: Any, store: Store, settings: Settings, clock: ManualClock, size: Any
) -> None:
    app = build(store, settings, clock)

    async def open_settings(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f8")
        await still(pilot)

    assert snap_compare(app, terminal_size=size, run_before=open_settings)
