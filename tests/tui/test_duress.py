"""Duress from anywhere, silently: from every screen and the lock screen, offline, then
delivered to a real clinic server (uvicorn on loopback) as soon as it answers."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlmodel import select
from textual.pilot import Pilot

from fieldapp.demo.seattle import demo_day
from fieldapp.demo.stack import load_server
from fieldapp.services.clock import ManualClock
from fieldapp.services.duress import ACKNOWLEDGEMENTS
from fieldapp.settings import Settings
from fieldapp.store.duress_box import DuressBox
from fieldapp.store.store import Store
from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.unlock import UnlockScreen
from sync.client import enroll
from sync.records import Incident, StatusEvent
from sync.server.config import load_server_settings
from sync.server.db import make_engine, transaction
from sync.server.migrate import migrate
from sync.server.models import AuditEvent, DeviceRecordRow
from tests.sync.live import LiveServer
from tests.tui.conftest import CLINICIAN, DAY, PASSPHRASE
from tests.tui.helpers import open_first_visit, patient_facts, rendered_text, settle, unlock

SIZE = (100, 32)


async def until(pilot: Pilot[object], done: object, rounds: int = 600) -> bool:
    """Let the app run until `done()` holds (True), or give up after many rounds (False)."""
    for _ in range(rounds):
        if done():  # type: ignore[operator]
            return True
        await pilot.pause(0.1)
    return False


def fast_retries(settings: Settings) -> Settings:
    """The settings with duress retried often, so the test need not wait long."""
    return settings.model_copy(
        update={"sync": settings.sync.model_copy(update={"duress_retry_s": 0.2})}
    )


async def test_duress_from_every_screen_is_silent(app: FieldApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        assert app.duress is not None
        await unlock(pilot)
        pressed = 0
        for keys in ([], ["f1"], ["escape", "f3"], ["f4"], ["f2", "enter"]):
            await pilot.press(*keys)
            await settle(pilot)
            before, mentions = type(app.screen), rendered_text(app).count("uress")
            await pilot.press("ctrl+e")
            await settle(pilot)
            pressed += 1
            assert type(app.screen) is before  # nothing opened, nothing closed
            assert len(app.duress.pending()) == pressed  # written down every time
            shown = rendered_text(app)
            assert "Saved." in shown and shown.count("uress") == mentions  # (the keys list)
        await pilot.press("ctrl+l")
        await settle(pilot)
        await pilot.press("ctrl+e")
        await settle(pilot)
        assert isinstance(app.screen, UnlockScreen) and app.locked
        assert len(app.duress.pending()) == pressed + 1
        shown = rendered_text(app)
        # Not enrolled: nothing can go out, and the screen does not pretend otherwise.
        assert "Not available." in shown and "uress" not in shown


async def test_duress_from_the_lock_screen_offline_then_delivered(
    tmp_path: Path, store: Store, settings: Settings, clock: ManualClock
) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    migrate(url)
    code = load_server(load_server_settings(database_url=url), demo_day(DAY), CLINICIAN)
    server = LiveServer(url)
    box = DuressBox.beside(store.path)
    with server:  # enrol over real HTTP: the duress credential lands in the box
        store.unlock(PASSPHRASE)
        async with httpx.AsyncClient(timeout=10) as http:
            await enroll(server.url, code, store, http=http, keep_duress_token=box.keep_credential)
        store.lock()
    assert box.read().credential is not None
    box.choose_acknowledgement("Noted.")
    assert "Noted." in ACKNOWLEDGEMENTS
    app = FieldApp(store, fast_retries(settings), clock=clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await unlock(pilot)
        await open_first_visit(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        await pilot.press("ctrl+e")  # offline, locked
        await pilot.pause(1)  # several tries fail meanwhile
        shown = rendered_text(app)
        assert "Noted." in shown and "uress" not in shown
        assert [f for f in patient_facts() if f in shown] == []
        assert isinstance(app.screen, UnlockScreen) and app.locked
        assert len(box.read().queue) == 1
        server.start()  # the connection returns
        try:
            assert await until(pilot, lambda: not box.read().queue)
        finally:
            server.stop()
        engine = make_engine(load_server_settings(database_url=url))
        with transaction(engine) as session:
            rows = session.exec(
                select(DeviceRecordRow).where(DeviceRecordRow.kind == "status")
            ).all()
            audited = session.exec(select(AuditEvent).where(AuditEvent.action == "duress")).all()
        engine.dispose()
        duress = [r for r in rows if '"duress"' in r.payload]
        assert [(r.user_name, r.patient_id) for r in duress] == [(CLINICIAN, None)]
        assert [(e.actor, e.outcome) for e in audited] == [(CLINICIAN, "received")]
        # Unlocked again: the store keeps its own record of it, at the time it was pressed.
        await unlock(pilot)
        events = [e for e in store.records_of_kind("status") if isinstance(e, StatusEvent)]
        pressed = [e for e in events if e.status == "duress"]
        assert [e.at for e in pressed] == [clock.now()]
        assert any(
            isinstance(i, Incident) and i.category == "duress"
            for i in store.records_of_kind("incident")
        )
