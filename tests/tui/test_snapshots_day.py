"""Snapshots of the screens a clinician's day changed (issue 18): signing asks again, the
signed note with its addenda, the ledger's mg-first dialogs and the return's question.

Update after reviewing the SVGs: `pytest tests/tui/test_snapshots_day.py --snapshot-update`.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from textual.pilot import Pilot

from fieldapp.services.clock import ManualClock
from fieldapp.services.recovery import Note
from fieldapp.services.visit import VisitSession
from fieldapp.settings import Settings
from fieldapp.store.store import Store
from fieldapp.tui.screens.ledger import LedgerScreen
from fieldapp.tui.screens.note import NoteScreen
from fieldapp.tui.widgets.field import Field
from tests.tui.helpers import later, settle
from tests.tui.states import bring_to
from tests.tui.test_snapshots import SIZES, build, still


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("state", ["signing", "signed"])
def test_note(
    snap_compare: Any, store: Store, settings: Settings, clock: ManualClock, size: Any, state: str
) -> None:
    app = build(store, settings, clock)
    session = bring_to(app, clock, "note")
    if state == "signed":
        note = Note(session)
        note.sign(note.draft())
        later(app, clock, 25)
        note.amend("Phoned the patient at home: no nausea, sleeping well.")

    async def open_note(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        if state == "signing":
            app.open_visit(session.visit.id)
            await settle(pilot)
            await pilot.press("ctrl+s")
        else:  # the visit's step is check-out now: the note as read after signing
            await app.push_screen(NoteScreen(VisitSession.load(app.services, session.visit.id)))
        await still(pilot)

    assert snap_compare(app, terminal_size=size, run_before=open_note)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dialog", ["waste", "return"])
def test_ledger_dialogs(
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
        await app.push_screen(LedgerScreen(app.services))
        await settle(pilot)
        await pilot.press("w" if dialog == "waste" else "t")
        await settle(pilot)
        if dialog == "waste":  # typed in mg, refused for an unlicensed witness: kept open
            fields = {f.field_id: f for f in app.screen.query(Field)}
            for key, text in {"mg": "25.5", "witness": "A neighbour", "licensed": "no"}.items():
                fields[key].value = text
            await pilot.press("ctrl+s")
        await still(pilot)

    assert snap_compare(app, terminal_size=size, run_before=open_dialog)


def _profile_and_kit(app: Any, clock: ManualClock, kit: bool) -> None:
    """The clinic's profile (ACLS due in 20 days) and, with `kit`, today's shift check."""
    from datetime import UTC, datetime, timedelta

    from fieldapp.services.checklist import items
    from fieldapp.services.shift import record_check, shift_items
    from sync.records import ClinicianProfile

    profile = ClinicianProfile(
        id=uuid.UUID(int=7),
        clinician_id="c01",
        acls_expires=clock.now().date() + timedelta(days=20),
        licence_active=True,
        licence_expires=None,
        prescriber="Dr. Test Prescriber",
        prescriber_dea_states=["WA"],
        updated_by="root",
        updated_at=datetime(2026, 3, 1, 17, 0, tzinfo=UTC),
    )
    app.services.store.put_server_records([profile])
    if kit:
        asked = shift_items(items())
        record_check(app.services, asked, {item.id: "y" for item in asked})


@pytest.mark.parametrize("size", SIZES)
def test_start_of_shift(
    snap_compare: Any, store: Store, settings: Settings, clock: ManualClock, size: Any
) -> None:
    app = build(store, settings, clock)

    async def open_shift(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        _profile_and_kit(app, clock, kit=False)
        await pilot.press("f9")
        await still(pilot)

    assert snap_compare(app, terminal_size=size, run_before=open_shift)


@pytest.mark.parametrize("size", SIZES)
def test_checklist_answered_before(
    snap_compare: Any, store: Store, settings: Settings, clock: ManualClock, size: Any
) -> None:
    app = build(store, settings, clock)
    _profile_and_kit(app, clock, kit=True)
    session = bring_to(app, clock, "checklist")

    async def open_step(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        app.open_visit(session.visit.id)
        await settle(pilot)
        # The rules panel scrolled to what was answered before the visit.
        app.screen.query_one("#answered-before").scroll_visible(animate=False, top=True)
        await still(pilot)

    assert snap_compare(app, terminal_size=size, run_before=open_step)
