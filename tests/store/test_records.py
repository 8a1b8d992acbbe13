"""Append-only records, the outbox and its chain, server versions, queries, drafts, rotation."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import pytest

from fieldapp.errors import RecordImmutable, StoreError
from fieldapp.store import Store
from sync.outbox import GENESIS_CHAIN_HASH, DeviceIdentity, PushOutcome, next_chain_hash
from sync.records import SessionNote
from tests.store.factory import (
    DAY,
    FAST,
    PASSPHRASE,
    T0,
    device_record,
    mixed_device_records,
    new_store,
    patient,
    server_head,
    visit,
)


def test_saving_an_existing_device_record_is_refused(store: Store) -> None:
    event = device_record("vitals", patient().id)
    store.save(event)
    changed = event.model_copy(update={"heart_rate_bpm": 99})
    with pytest.raises(RecordImmutable, match="append-only"):
        store.save(changed)
    assert store.get("vitals", event.id) == event
    assert store.pending_count() == 1


def test_the_sync_status_follows_every_change_to_the_file(store: Store) -> None:
    # Kept between changes (the status line asks every second); any write counts, ours
    # or another connection's (another fieldapp command on the same file).
    import sqlite3

    pid = uuid.uuid4()
    assert store.sync_status().pending == 0
    store.save_many([device_record("status", pid)])
    assert store.sync_status().pending == 1
    assert store.sync_status() is store.sync_status()  # nothing changed: not counted again
    other = sqlite3.connect(store.path)
    with other:
        other.execute("UPDATE outbox SET state = 'synced'")
    other.close()
    status = store.sync_status()
    assert (status.pending, status.synced) == (0, 1)


def test_a_batch_with_one_duplicate_is_refused_whole(store: Store) -> None:
    pid = patient().id
    first = device_record("status", pid)
    store.save(first)
    with pytest.raises(RecordImmutable):
        store.save_many([device_record("status", pid), first])
    assert store.pending_count() == 1
    assert store.chain_head().seq == 1


def test_device_cannot_save_server_records_or_draft_notes(store: Store) -> None:
    person = patient()
    with pytest.raises(StoreError, match="clinic server"):
        store.save(person)
    draft = SessionNote.model_validate(
        {
            "id": uuid.uuid4(),
            "patient_id": person.id,
            "recorded_at": T0,
            "recorded_by": "c01",
            "status": "draft",
        }
    )
    with pytest.raises(StoreError, match="draft note"):
        store.save(draft)


def test_note_drafts_are_editable_then_signing_freezes_them(store: Store) -> None:
    pid = patient().id
    key = f"note:{pid}"
    store.save_draft(key, {"subjective": "first words"})
    store.save_draft(key, {"subjective": "first words, edited"})
    assert store.load_draft(key) == {"subjective": "first words, edited"}
    assert store.list_drafts() == [key]
    note = device_record("note", pid, text="first words, edited")
    assert isinstance(note, SessionNote)
    store.sign_note(note, draft_key=key)
    assert store.load_draft(key) is None
    stored = store.get("note", note.id)
    assert isinstance(stored, SessionNote) and stored.signature is not None  # the clinician's
    assert stored.model_copy(update={"signature": None}) == note
    with pytest.raises(RecordImmutable):
        store.save(note.model_copy(update={"plan": "changed after signing"}))
    addendum = device_record("addendum", pid, text="a later addition")
    store.save(addendum.model_copy(update={"note_id": note.id}))
    kinds = [r.KIND for r in store.patient_history(pid)]
    assert kinds == ["note", "addendum"]


def test_drafts_list_and_delete(store: Store) -> None:
    for key in ("b", "a", "c"):
        store.save_draft(key, {"n": key})
    assert store.list_drafts() == ["a", "b", "c"]
    assert store.delete_draft("b")
    assert not store.delete_draft("b")
    assert store.list_drafts() == ["a", "c"]
    assert store.load_draft("missing") is None


def test_outbox_is_in_commit_order_with_a_valid_chain(store: Store) -> None:
    rng = random.Random(7)
    records = mixed_device_records(rng, [uuid.uuid4() for _ in range(3)], 25)
    store.save_many(records[:10])
    for record in records[10:]:
        store.save(record)
    items = store.outbox_batch(100)
    assert [i.seq for i in items] == list(range(1, 26))
    assert [i.record_id for i in items] == [r.id for r in records]
    chain = GENESIS_CHAIN_HASH
    for item, record in zip(items, records, strict=True):
        assert item.content_hash == record.content_hash()
        assert item.payload == record.model_dump(mode="json")
        chain = next_chain_hash(chain, item.content_hash)
        assert item.chain_hash == chain
    assert store.chain_head().seq == 25
    assert store.chain_head().chain_hash == chain
    assert store.verify().ok


def test_acknowledge_and_set_aside(store: Store) -> None:
    pid = patient().id
    store.save_many([device_record("status", pid, minutes=i) for i in range(5)])
    store.acknowledge(
        [
            PushOutcome(1, "applied"),
            PushOutcome(2, "duplicate"),
            PushOutcome(3, "conflict", "same id, other content"),
            PushOutcome(4, "rejected", "field out of range"),
        ],
        server_head(store, 4),
    )
    assert [i.seq for i in store.outbox_batch(10)] == [5]
    aside = store.set_aside()
    assert [(a.seq, a.status, a.reason) for a in aside] == [
        (3, "conflict", "same id, other content"),
        (4, "rejected", "field out of range"),
    ]
    status = store.sync_status()
    assert (status.pending, status.set_aside, status.synced) == (1, 2, 2)
    assert store.chain_head().seq == 5  # the head covers every record ever written


def test_server_records_newer_version_wins(store: Store) -> None:
    person = patient(name="Version One")
    assert store.put_server_records([person]) == 1
    newer = person.model_copy(update={"version": 3, "display_name": "Version Three"})
    older = person.model_copy(update={"version": 2, "display_name": "Version Two"})
    assert store.put_server_records([newer]) == 1
    assert store.put_server_records([older]) == 0
    assert store.put_server_records([newer]) == 0
    found = store.patient(person.id)
    assert found is not None and found.display_name == "Version Three"
    assert store.pending_count() == 0  # server records never enter the outbox


def test_pull_page_never_touches_device_records(store: Store) -> None:
    pid = patient().id
    event = device_record("vitals", pid)
    store.save(event)
    store.apply_pull_page([event.model_copy(update={"heart_rate_bpm": 120})], [], "c1")
    assert store.get("vitals", event.id) == event
    assert store.pull_cursor() == "c1"


def test_removal_is_deferred_while_the_patient_has_unpushed_records(store: Store) -> None:
    person = patient()
    their_visit = visit(person.id)
    other = patient(name="Other Person")
    store.put_server_records([person, their_visit, other])
    vitals = device_record("vitals", person.id)
    store.save(vitals)
    store.apply_pull_page(
        [], [("patient", person.id), ("visit", their_visit.id), ("patient", other.id)], "c2"
    )
    assert store.patient(other.id) is None
    assert store.patient(person.id) is not None
    assert store.get("visit", their_visit.id) is not None
    store.acknowledge([PushOutcome(1, "applied")], server_head(store, 1))
    assert store.patient(person.id) is None
    assert store.get("visit", their_visit.id) is None
    assert store.get("vitals", vitals.id) == vitals  # device records stay
    store.reset_pull_cursor()
    assert store.pull_cursor() is None


def test_visits_for_day_in_route_order(store: Store) -> None:
    people = [patient(name=f"Person {i}") for i in range(5)]
    visits = [
        visit(people[0].id, order=3),
        visit(people[1].id, order=1),
        visit(people[2].id, order=None),
        visit(people[3].id, order=2),
        visit(people[4].id, order=1, day=DAY + timedelta(days=1)),
    ]
    store.put_server_records([*people, *visits])
    today = store.visits_for_day(DAY)
    assert [v.route_order for v in today] == [1, 2, 3, None]
    assert [v.id for v in store.visits_for_day(DAY + timedelta(days=1))] == [visits[4].id]
    assert store.visits_for_day(DAY - timedelta(days=1)) == []


def test_patient_history_is_that_patient_only_in_time_order(store: Store) -> None:
    person, other = patient(), patient(name="Someone Else")
    their_visit = visit(person.id, order=0)  # 09:00, before the device records
    store.put_server_records([person, other, their_visit, visit(other.id)])
    late = device_record("vitals", person.id, minutes=30)
    early = device_record("status", person.id, minutes=5)
    store.save_many([late, early, device_record("status", other.id)])
    history = store.patient_history(person.id)
    assert [r.id for r in history] == [person.id, their_visit.id, early.id, late.id]


def test_visit_records_are_that_visit_only_in_time_order(store: Store) -> None:
    person = patient()
    today, earlier = visit(person.id, order=1), visit(person.id, day=DAY - timedelta(days=3))
    store.put_server_records([person, today, earlier])
    late = device_record("vitals", person.id, minutes=30).model_copy(update={"visit_id": today.id})
    early = device_record("status", person.id, minutes=5).model_copy(update={"visit_id": today.id})
    before = device_record("status", person.id).model_copy(update={"visit_id": earlier.id})
    store.save_many([late, early, before])
    assert [r.id for r in store.visit_records(today.id)] == [today.id, early.id, late.id]
    assert [r.id for r in store.visit_records(earlier.id)] == [earlier.id, before.id]


def test_counts_and_info_show_no_patient_data(store: Store) -> None:
    person = patient(name="Info Canary Name")
    store.put_server_records([person, visit(person.id)])
    store.save(device_record("vitals", person.id))
    store.save_draft("d", {"x": 1})
    store.lock()
    info = store.info()  # readable while locked
    assert info.counts == {"patient": 1, "visit": 1, "vitals": 1}
    assert info.drafts == 1 and info.sync.pending == 1
    assert "Info Canary Name" not in repr(info)


def test_device_identity_round_trip_and_token_not_in_repr(store: Store) -> None:
    assert store.device_identity() is None
    identity = DeviceIdentity("https://clinic.example.org", "dev-1", "secret-token-value")
    store.save_device_identity(identity)
    assert store.device_identity() == identity
    assert "secret-token-value" not in repr(identity)


def test_record_sync_status(store: Store) -> None:
    store.record_sync(T0, ok=False)
    assert store.sync_status().last_ok is False
    assert store.sync_status().last_success_at is None
    store.record_sync(T0 + timedelta(minutes=1), ok=True)
    status = store.sync_status()
    assert status.last_ok is True
    assert status.last_success_at == (T0 + timedelta(minutes=1)).isoformat()


def test_dek_rotates_at_the_limit_and_everything_still_reads(store_path) -> None:  # type: ignore[no-untyped-def]
    store = new_store(store_path, _rotate_after=20)
    dek_before = bytes(store._ring._dek)  # type: ignore[union-attr]
    person = patient()
    store.put_server_records([person, visit(person.id, order=0)])
    store.save_device_identity(DeviceIdentity("https://x.example", "d", "t"))
    records = mixed_device_records(random.Random(3), [person.id], 6)
    # An autosaved draft: many encryptions, few rows (the pattern that uses up a key).
    for i, record in enumerate(records * 5):
        if i < len(records):
            store.save(record)
        store.save_draft("draft", {"text": f"kept across rotation {i}"})
    info = store.info()
    assert info.key_generation >= 2
    assert info.encryptions < 20
    assert bytes(store._ring._dek) != dek_before  # type: ignore[union-attr]
    assert [r.id for r in store.patient_history(person.id)][2:] == [r.id for r in records]
    assert store.visits_for_day(DAY)[0].patient_id == person.id
    assert store.load_draft("draft") == {"text": "kept across rotation 29"}
    assert store.list_drafts() == ["draft"]
    assert store.device_identity() is not None
    assert store.verify().ok
    store.close()
    with Store.open(store_path, FAST) as again:
        again.unlock(PASSPHRASE)
        assert len(again.load_all()) == 8 and again.verify().ok
