"""Demo runs: the clinic's day when the machine's UTC date is already tomorrow, two demos
that never share or delete a folder, and a demo resumed with what it held."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fieldapp.demo.stack import MARKER, DemoClock, DemoError, DemoStack, is_running, latest_demo
from fieldapp.settings import Settings, StoreSettings
from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.today import TodayScreen
from sync.records import StatusEvent

SETTINGS = Settings(store=StoreSettings(kdf_memory_kib=19456, kdf_iterations=2, kdf_lanes=1))
SEATTLE = ZoneInfo("America/Los_Angeles")
# 03:00 UTC on 11 March is still 10 March, 20:00, at the clinic (Seattle, config/server.toml).
MACHINE_START = datetime(2026, 3, 11, 3, 0, tzinfo=UTC)


def machine_a_day_ahead() -> datetime:
    """A machine whose own (UTC) date is a day ahead of the clinic's; time still runs."""
    return MACHINE_START + timedelta(seconds=time.monotonic() - STARTED)


STARTED = time.monotonic()


def test_the_demo_clock_is_the_clinics_day_and_zone() -> None:
    clock = DemoClock.on(date(2026, 3, 10), SEATTLE, machine_a_day_ahead)
    assert clock.shift == timedelta(0)
    assert clock.now().date() == date(2026, 3, 10) and clock.now().tzinfo == SEATTLE
    later = DemoClock.on(date(2026, 4, 2), SEATTLE, machine_a_day_ahead)
    assert later.now().date() == date(2026, 4, 2) and later.now().hour == clock.now().hour


def test_a_machine_a_day_ahead_in_utc_runs_the_clinics_day(tmp_path: Path) -> None:
    stack = DemoStack.start(tmp_path / "demo", SETTINGS, source=machine_a_day_ahead)
    try:
        assert stack.day == date(2026, 3, 10)  # the clinic's today, not the machine's
        # Enrolment and the first pull worked on the server's clock: the day arrived.
        assert len(stack.store.visits_for_day(stack.day)) == 4
        assert stack.clock.now().date() == stack.day
        asyncio.run(today_on_screen(FieldApp(stack.store, SETTINGS, clock=stack.clock)))
    finally:
        stack.stop()


async def today_on_screen(app: FieldApp) -> None:
    """The app on the demo's clock shows the clinic's day, in the clinic's hours."""
    async with app.run_test(size=(100, 32)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, TodayScreen)
        assert len(app.screen.rows) == 4
        title = str(app.screen.query_one("#today-title").render())
        assert title.startswith("Tuesday 10 March 2026")
        assert all(row.window[:2] >= "07" for row in app.screen.rows)  # not UTC hours
    assert app.boundary.caught == []


def test_two_demos_have_folders_of_their_own(tmp_path: Path) -> None:
    first = DemoStack.start(tmp_path / "one", SETTINGS, date(2026, 3, 10))
    try:
        assert is_running(tmp_path / "one")
        with pytest.raises(DemoError, match="holds a demo"):
            DemoStack.start(tmp_path / "one", SETTINGS, date(2026, 3, 10))
        with pytest.raises(DemoError, match="is running"):
            DemoStack.resume(tmp_path / "one", SETTINGS)
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine" / "notes.txt").write_text("not a demo")
        with pytest.raises(DemoError, match="other files"):
            DemoStack.start(tmp_path / "mine", SETTINGS)
        assert (tmp_path / "mine" / "notes.txt").read_text() == "not a demo"
        second = DemoStack.start(tmp_path / "two", SETTINGS, date(2026, 3, 10))
        second.stop()
        assert (first.folder / MARKER).exists() and first.store.visits_for_day(first.day)
        assert latest_demo(tmp_path) == tmp_path / "two"  # the running one is not offered
    finally:
        first.stop()
    assert not is_running(tmp_path / "one")


def test_a_demo_resumes_with_what_it_held(tmp_path: Path) -> None:
    stack = DemoStack.start(tmp_path / "demo", SETTINGS, date(2026, 3, 10))
    visit = stack.store.visits_for_day(stack.day)[0]
    event = StatusEvent(
        id=uuid.uuid4(),
        patient_id=visit.patient_id,
        visit_id=visit.id,
        recorded_at=datetime.now(UTC),
        recorded_by="c01",
        status="en_route",
        at=datetime.now(UTC),
    )
    stack.store.save(event)
    first_url = stack.server_url
    stack.stop()
    again = DemoStack.resume(tmp_path / "demo", SETTINGS)
    try:
        assert again.day == date(2026, 3, 10) and again.clock.now().date() == again.day
        assert again.server_url != first_url or again.report is not None
        assert again.report.pushed == {"applied": 1}  # the event reached the server now
        assert again.store.pending_count() == 0
        assert len(again.store.visits_for_day(again.day)) == 4
    finally:
        again.stop()
