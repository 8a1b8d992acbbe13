"""Quick unlock: a PIN set after the passphrase, 5 tries, never past the re-entry, never on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.errors import (
    Locked,
    QuickUnlockUnavailable,
    StoreError,
    WrongPassphrase,
    WrongPin,
)
from fieldapp.store import Store
from tests.store.factory import (
    FAST,
    OTHER_PASSPHRASE,
    PASSPHRASE,
    FakeClock,
    device_record,
    patient,
)
from tests.store.scan import hits, key_forms, store_files

PIN = "246810"


def with_pin(store: Store) -> Store:
    """The store with the PIN set, then locked."""
    store.set_pin(PIN)
    store.lock()
    return store


@pytest.mark.parametrize("pin", ["12345", "abcdef", "12345a", "١٢٣٤٥٦", "", "123 456"])
def test_a_pin_needs_six_digits_or_more(store: Store, pin: str) -> None:
    with pytest.raises(StoreError, match="at least 6 digits"):
        store.set_pin(pin)
    assert not store.has_pin


def test_the_pin_needs_an_unlocked_store(store: Store) -> None:
    store.lock()
    with pytest.raises(Locked):
        store.set_pin(PIN)


def test_the_pin_reopens_the_store(store: Store) -> None:
    person = patient()
    store.put_server_records([person])
    with_pin(store)
    assert store.has_pin
    with pytest.raises(Locked):
        store.patient(person.id)
    store.unlock_with_pin(PIN)
    assert store.patient(person.id) == person
    store.save(device_record("vitals", person.id))  # writes work too


def test_five_wrong_pins_and_only_the_passphrase_unlocks(store: Store) -> None:
    with_pin(store)
    for left in (4, 3, 2, 1):
        with pytest.raises(WrongPin) as wrong:
            store.unlock_with_pin("999999")
        assert wrong.value.tries_left == left
        assert f"{left} tr" in str(wrong.value)
    with pytest.raises(QuickUnlockUnavailable, match="Too many wrong PINs"):
        store.unlock_with_pin("999999")
    assert not store.has_pin and store.is_locked
    with pytest.raises(QuickUnlockUnavailable, match="No PIN"):
        store.unlock_with_pin(PIN)  # the right one, too late
    store.unlock(PASSPHRASE)
    assert not store.is_locked and not store.has_pin


def test_a_right_pin_gives_the_tries_back(store: Store) -> None:
    with_pin(store)
    for _ in range(4):
        with pytest.raises(WrongPin):
            store.unlock_with_pin("111111")
    store.unlock_with_pin(PIN)
    store.lock()
    for _ in range(4):
        with pytest.raises(WrongPin):
            store.unlock_with_pin("111111")
    store.unlock_with_pin(PIN)


def test_the_pin_never_extends_the_reentry(store: Store, clock: FakeClock) -> None:
    with_pin(store)
    hours = FAST.reentry_hours
    clock.advance(hours * 3600 - 60)
    store.unlock_with_pin(PIN)  # a minute before the re-entry: still the PIN
    clock.advance(61)
    with pytest.raises(Locked, match="hours"):
        store.records_of_kind("vitals")  # the PIN did not start the 12 hours again
    with pytest.raises(QuickUnlockUnavailable, match="hours"):
        store.unlock_with_pin(PIN)
    assert not store.has_pin
    store.unlock(PASSPHRASE)
    assert not store.has_pin  # a new shift: set a PIN again


def test_a_passphrase_after_the_reentry_forgets_the_pin(store: Store, clock: FakeClock) -> None:
    with_pin(store)
    clock.advance(FAST.reentry_hours * 3600 + 1)
    store.unlock(PASSPHRASE)
    assert not store.has_pin


def test_the_pin_wrap_is_never_on_disk(store: Store, store_path: Path) -> None:
    store.save(device_record("vitals", patient().id))
    with_pin(store)
    slot = store._pin_slot
    assert slot is not None
    found = hits(
        store_files(store_path),
        {
            "wrap": key_forms(slot.wrapped),
            "salt": key_forms(slot.salt),
            "pin": key_forms(PIN.encode()),
        },
    )
    assert found == []
    store.close()
    with Store.open(store_path, FAST) as again:
        assert not again.has_pin
        with pytest.raises(QuickUnlockUnavailable):
            again.unlock_with_pin(PIN)


def test_a_new_passphrase_forgets_the_pin(store: Store) -> None:
    store.set_pin(PIN)
    store.change_passphrase(PASSPHRASE, OTHER_PASSPHRASE)
    store.lock()
    assert not store.has_pin
    store.unlock(OTHER_PASSPHRASE)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(guess=st.text(alphabet="0123456789", min_size=6, max_size=12))
def test_no_other_pin_unlocks(store: Store, guess: str) -> None:
    if guess == PIN:
        return
    store.unlock(PASSPHRASE)
    with_pin(store)
    with pytest.raises(WrongPin):
        store.unlock_with_pin(guess)
    assert store.is_locked


def test_confirming_the_pin_changes_nothing_but_counts_wrong_ones(store: Store) -> None:
    person = patient()
    store.put_server_records([person])
    store.set_pin(PIN)
    store.confirm_pin(PIN)
    assert not store.is_locked and store.patient(person.id) == person  # keys still usable
    for left in (4, 3):
        with pytest.raises(WrongPin) as wrong:
            store.confirm_pin("999999")
        assert wrong.value.tries_left == left
    store.confirm_pin(PIN)  # a right one gives the tries back, as at the lock screen
    for _ in range(4):
        with pytest.raises(WrongPin):
            store.confirm_pin("999999")
    with pytest.raises(QuickUnlockUnavailable, match="Too many wrong PINs"):
        store.confirm_pin("999999")
    assert not store.has_pin and not store.is_locked
    store.save(device_record("vitals", person.id))  # the open store stays open


def test_confirming_needs_an_open_store(store: Store) -> None:
    store.set_pin(PIN)
    store.lock()
    with pytest.raises(Locked):
        store.confirm_pin(PIN)
    with pytest.raises(Locked):
        store.confirm_passphrase(PASSPHRASE)


def test_confirming_the_passphrase_counts_towards_the_back_off(store: Store) -> None:
    store.confirm_passphrase(PASSPHRASE)
    with pytest.raises(WrongPassphrase):
        store.confirm_passphrase(OTHER_PASSPHRASE)
    assert store.info().unlock_failures == 1
    store.confirm_passphrase(PASSPHRASE)
    assert store.info().unlock_failures == 0 and not store.is_locked
