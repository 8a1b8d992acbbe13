"""Break-glass in the app, against a real clinic server (in process) and the real store.

c01 asks from the palette for another clinician's patient, sees them under the
"BREAK-GLASS, expires HH:MM" banner once the sync has brought them, stops seeing them the
moment the grant ends, and the next sync takes the record off the laptop. Offline, or not
enrolled, the app says break-glass needs the server and grants nothing.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
from sqlmodel import Session, col, select
from textual.widgets import Input, Select

from fieldapp.demo.seattle import demo_day
from fieldapp.services.break_glass import NEEDS_SERVER, NOT_ENROLLED
from fieldapp.services.clock import ManualClock
from fieldapp.settings import Settings
from fieldapp.store.store import Store
from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.break_glass import BreakGlassPatientScreen, BreakGlassScreen
from fieldapp.tui.screens.today import TodayScreen
from sync.client import SyncClient
from sync.server.models import AuditEvent
from tests.tui.conftest import CLINICIAN, DAY, PASSPHRASE
from tests.tui.helpers import later, screen_text, settle, unlock, until
from tests.tui.test_sync import enrolled_app, server  # noqa: F401  (the server fixture)

SIZE = (100, 32)
REASON = "Colleague unwell at the door; I am covering this patient now."


def colleagues_patient() -> Any:
    """A patient of the demo day who is not c01's."""
    day = demo_day(DAY)
    mine = {v.patient_id for v in day.visits_for(CLINICIAN)}
    other = next(v for v in day.visits if v.clinician_id != CLINICIAN and v.patient_id not in mine)
    return next(p for p in day.patients if p.id == other.patient_id)


async def open_request(pilot: Any) -> BreakGlassScreen:
    """The request screen, from the command palette."""
    await pilot.press("ctrl+p")
    await settle(pilot)
    await pilot.press(*"Break-glass: see")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, BreakGlassScreen)
    return screen


def fill_request(screen: BreakGlassScreen, patient_id: Any, reason: str = REASON) -> None:
    screen.query_one("#bg-patient", Input).value = str(patient_id)
    screen.query_one("#bg-code", Select).value = "colleague_unavailable"
    screen.query_one("#bg-reason", Input).value = reason


def audit_events(asgi: Any, action: str) -> list[dict[str, Any]]:
    with Session(asgi.state.ctx.engine) as session:
        rows = session.exec(select(AuditEvent).where(col(AuditEvent.action) == action)).all()
        return [{"outcome": r.outcome, **json.loads(r.detail)} for r in rows]


async def test_a_clinician_breaks_the_glass_sees_the_banner_and_loses_the_patient_at_expiry(
    server: tuple[Any, str],  # noqa: F811
    store: Store,
    settings: Settings,
    clock: ManualClock,
) -> None:
    asgi, _ = server
    patient = colleagues_patient()
    async with (
        enrolled_app(server, store, settings, clock) as app,
        app.run_test(size=SIZE) as pilot,
    ):
        await settle(pilot)
        assert store.patient(patient.id) is None  # not c01's: not on the laptop
        screen = await open_request(pilot)
        fill_request(screen, patient.id, reason="  ")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Why:" in screen_text(app)  # no reason: refused on the form, nothing asked
        assert audit_events(asgi, "break_glass_grant") == []

        fill_request(screen, patient.id)
        await pilot.press("ctrl+s")
        await settle(pilot)
        await settle(pilot)  # the sync the grant started
        assert isinstance(app.screen, BreakGlassPatientScreen)
        expires = (clock.now() + timedelta(minutes=60)).strftime("%H:%M")
        shown = screen_text(app)
        assert f"BREAK-GLASS, expires {expires}" in shown
        assert patient.display_name in shown
        assert store.patient(patient.id) is not None
        [granted] = audit_events(asgi, "break_glass_grant")
        assert granted["patient"] == str(patient.id)
        # the screen's own read and the sync's handover: one audit event each
        assert sorted(r["via"] for r in audit_events(asgi, "break_glass_read")) == ["pull", "read"]
        assert "Read from the clinic" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        # The grant brought the colleague's visit: on today's list, never as one of c01's own.
        assert isinstance(app.screen, TodayScreen)
        await until(pilot, lambda: any(r.patient_id == patient.id for r in app.screen.rows))
        theirs = [r for r in app.screen.rows if r.patient_id == patient.id]
        assert theirs and all(r.colleague not in (None, CLINICIAN) for r in theirs)
        assert all(r.colleague is None for r in app.screen.rows if r not in theirs)
        assert "⚠break-glass" in screen_text(app)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Break-glass: open")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, BreakGlassPatientScreen)  # opened again: read again
        assert sorted(r["via"] for r in audit_events(asgi, "break_glass_read")) == [
            "pull",
            "read",
            "read",
        ]

        await pilot.press("ctrl+l")  # the lock takes the patient off the screen too
        await settle(pilot)
        assert patient.display_name not in screen_text(app)
        await unlock(pilot)
        app.action_break_glass_open()
        await settle(pilot)
        assert patient.display_name in screen_text(app)

        later(app, clock, 60)  # the grant ends on the clock: the screen stops showing them
        app.screen.show_access()  # type: ignore[attr-defined]
        await settle(pilot)
        shown = screen_text(app)
        assert "BREAK-GLASS ENDED" in shown and patient.display_name not in shown
        app.sync_now()
        await settle(pilot)
        assert store.patient(patient.id) is None  # the next sync took it off the laptop
        assert store.break_glass_grants() == []
        assert patient.display_name not in screen_text(app)
    assert app.boundary.caught == []


async def test_offline_the_app_says_break_glass_needs_the_server(
    store: Store, settings: Settings, clock: ManualClock
) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route to host", request=request)

    patient = colleagues_patient()
    store.unlock(PASSPHRASE)
    async with httpx.AsyncClient(transport=httpx.MockTransport(unreachable)) as http:
        client = SyncClient(http, store, settings.sync)
        app = FieldApp(store, settings, sync=client, clock=clock)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screen = await open_request(pilot)
            fill_request(screen, patient.id)
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert isinstance(app.screen, BreakGlassScreen)
            assert NEEDS_SERVER.split(":")[0] in " ".join(screen_text(app).split())
            assert store.break_glass_grants() == []


async def test_not_enrolled_the_app_says_break_glass_needs_the_server(
    store: Store, settings: Settings, clock: ManualClock
) -> None:
    store.unlock(PASSPHRASE)
    app = FieldApp(store, settings, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await open_request(pilot)
        fill_request(screen, colleagues_patient().id)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert NOT_ENROLLED.split(":")[0] in " ".join(screen_text(app).split())
        assert store.break_glass_grants() == []


async def test_at_80x24_the_answer_shows_without_scrolling(
    store: Store, settings: Settings, clock: ManualClock
) -> None:
    store.unlock(PASSPHRASE)
    app = FieldApp(store, settings, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await open_request(pilot)
        shown = screen_text(app)
        assert "Break the glass" in shown and "Why, in your words" in shown
        fill_request(screen, colleagues_patient().id, reason="")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Why:" in screen_text(app)
        fill_request(screen, colleagues_patient().id)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Break-glass needs the clinic server" in " ".join(screen_text(app).split())


async def test_a_grant_whose_answer_was_lost_is_found_when_the_patient_is_opened(
    server: tuple[Any, str],  # noqa: F811
    store: Store,
    settings: Settings,
    clock: ManualClock,
) -> None:
    asgi, _ = server
    patient = colleagues_patient()
    async with (
        enrolled_app(server, store, settings, clock) as app,
        app.run_test(size=SIZE) as pilot,
    ):
        await settle(pilot)
        identity = store.device_identity()
        assert identity is not None
        # granted at the clinic, but the answer never reached the laptop
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=asgi), base_url="http://127.0.0.1"
        ) as http:
            asked = await http.post(
                "/break-glass",
                json={
                    "patient_id": str(patient.id),
                    "reason_code": "clinical_emergency",
                    "reason": REASON,
                },
                headers={"Authorization": f"Bearer {identity.token}"},
            )
        assert asked.status_code == 201
        assert store.break_glass_grants() == []
        app.action_break_glass_open()
        await settle(pilot)
        await settle(pilot)
        assert isinstance(app.screen, BreakGlassPatientScreen)
        assert [str(g.id) for g in store.break_glass_grants()] == [asked.json()["id"]]
        shown = screen_text(app)
        assert "BREAK-GLASS, expires" in shown and patient.display_name in shown
    assert app.boundary.caught == []
