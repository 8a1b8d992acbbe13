"""The duress box: readable without the passphrase, private to the user, written whole,
never holding a patient fact, and gone with the store's wipe."""

from __future__ import annotations

import stat
import uuid
from datetime import UTC, datetime
from pathlib import Path

from fieldapp.store import Store
from fieldapp.store.duress_box import DuressBox, box_path
from sync.outbox import DuressSignal

AT = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def test_the_box_keeps_credential_choice_and_queue(store: Store, store_path: Path) -> None:
    box = DuressBox.beside(store_path)
    assert box.read().credential is None and box.read().queue == ()
    box.keep_credential("https://clinic.example", "dev-1", "fd1_" + "x" * 43)
    box.choose_acknowledgement("Noted.")
    first, second = DuressSignal(uuid.uuid4(), AT), DuressSignal(uuid.uuid4(), AT)
    box.enqueue(first)
    box.enqueue(second)
    box.delivered(first.id)
    state = DuressBox(box_path(store_path)).read()  # as a new process reads it
    assert state.credential is not None and state.credential.device_id == "dev-1"
    assert state.acknowledgement == "Noted." and state.queue == (second,)
    assert "fd1_" not in repr(state.credential)  # a credential stays out of logs
    assert stat.S_IMODE(box.path.stat().st_mode) == 0o600
    assert [p.name for p in store_path.parent.iterdir() if p.name.startswith(".")] == []


def test_an_unreadable_box_reads_as_empty(store_path: Path) -> None:
    box = DuressBox.beside(store_path)
    box.path.write_bytes(b"\x00not json")
    assert box.read().credential is None and box.read().queue == ()


def test_the_wipe_takes_the_box(store: Store, store_path: Path) -> None:
    box = DuressBox.beside(store_path)
    box.enqueue(DuressSignal(uuid.uuid4(), AT))
    store.wipe()
    assert not box.path.exists()
