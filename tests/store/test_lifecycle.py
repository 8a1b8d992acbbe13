"""Create, unlock, foreign files, back-off, passphrase change, wipe (SECURITY.md 2, 3, 10)."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from fieldapp.errors import (
    Locked,
    NotAStore,
    StoreError,
    StoreTampered,
    StoreWiped,
    UnlockBackoff,
    WrongPassphrase,
)
from fieldapp.store import Store
from tests.store.factory import (
    FAST,
    OTHER_PASSPHRASE,
    PASSPHRASE,
    FakeClock,
    device_record,
    new_store,
    patient,
)
from tests.store.scan import hits, key_forms, store_files


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_create_then_reopen_reads_the_same_records(store: Store, store_path: Path) -> None:
    person = patient()
    store.put_server_records([person])
    event = device_record("vitals", person.id)
    store.save(event)
    store.close()
    with Store.open(store_path, FAST) as again:
        assert again.is_locked
        with pytest.raises(Locked):
            again.get("vitals", event.id)
        again.unlock(PASSPHRASE)
        assert again.get("vitals", event.id) == event
        assert again.patient(person.id) == person


def test_create_refuses_an_existing_path_and_a_short_passphrase(store_path: Path) -> None:
    store_path.write_bytes(b"something else")
    with pytest.raises(StoreError, match="already exists"):
        Store.create(store_path, PASSPHRASE, FAST)
    with pytest.raises(StoreError, match="at least 8"):
        Store.create(store_path.with_name("b.store"), "short", FAST)
    assert store_path.read_bytes() == b"something else"


def test_store_file_is_owner_only(store: Store, store_path: Path) -> None:
    assert store_path.stat().st_mode & 0o077 == 0


# -- SECURITY.md 2: wrong passphrase -----------------------------------------------------


def test_wrong_passphrase_is_one_error_counted_nothing_decrypted(
    store: Store, store_path: Path
) -> None:
    event = device_record("note", patient().id, text="synthetic note body")
    store.save(event)
    store.close()
    with Store.open(store_path, FAST) as again:
        for attempt in ("wrong passphrase", "", PASSPHRASE + " ", PASSPHRASE.upper()):
            with pytest.raises(WrongPassphrase) as caught:
                again.unlock(attempt)
            assert str(caught.value) == "That passphrase did not unlock the store."
        assert again.is_locked
        with pytest.raises(Locked):
            again.get("note", event.id)
        assert again.info().unlock_failures == 4


def test_tampered_kdf_params_fail_as_a_wrong_passphrase(store: Store, store_path: Path) -> None:
    store.close()
    with sqlite3.connect(store_path) as conn:
        conn.execute("UPDATE keyslot SET kdf_iterations = 3")
    with Store.open(store_path, FAST) as again, pytest.raises(WrongPassphrase):
        again.unlock(PASSPHRASE)


def test_header_below_the_owasp_floor_is_refused(store: Store, store_path: Path) -> None:
    store.close()
    with sqlite3.connect(store_path) as conn:
        conn.execute("UPDATE keyslot SET kdf_memory_kib = 1024")
    with pytest.raises(StoreTampered, match="weaker than the minimum"):
        Store.open(store_path, FAST)


def test_backoff_after_five_failures_doubles_and_survives_restart(store_path: Path) -> None:
    clock = FakeClock()
    new_store(store_path, clock).close()
    first = Store.open(store_path, FAST, clock=clock)
    for _ in range(5):
        with pytest.raises(WrongPassphrase):
            first.unlock("not the passphrase")
    with pytest.raises(UnlockBackoff) as caught:
        first.unlock(PASSPHRASE)  # even the right one is not tried
    assert caught.value.retry_after_s == pytest.approx(FAST.backoff_base_s)
    first.close()

    restarted = Store.open(store_path, FAST, clock=clock)
    with pytest.raises(UnlockBackoff):
        restarted.unlock(PASSPHRASE)
    clock.advance(FAST.backoff_base_s)
    with pytest.raises(WrongPassphrase):
        restarted.unlock("still not it")
    with pytest.raises(UnlockBackoff) as caught:
        restarted.unlock(PASSPHRASE)
    assert caught.value.retry_after_s == pytest.approx(2 * FAST.backoff_base_s)
    clock.advance(2 * FAST.backoff_base_s)
    restarted.unlock(PASSPHRASE)
    assert not restarted.is_locked
    assert restarted.info().unlock_failures == 0
    restarted.close()


def test_clock_set_back_does_not_stretch_the_backoff(store_path: Path) -> None:
    clock = FakeClock()
    new_store(store_path, clock).close()
    with Store.open(store_path, FAST, clock=clock) as again:
        for _ in range(5):
            with pytest.raises(WrongPassphrase):
                again.unlock("nope nope")
        clock.advance(-10_000)
        with pytest.raises(UnlockBackoff) as caught:
            again.unlock(PASSPHRASE)
        assert caught.value.retry_after_s <= FAST.backoff_base_s


# -- SECURITY.md 3: foreign files --------------------------------------------------------


def test_plain_sqlite_file_is_refused_and_left_untouched(store_path: Path) -> None:
    with sqlite3.connect(store_path) as conn:
        conn.execute("CREATE TABLE meta (key TEXT, value TEXT)")
        conn.execute("INSERT INTO meta VALUES ('magic', 'fieldapp-store')")
    conn.close()
    before = _digest(store_path)
    with pytest.raises(NotAStore, match="an SQLite database but not a fieldapp store"):
        Store.open(store_path, FAST)
    assert _digest(store_path) == before
    assert store_files(store_path) == [store_path]


@pytest.mark.parametrize("content", [b"", b"hello, not a database", bytes(range(256)) * 20])
def test_non_sqlite_file_is_refused(store_path: Path, content: bytes) -> None:
    store_path.write_bytes(content)
    with pytest.raises(NotAStore, match="not a fieldapp store"):
        Store.open(store_path, FAST)
    assert store_path.read_bytes() == content


def test_missing_file_is_refused_with_a_hint(store_path: Path) -> None:
    with pytest.raises(NotAStore, match="fieldapp store init"):
        Store.open(store_path, FAST)


def test_newer_schema_is_refused(store: Store, store_path: Path) -> None:
    store.close()
    with sqlite3.connect(store_path) as conn:
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    with pytest.raises(NotAStore, match="newer fieldapp"):
        Store.open(store_path, FAST)


def test_benchmark_store_without_encryption_is_refused_by_the_app(store_path: Path) -> None:
    Store.create(store_path, PASSPHRASE, FAST, _null_cipher=True).close()
    with pytest.raises(NotAStore, match="encryption off"):
        Store.open(store_path, FAST)


# -- passphrase change -------------------------------------------------------------------


def test_change_passphrase_keeps_data_and_only_the_new_one_opens(
    store: Store, store_path: Path
) -> None:
    event = device_record("incident", patient().id, text="synthetic incident")
    store.save(event)
    store.change_passphrase(PASSPHRASE, OTHER_PASSPHRASE)
    assert store.get("incident", event.id) == event
    store.close()
    with Store.open(store_path, FAST) as again:
        with pytest.raises(WrongPassphrase):
            again.unlock(PASSPHRASE)
        again.unlock(OTHER_PASSPHRASE)
        assert again.get("incident", event.id) == event


def test_change_passphrase_with_the_wrong_old_one_changes_nothing(
    store: Store, store_path: Path
) -> None:
    with pytest.raises(WrongPassphrase):
        store.change_passphrase("not the old one", OTHER_PASSPHRASE)
    store.close()
    with Store.open(store_path, FAST) as again:
        again.unlock(PASSPHRASE)


def test_old_wrapped_key_does_not_survive_a_passphrase_change(
    store: Store, store_path: Path
) -> None:
    with sqlite3.connect(store_path) as conn:
        (old_wrap,) = conn.execute("SELECT wrapped FROM keyslot").fetchone()
    conn.close()
    store.change_passphrase(PASSPHRASE, OTHER_PASSPHRASE)
    files = store_files(store_path)
    assert hits(files, {"old wrap": {"raw": old_wrap}}) == []


# -- SECURITY.md 10: wipe ----------------------------------------------------------------


def test_wipe_deletes_every_file_and_nothing_opens(store: Store, store_path: Path) -> None:
    store.save(device_record("vitals", patient().id))
    store.wipe()
    assert list(store_path.parent.iterdir()) == []
    with pytest.raises(StoreWiped):
        store.get("vitals", "00000000-0000-0000-0000-000000000000")
    with pytest.raises(NotAStore):
        Store.open(store_path, FAST)


def test_wipe_destroys_the_key_even_if_the_files_survive(
    store: Store, store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save(device_record("vitals", patient().id))
    with sqlite3.connect(store_path) as conn:
        (wrapped,) = conn.execute("SELECT wrapped FROM keyslot").fetchone()
    conn.close()
    dek = bytes(store._ring._dek)  # type: ignore[union-attr]
    # The deletion step fails (a read-only disk, a crash): the key header must already be gone.
    monkeypatch.setattr(Store, "_remove_files", lambda self: None)
    store.wipe()
    leftovers = store_files(store_path)
    assert leftovers
    assert hits(leftovers, {"wrapped DEK": {"raw": wrapped}, "DEK": key_forms(dek)}) == []
    copy = tmp_path / "copy.store"
    shutil.copy(store_path, copy)
    for path in (store_path, copy):
        with pytest.raises(StoreWiped):
            Store.open(path, FAST).unlock(PASSPHRASE)


def test_locked_store_still_wipes(store: Store, store_path: Path) -> None:
    store.lock()
    store.wipe()
    assert not store_path.exists()
