"""Shared fixtures: a real encrypted store (low-but-legal KDF) holding one clinician's
synthetic demo day, a hand-driven clock, and the app built over them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from fieldapp.demo.seattle import SEATTLE, demo_day
from fieldapp.services.clock import ManualClock
from fieldapp.settings import Settings, StoreSettings
from fieldapp.store.store import Store
from fieldapp.tui.app import FieldApp

DAY = date(2026, 3, 10)
PASSPHRASE = "correct horse battery"
CLINICIAN = "c01"
CHECKER, CHECKER_PIN = "c02", "864209"  # a colleague enrolled as a second checker
STORE_SETTINGS = {
    "user": CLINICIAN,
    "kdf_memory_kib": 19456,
    "kdf_iterations": 2,
    "kdf_lanes": 1,
    "backoff_after_failures": 3,
}


@pytest.fixture(scope="session")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store file with the demo day, made once and copied for each test."""
    path = tmp_path_factory.mktemp("template") / "c01.store"
    store = Store.create(path, PASSPHRASE, StoreSettings.model_validate(STORE_SETTINGS))
    day = demo_day(DAY)
    visits = day.visits_for(CLINICIAN)
    ids = {v.patient_id for v in visits}
    store.put_server_records([p for p in day.patients if p.id in ids])
    store.put_server_records(visits)
    store.enrol_checker(CHECKER, CHECKER_PIN)
    store.close()
    return path


@pytest.fixture
def clock() -> ManualClock:
    """Half past eight on the demo day, Seattle time."""
    return ManualClock(datetime(2026, 3, 10, 8, 30, tzinfo=SEATTLE))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for clinician c01 with the test store's path."""
    data = {"store": {**STORE_SETTINGS, "path": str(tmp_path / "c01.store")}}
    return Settings.model_validate(data)


@pytest.fixture
def store(template_store: Path, settings: Settings, clock: ManualClock) -> Store:
    """A locked copy of the demo store, on the test's clock."""
    path = settings.store.resolved_path()
    shutil.copy(template_store, path)
    opened = Store.open(path, settings.store, clock=lambda: clock.now().timestamp())
    yield opened
    opened.close()


@pytest.fixture
def app(store: Store, settings: Settings, clock: ManualClock) -> Iterator[FieldApp]:
    """The app over the demo store, not yet unlocked.

    The app's error boundary keeps it up after any error, so a test would not see one:
    each test fails here if the boundary caught anything it did not expect and clear.
    """
    built = FieldApp(store, settings, clock=clock)
    yield built
    assert built.boundary.caught == [], f"errors caught by the boundary: {built.boundary.caught}"
