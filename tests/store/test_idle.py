"""Auto-lock when idle, re-entry after hours; drafts survive, encrypted (SECURITY.md 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldapp.errors import Locked
from fieldapp.store import Store
from tests.store.factory import FAST, PASSPHRASE, FakeClock, device_record, patient
from tests.store.scan import hits, store_files, text_forms

DRAFT_TEXT = "the patient mentioned the heron by the canal twice"


def test_data_calls_after_idle_raise_locked_and_the_draft_survives_encrypted(
    store: Store, store_path: Path, clock: FakeClock
) -> None:
    event = device_record("vitals", patient().id)
    store.save(event)
    in_progress = {"subjective": DRAFT_TEXT}
    store.on_before_lock.append(lambda: store.save_draft("note:open", in_progress))
    clock.advance(FAST.auto_lock_minutes * 60 - 1)
    assert store.get("vitals", event.id) == event  # not idle yet
    clock.advance(1)
    with pytest.raises(Locked, match="idle minutes"):
        store.get("vitals", event.id)
    assert store.is_locked
    for call in (store.list_drafts, lambda: store.save(device_record("status", patient().id))):
        with pytest.raises(Locked):
            call()
    assert hits(store_files(store_path), {"draft": text_forms(DRAFT_TEXT)}) == []
    store.on_before_lock.clear()
    store.unlock(PASSPHRASE)
    assert store.load_draft("note:open") == in_progress


def test_touch_postpones_the_auto_lock(store: Store, clock: FakeClock) -> None:
    for _ in range(10):
        clock.advance(FAST.auto_lock_minutes * 60 - 1)
        store.touch()
        assert not store.check_idle()
    assert store.list_drafts() == []
    clock.advance(FAST.auto_lock_minutes * 60)
    assert store.check_idle()
    assert store.is_locked


def test_reentry_after_twelve_hours_even_when_active(store: Store, clock: FakeClock) -> None:
    for _ in range(int(FAST.reentry_hours * 60) - 1):
        clock.advance(60)
        store.touch()
    assert store.list_drafts() == []
    clock.advance(60)
    store.touch()
    with pytest.raises(Locked, match="12 hours"):
        store.list_drafts()
    store.unlock(PASSPHRASE)
    assert store.list_drafts() == []


def test_lock_runs_hooks_before_dropping_the_key_even_if_one_fails(store: Store) -> None:
    calls = []

    def failing() -> None:
        calls.append("failing")
        raise RuntimeError("hook broke")

    store.on_before_lock.extend([lambda: store.save_draft("a", {"x": 1}), failing])
    with pytest.raises(RuntimeError):
        store.lock()
    assert store.is_locked  # security first: the key is gone anyway
    assert calls == ["failing"]
    store.on_before_lock.clear()
    store.unlock(PASSPHRASE)
    assert store.load_draft("a") == {"x": 1}


def test_close_saves_drafts_through_the_hooks(store_path: Path, clock: FakeClock) -> None:
    from tests.store.factory import new_store

    store = new_store(store_path, clock)
    store.on_before_lock.append(lambda: store.save_draft("on-close", {"kept": True}))
    store.close()
    with Store.open(store_path, FAST) as again:
        again.unlock(PASSPHRASE)
        assert again.load_draft("on-close") == {"kept": True}


def test_locking_from_another_thread_never_half_breaks_a_save(store: Store) -> None:
    import threading

    from fieldapp.errors import StoreError

    pid = patient().id
    saved: list[object] = []
    unexpected: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            record = device_record("status", pid)
            try:
                store.save(record)
                saved.append(record.id)
            except Locked:
                pass
            except BaseException as exc:  # anything else (a false tamper report) is a bug
                unexpected.append(exc)
                return

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(5):
            store.lock()
            store.unlock(PASSPHRASE)
    finally:
        stop.set()
        thread.join()
    assert unexpected == []
    assert all(isinstance(e, StoreError) for e in unexpected)
    assert store.verify().ok
    assert store.pending_count() == len(saved)
