"""Snapshots of the orders screen of a STOP (100×32 and 80×24), from fixed data and clock.

Update after reviewing the SVGs: `pytest tests/tui/test_orders_snapshot.py --snapshot-update`.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from fieldapp.services.clock import ManualClock
from fieldapp.services.followups import FollowUps
from fieldapp.services.infusion import Infusion
from fieldapp.settings import Settings
from fieldapp.store.store import Store
from fieldapp.tui.screens.orders import OrdersScreen
from tests.services.scenario import GOOD_VITALS
from tests.tui.helpers import later, settle
from tests.tui.states import bring_to
from tests.tui.test_snapshots import SIZES, build, still


@pytest.mark.parametrize("size", SIZES)
def test_stop_orders(
    snap_compare: Any, store: Store, settings: Settings, clock: ManualClock, size: Any
) -> None:
    app = build(store, settings, clock)
    session = bring_to(app, clock, "monitor")
    later(app, clock, 1)
    _, decision = Infusion(session).record({**GOOD_VITALS, "rass": -3})

    async def show_orders(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        app.open_visit(session.visit.id)
        await settle(pilot)
        tasks = FollowUps(session).unacknowledged()
        lines = [r.message for r in decision.reasons] + [f"→ {a}" for a in decision.actions]
        await app.push_screen(OrdersScreen(session, "STOP the infusion", lines, tasks))
        await still(pilot)

    assert snap_compare(app, terminal_size=size, run_before=show_orders)
