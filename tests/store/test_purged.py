"""Records the clinic purged: the laptop keeps a tombstone (content hash only), its chain
still verifies, unpushed ones wait, and the tombstone is as tamper-evident as a record."""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing
from pathlib import Path

from fieldapp.store import Store
from sync.outbox import PushOutcome, next_chain_hash
from tests.store.factory import (
    FAST,
    PASSPHRASE,
    FakeClock,
    device_record,
    mixed_device_records,
    new_store,
    patient,
    server_head,
)


def synced(store: Store, upto: int) -> None:
    """The server acknowledged the outbox up to seq `upto`."""
    store.acknowledge(
        [PushOutcome(seq, "applied") for seq in range(1, upto + 1)], server_head(store, upto)
    )


def test_a_purged_record_leaves_only_its_hash_and_the_chain_still_verifies(
    store: Store, store_path: Path
) -> None:
    person = patient()
    records = mixed_device_records(random.Random(5), [person.id], 8)
    store.put_server_records([person])
    store.save_many(records)
    synced(store, 6)  # the last two are not pushed yet
    with closing(sqlite3.connect(store_path)) as conn:
        old_ct = conn.execute(
            "SELECT ct FROM records WHERE id = ?", (str(records[0].id),)
        ).fetchone()[0]
    gone = [(r.KIND, r.id) for r in records[:2]]
    waiting = (records[7].KIND, records[7].id)
    store.apply_pull_page([], [*gone, waiting], "cursor-1")
    kept = {r.id for r in store.load_all()}
    assert not {rid for _, rid in gone} & kept
    assert waiting[1] in kept  # not yet pushed: the server has not answered for it
    assert all(store.get(kind, rid) is None for kind, rid in gone)
    assert [r.id for r in store.patient_history(person.id)][1:] == [r.id for r in records[2:]]
    report = store.verify()
    assert report.ok and report.purged == 2 and report.records_ok == 1 + 6

    # Once the server answers for it, the next pull drops it too.
    synced(store, 8)
    store.apply_pull_page([], [], "cursor-2")
    assert waiting[1] not in {r.id for r in store.load_all()}
    assert store.verify().purged == 3 and store.pending_count() == 0

    # The purged ciphertext is overwritten, not just unlinked (secure_delete), so a key
    # recovered later opens nothing of it.
    store.close()
    files = [p for p in store_path.parent.iterdir() if p.name.startswith(store_path.name)]
    assert not any(old_ct[:32] in p.read_bytes() for p in files)


def test_a_changed_tombstone_is_reported(store: Store, store_path: Path) -> None:
    person = patient()
    record = device_record("note", person.id, text="synthetic note text")
    store.save(record)
    synced(store, 1)
    store.apply_pull_page([], [("note", record.id)], "c")
    store.close()
    with closing(sqlite3.connect(store_path)) as conn, conn:
        (ct,) = conn.execute("SELECT ct FROM records WHERE id = ?", (str(record.id),)).fetchone()
        flipped = bytes([ct[0] ^ 1]) + ct[1:]
        conn.execute("UPDATE records SET ct = ? WHERE id = ?", (flipped, str(record.id)))
    with Store.open(store_path, FAST) as again:
        again.unlock(PASSPHRASE)
        report = again.verify()
        assert not report.ok
        assert report.failures and report.failures[0].record_id == str(record.id)


def test_tombstones_survive_a_key_rotation(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s.store", FakeClock(), _rotate_after=12)
    person = patient()
    records = mixed_device_records(random.Random(9), [person.id], 4)
    store.save_many(records)
    synced(store, 4)
    store.apply_pull_page([], [(records[0].KIND, records[0].id)], "c")
    generation = store.info().key_generation
    for i in range(15):  # drafts use up the key until it rotates
        store.save_draft("d", {"n": i})
    assert store.info().key_generation > generation
    report = store.verify()
    assert report.ok and report.purged == 1 and report.records_ok == 3
    store.close()


def test_a_tombstone_queued_again_goes_as_a_purge_marker_on_its_chain(store: Store) -> None:
    """A server restored from an older copy confirms less: everything above its head is
    queued again, tombstones too. A tombstone goes with no content, as purged, carrying the
    content hash the chain was built on, never its own ciphertext as a new record."""
    person = patient()
    records = mixed_device_records(random.Random(11), [person.id], 5)
    store.put_server_records([person])
    store.save_many(records)
    before = {item.seq: item for item in store.outbox_batch(10)}
    synced(store, 5)
    store.apply_pull_page([], [(records[1].KIND, records[1].id)], "cursor-1")
    assert store.verify().purged == 1

    queued = store.acknowledge([], server_head(store, 1))
    assert queued == 4 and store.pending_count() == 4
    again = store.outbox_batch(10)
    assert [item.seq for item in again] == [2, 3, 4, 5]
    marker = again[0]
    assert marker.purged and marker.payload == {} and marker.record_id == records[1].id
    assert marker.content_hash == before[2].content_hash  # the record's, not the tombstone's
    assert next_chain_hash(before[1].chain_hash, marker.content_hash) == marker.chain_hash
    assert [item.payload for item in again[1:]] == [before[s].payload for s in (3, 4, 5)]
    assert not any(item.purged for item in again[1:])
    report = store.verify()
    assert report.chain_ok and report.purged == 1 and report.failures == []

    # Answered for again, it is settled as before; it never comes back as a record.
    store.acknowledge([PushOutcome(s, "duplicate") for s in (2, 3, 4, 5)], server_head(store, 5))
    assert store.pending_count() == 0 and store.verify().ok
    assert store.get(records[1].KIND, records[1].id) is None
