"""The review console with a fixed queue: overdue first, keyboard answers with a required
note, filters; snapshots at 100×32 and 80×24."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from textual.pilot import Pilot

from fieldapp.tui.review.app import ReviewApp
from fieldapp.tui.review.note import NoteDialog
from tests.review.fakes import FakeDesk

SIZES = [pytest.param((100, 32), id="100x32"), pytest.param((80, 24), id="80x24")]


async def still(pilot: Pilot[Any]) -> None:
    """Loaded, nothing blinking or animating."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def build() -> ReviewApp:
    app = ReviewApp(FakeDesk())
    app.animation_level = "none"
    return app


@pytest.mark.parametrize("size", SIZES)
def test_console(snap_compare: Any, size: Any) -> None:
    assert snap_compare(build(), terminal_size=size, run_before=still)


async def test_the_overdue_request_comes_first_and_approve_needs_a_note() -> None:
    app = build()
    desk: FakeDesk = app.desk
    async with app.run_test(size=(100, 32)) as pilot:
        await still(pilot)
        assert app.items[0].overdue
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, NoteDialog)
        await pilot.press("enter")  # no note: refused, still open
        await pilot.pause()
        assert isinstance(app.screen, NoteDialog) and desk.answers == []
        await pilot.press(*"Recheck BP at 10 min", "enter")
        await still(pilot)
        assert desk.answers == [(uuid.UUID(int=1), "approve", "Recheck BP at 10 min")]
        assert [i.id for i in app.items] == [uuid.UUID(int=2), uuid.UUID(int=3)]
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("escape")  # cancelled: nothing sent
        await still(pilot)
        assert len(desk.answers) == 1


async def test_filters_cycle_kind_and_status() -> None:
    app = build()
    async with app.run_test(size=(100, 32)) as pilot:
        await still(pilot)
        await pilot.press("k")  # readiness holds only
        await still(pilot)
        assert {i.kind for i in app.items} == {"readiness_hold"}
        for _ in range(2):  # dose caps, then telephone orders
            await pilot.press("k")
            await still(pilot)
        assert [i.kind for i in app.items] == ["verbal_order"]
        await pilot.press("s")  # answered: none yet
        await still(pilot)
        assert app.items == []
