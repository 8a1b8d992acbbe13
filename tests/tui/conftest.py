"""Shared fixtures: a store loaded with one clinician's synthetic demo day, and a clock."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from fieldapp.demo.seattle import SEATTLE, demo_day
from fieldapp.services.clock import ManualClock
from fieldapp.settings import Settings
from fieldapp.tui.app import FieldApp
from tests.tui.fakes import MemoryStore

DAY = date(2026, 3, 10)
PASSPHRASE = "correct horse"
CLINICIAN = "c01"


@pytest.fixture
def clock() -> ManualClock:
    """Half past eight on the demo day, Seattle time."""
    return ManualClock(datetime(2026, 3, 10, 8, 30, tzinfo=SEATTLE))


@pytest.fixture
def store() -> MemoryStore:
    """A store holding clinician c01's visits and patients for the demo day, locked."""
    s = MemoryStore(PASSPHRASE)
    s.unlock(PASSPHRASE)
    day = demo_day(DAY)
    visits = day.visits_for(CLINICIAN)
    ids = {v.patient_id for v in visits}
    s.put_server_records([p for p in day.patients if p.id in ids])
    s.put_server_records(visits)
    s.lock()
    return s


@pytest.fixture
def settings() -> Settings:
    """Default settings for user c01."""
    return Settings.model_validate({"store": {"user": CLINICIAN}})


@pytest.fixture
def app(store: MemoryStore, settings: Settings, clock: ManualClock) -> FieldApp:
    """The app over the demo store, not yet unlocked."""
    return FieldApp(store, settings, clock=clock)
