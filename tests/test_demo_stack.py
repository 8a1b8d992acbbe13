"""The whole demo stack: server on SQLite, day loaded, laptop enrolled, sync both ways."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from fieldapp.commands.demo import print_day
from fieldapp.demo.recorded import SECOND_CHECKER
from fieldapp.demo.stack import DemoStack
from fieldapp.settings import Settings, StoreSettings
from sync.client import SyncClient, make_http_client
from sync.records import ClinicianProfile, StatusEvent

FAST_KDF = StoreSettings(kdf_memory_kib=19456, kdf_iterations=2, kdf_lanes=1)
# A day long past and one weeks ahead: the demo of any day works, whatever today is (the
# server's clock is moved to it; the enrolment code must not expire by the moved clock).
DAYS = [date(2026, 11, 22), date.today() + timedelta(days=40)]


@pytest.fixture(params=DAYS, ids=["past", "ahead"])
def day(request) -> date:  # type: ignore[no-untyped-def]
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def stack(tmp_path: Path, day: date):  # type: ignore[no-untyped-def]
    running = DemoStack.start(tmp_path / "demo", Settings(store=FAST_KDF), day)
    yield running
    running.stop()


def test_demo_laptop_receives_its_day_and_pushes_a_check_in(  # type: ignore[no-untyped-def]
    stack: DemoStack, day: date, capsys
) -> None:
    visits = stack.store.visits_for_day(day)
    assert [v.route_order for v in visits] == [1, 2, 3, 4]
    assert all(v.clinician_id == "c01" for v in visits)
    assert stack.report.pulled >= 9  # 4 patients + 4 visits + c01's profile (+ protocol docs)
    # The clinician's credentials came from the clinic: their own profile, nobody else's.
    [profile] = stack.store.records_of_kind("clinician_profile")
    assert isinstance(profile, ClinicianProfile)
    assert profile.clinician_id == "c01" and profile.licence_active
    assert profile.acls_expires is not None and profile.acls_expires > day
    # The demo's second checker is enrolled with their code, and the first sync filed the key.
    assert stack.store.checkers() == [SECOND_CHECKER] and stack.store.unfiled_checkers() == []

    visit = visits[0]
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
    assert stack.store.pending_count() == 1

    async def sync_again():  # type: ignore[no-untyped-def]
        async with make_http_client(Settings().sync) as http:
            return await SyncClient(http, stack.store, Settings().sync).sync_once()

    report = asyncio.run(sync_again())
    assert report.pushed == {"applied": 1}
    assert stack.store.pending_count() == 0

    print_day(stack.store, day)
    out = capsys.readouterr().out
    assert f"4 visits on {day}" in out
