"""Today's start-of-shift check is found by opening today's checks only, whatever the
store's age: a launch asks for it, and a store holds one check for every working day."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from fieldapp.services.clock import ManualClock
from fieldapp.services.today import today, todays_check
from sync.records import ShiftCheck
from tests.tui.conftest import PASSPHRASE

YEARS_OF_CHECKS = 300  # working days, one check each, before today


def a_check(clock: ManualClock, by: str, days_ago: int = 0) -> ShiftCheck:
    return ShiftCheck(
        id=uuid.uuid4(),
        recorded_at=clock.now() - timedelta(days=days_ago),
        recorded_by=by,
        day=today(clock) - timedelta(days=days_ago),
        answers={"aed": True},
        templates=[],
    )


@pytest.fixture
def services(app: Any, clock: ManualClock) -> Any:
    services = app.services
    services.store.unlock(PASSPHRASE)
    services.store.save_many(
        [a_check(clock, services.user, n) for n in range(YEARS_OF_CHECKS, 0, -1)]
    )
    return services


def opened(services: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The kinds of the records the store decrypts from now on."""
    kinds: list[str] = []
    store = services.store
    original = store._open_record

    def counted(cipher: Any, kind: str, *rest: Any) -> Any:
        kinds.append(kind)
        return original(cipher, kind, *rest)

    monkeypatch.setattr(store, "_open_record", counted)
    return kinds


def test_todays_check_is_found_among_years_of_them(
    services: Any, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = a_check(clock, services.user)
    services.store.save(mine)
    services.store.save(a_check(clock, "someone-else"))  # a shared laptop: not theirs
    kinds = opened(services, monkeypatch)
    assert todays_check(services) == mine
    assert len(kinds) == 3  # today's two, and yesterday's, which ends the search


def test_the_newest_of_todays_checks_wins(
    services: Any, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = []
    for _ in range(12):  # more than the store reads at a time
        checks.append(a_check(clock, services.user))
        clock.advance(seconds=10)
    services.store.save_many(checks)
    kinds = opened(services, monkeypatch)
    assert todays_check(services) == checks[-1]
    assert len(kinds) == 13


def test_no_check_today_opens_one_record(
    services: Any, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    kinds = opened(services, monkeypatch)
    assert todays_check(services) is None
    assert kinds == ["shift_check"]
