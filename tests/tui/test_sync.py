"""The sync screen against a real clinic server (in process, over httpx.ASGITransport)."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select
from textual.widgets import DataTable, ProgressBar, Static

from fieldapp.demo.seattle import demo_day
from fieldapp.demo.stack import load_server
from fieldapp.services.clock import ManualClock
from fieldapp.settings import Settings
from fieldapp.store.store import Store
from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.sync import SyncScreen
from sync.client import SyncClient, enroll
from sync.records import StatusEvent
from sync.server.checker_codes import issue_checker_code
from sync.server.config import load_server_settings
from sync.server.db import transaction
from sync.server.main import create_app
from sync.server.migrate import migrate
from sync.server.models import DeviceRecordRow
from tests.tui.conftest import CHECKER, CHECKER_PIN, CLINICIAN, DAY, PASSPHRASE
from tests.tui.helpers import check_in, open_first_visit, settle, unlock
from tests.tui.test_visit import whole_visit

SIZE = (100, 32)
SERVER_URL = "http://127.0.0.1"


@pytest.fixture
def server(tmp_path: Path, clock: ManualClock) -> Iterator[tuple[Any, str]]:
    """A migrated SQLite clinic server holding the demo day, and c01's enrolment code.

    Its clock is the test's: its today is the demo day, so the day it hands out (and the
    manifest it signs) is the one the laptop holds."""
    settings = load_server_settings(database_url=f"sqlite:///{tmp_path / 'server.db'}")
    migrate(settings.database_url)
    code = load_server(settings, demo_day(DAY), CLINICIAN, now=clock.now().timestamp())
    application = create_app(settings, clock.now)
    yield application, code
    application.state.ctx.engine.dispose()


def checker_code(asgi: Any) -> str:
    """A one-time code the clinic issues to the colleague who checks doses (an admin's
    `fieldapp server checker-code c02`, on their behalf)."""
    ctx = asgi.state.ctx
    with transaction(ctx.engine) as session:
        code, _ = issue_checker_code(session, CHECKER, "root", ctx.settings, ctx.now())
    return code


@asynccontextmanager
async def enrolled_app(
    server: tuple[Any, str],
    store: Store,
    settings: Settings,
    clock: ManualClock,
    locked: bool = False,
) -> AsyncIterator[FieldApp]:
    """The app on a laptop enrolled with the in-process server (locked: as after a restart)."""
    asgi, code = server
    store.unlock(PASSPHRASE)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi)) as http:
        await enroll(SERVER_URL, code, store, http=http, device_name="pilot laptop")
        # The colleague who checks doses enrolled again with the code the clinic issued
        # to them, the laptop online: their key is filed at once, as `add-checker` does.
        store.enrol_checker(CHECKER, CHECKER_PIN, checker_code(asgi))
        assert await SyncClient(http, store, settings.sync).file_checkers() == {}
        if locked:
            store.lock()

        def factory(progress: Any) -> SyncClient:
            return SyncClient(http, store, settings.sync, progress=progress)

        yield FieldApp(store, settings, sync=factory, clock=clock)


async def test_sync_screen_sends_and_explains_what_was_set_aside(
    server: tuple[Any, str], store: Store, settings: Settings, clock: ManualClock
) -> None:
    async with (
        enrolled_app(server, store, settings, clock) as app,
        app.run_test(size=SIZE) as pilot,
    ):
        await settle(pilot)
        assert app.services.sync_state.configured  # enrolled: the client was built
        await open_first_visit(pilot)
        await check_in(pilot)
        # A visit re-planned to another clinician at the office: the server sets it aside.
        other = next(v for v in demo_day(DAY).visits if v.clinician_id != CLINICIAN)
        now = clock.now()
        store.save(
            StatusEvent(
                id=uuid.uuid4(),
                patient_id=other.patient_id,
                visit_id=other.id,
                recorded_at=now,
                recorded_by=CLINICIAN,
                status="en_route",
                at=now,
            )
        )
        await pilot.press("f4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SyncScreen)
        await pilot.press("s")
        await settle(pilot)
        state = app.services.sync_state
        assert state.error is None, state.error
        assert state.sent.get("applied", 0) >= 2  # en route and the arrival
        assert state.sent.get("rejected") == 1
        assert store.pending_count() == 0
        bar = screen.query_one("#sync-progress", ProgressBar)
        assert bar.total and bar.progress == bar.total
        assert "Sent:" in str(screen.query_one("#sync-sent", Static).render())
        table = screen.query_one("#set-aside", DataTable)
        assert table.row_count == 1
        why = str(screen.query_one("#set-aside-why", Static).render())
        assert "no longer assigned to you" in why
        line = str(screen.query_one("#status-line", Static).render())
        assert "1 set aside" in line and "last sync" in line


async def test_a_whole_visit_reaches_the_clinic_server(
    server: tuple[Any, str], store: Store, settings: Settings, clock: ManualClock
) -> None:
    asgi, _ = server
    async with (
        enrolled_app(server, store, settings, clock, locked=True) as app,
        app.run_test(size=SIZE) as pilot,
    ):
        await whole_visit(pilot, app, clock)
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert app.services.sync_state.error is None, app.services.sync_state.error
        assert store.pending_count() == 0
    with Session(asgi.state.ctx.engine) as session:
        kinds = {row.kind for row in session.exec(select(DeviceRecordRow))}
    visit_kinds = {"status", "checklist", "dose_order", "vitals", "dose_admin", "recovery", "note"}
    assert visit_kinds | {"substance"} <= kinds


async def test_routine_syncs_come_at_the_interval_give_or_take_a_quarter(
    server: tuple[Any, str], store: Store, settings: Settings, clock: ManualClock
) -> None:
    async with (
        enrolled_app(server, store, settings, clock) as app,
        app.run_test(size=SIZE) as pilot,
    ):
        await settle(pilot)
        waits = []
        for _ in range(5):
            timer = app._sync_timer
            assert timer is not None
            waits.append(timer._interval)
            app._routine_sync()  # as if the timer fired: it syncs and sets the next one
            await settle(pilot)
    interval = settings.sync.interval_s
    assert all(0.75 * interval <= wait <= 1.25 * interval for wait in waits)
    assert len(set(waits)) == len(waits)  # not in step with every other laptop


async def test_a_visit_deleted_from_the_file_is_reported_at_unlock_and_downloaded_again(
    server: tuple[Any, str], store: Store, settings: Settings, clock: ManualClock
) -> None:
    """SECURITY.md 24 in the app: the warning at unlock, then the sync that repairs it."""
    async with (
        enrolled_app(server, store, settings, clock) as app,
        app.run_test(size=SIZE) as pilot,
    ):
        await settle(pilot)  # the first sync brought today's visits and the clinic's list
        first = store.visits_for_day(DAY)[0]
        said: list[str] = []
        real_notify = app.notify
        app.notify = lambda message, **kw: said.append(str(message)) or real_notify(message, **kw)  # type: ignore[method-assign,func-returns-value]
        await pilot.press("ctrl+l")
        await settle(pilot)
        with sqlite3.connect(store.path) as conn:  # another process edits the file
            conn.execute("DELETE FROM records WHERE kind = 'visit' AND id = ?", (str(first.id),))
        conn.close()
        await unlock(pilot)
        assert any("missing or out of date" in line for line in said), said
        assert str(first.id) not in " ".join(said)  # ids and counts only, never who
        assert app.services.sync_state.error is None
        assert first.id in {v.id for v in store.visits_for_day(DAY)}  # downloaded again
        assert store.verify().ok
