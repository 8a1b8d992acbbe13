"""Fixtures for the store tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldapp.store import Store
from tests.store.factory import FakeClock, new_store


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves by hand."""
    return FakeClock()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """Where the test's store lives."""
    return tmp_path / "clinician.store"


@pytest.fixture
def store(store_path: Path, clock: FakeClock) -> Iterator[Store]:
    """A fresh, unlocked store with fast KDF settings."""
    opened = new_store(store_path, clock)
    yield opened
    opened.close()
