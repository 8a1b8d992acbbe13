"""Who did it: every record of a visit carries the clinician the laptop was enrolled for,
and the signed note carries that clinician's signature, which the clinic checks."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from fieldapp.services.clock import ManualClock
from fieldapp.settings import Settings
from fieldapp.store.store import Store
from sync.records import DeviceRecord, SessionNote, parse_record
from sync.server.models import DeviceRecordRow, ReviewItem
from sync.signatures import verifies
from tests.tui.conftest import CLINICIAN
from tests.tui.helpers import settle
from tests.tui.test_sync import SIZE, enrolled_app, server
from tests.tui.test_visit import whole_visit

__all__ = ["server"]  # the fixture, used by name


async def test_records_and_the_signature_are_the_enrolled_clinicians(
    server: tuple[Any, str], store: Store, settings: Settings, clock: ManualClock
) -> None:
    asgi, _ = server
    # The laptop's own setting says "default": the enrolment says who this really is.
    unnamed = settings.model_copy(
        update={"store": settings.store.model_copy(update={"user": "default"})}
    )
    async with (
        enrolled_app(server, store, unnamed, clock, locked=True) as app,
        app.run_test(size=SIZE) as pilot,
    ):
        await whole_visit(pilot, app, clock)
        assert app.services.user == CLINICIAN
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert app.services.sync_state.error is None, app.services.sync_state.error
        assert app.services.sync_state.set_aside == 0
        records = [r for kind in ("status", "vitals", "note") for r in store.records_of_kind(kind)]
        public_key = store.signing_public_key()
    assert records and {r.recorded_by for r in records if isinstance(r, DeviceRecord)} == {
        CLINICIAN
    }
    notes = [r for r in records if isinstance(r, SessionNote)]
    assert [n.signed_by for n in notes] == [CLINICIAN]
    assert verifies(notes[0], public_key)
    with Session(asgi.state.ctx.engine) as session:
        stored = session.exec(select(DeviceRecordRow).where(DeviceRecordRow.kind == "note")).one()
        assert session.exec(select(ReviewItem)).all() == []
    at_clinic = parse_record("note", stored.payload)
    assert isinstance(at_clinic, SessionNote) and verifies(at_clinic, public_key)
    assert stored.user_name == CLINICIAN
