"""Changed or moved ciphertexts are reported, never returned (SECURITY.md 5, 6)."""

from __future__ import annotations

import random
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.errors import StoreTampered
from fieldapp.store import Store
from sync.records import Record
from tests.store.factory import FakeClock, mixed_device_records, new_store, patient, visit

TAG_BYTES = 16


@dataclass
class Tamper:
    """One open store, its records, and a second connection that edits the file directly."""

    store: Store
    conn: sqlite3.Connection
    records: list[Record]
    rows: list[tuple[str, str, bytes, bytes]]

    def set_row(self, kind: str, rid: str, column: str, value: object) -> None:
        self.conn.execute(
            f"UPDATE records SET {column} = ? WHERE kind = ? AND id = ?", (value, kind, rid)
        )


@pytest.fixture(scope="module")
def tamper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tamper]:
    path: Path = tmp_path_factory.mktemp("tamper") / "t.store"
    store = new_store(path, FakeClock())
    people = [patient(name=f"Tamper Person {i}") for i in range(3)]
    visits = [visit(p.id, order=i) for i, p in enumerate(people)]
    store.put_server_records([*people, *visits])
    device = mixed_device_records(random.Random(11), [p.id for p in people], 14)
    store.save_many(device)
    conn = sqlite3.connect(path, isolation_level=None)
    # Only the test's edits are unsynchronised: fast, and the store still reads them.
    conn.execute("PRAGMA synchronous=OFF")
    rows = conn.execute("SELECT kind, id, nonce, ct FROM records ORDER BY rowid").fetchall()
    yield Tamper(store, conn, [*people, *visits, *device], rows)
    conn.close()
    store.close()


def _by_id(tamper: Tamper) -> dict[str, Record]:
    return {str(r.id): r for r in tamper.records}


@settings(
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_any_flipped_byte_is_reported_for_that_record_only(
    tamper: Tamper, data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(tamper.rows) - 1), label="row")
    kind, rid, nonce, ct = tamper.rows[index]
    part = data.draw(st.sampled_from(["nonce", "ciphertext", "tag"]), label="part")
    if part == "nonce":
        column, blob, position = "nonce", nonce, data.draw(st.integers(0, len(nonce) - 1))
    elif part == "tag":
        column, blob = "ct", ct
        position = data.draw(st.integers(len(ct) - TAG_BYTES, len(ct) - 1))
    else:
        column, blob = "ct", ct
        position = data.draw(st.integers(0, len(ct) - TAG_BYTES - 1))
    flip = data.draw(st.integers(1, 255), label="xor")
    changed = bytearray(blob)
    changed[position] ^= flip
    tamper.set_row(kind, rid, column, bytes(changed))
    try:
        with pytest.raises(StoreTampered) as caught:
            tamper.store.get(kind, rid)
        assert f"{kind} {rid}" in str(caught.value)
        other_kind, other_id, _, _ = tamper.rows[(index + 1) % len(tamper.rows)]
        assert tamper.store.get(other_kind, other_id) == _by_id(tamper)[other_id]
    finally:
        tamper.set_row(kind, rid, column, blob)
    assert tamper.store.get(kind, rid) == _by_id(tamper)[rid]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_truncated_or_extended_ciphertext_is_reported(tamper: Tamper, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(tamper.rows) - 1))
    kind, rid, _, ct = tamper.rows[index]
    cut = data.draw(st.integers(0, len(ct) - 1))
    extra = data.draw(st.binary(min_size=1, max_size=32))
    for value in (ct[:cut], ct + extra):
        tamper.set_row(kind, rid, "ct", value)
        try:
            with pytest.raises(StoreTampered):
                tamper.store.get(kind, rid)
        finally:
            tamper.set_row(kind, rid, "ct", ct)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_ciphertext_moved_to_another_row_is_reported(tamper: Tamper, data: st.DataObject) -> None:
    source = data.draw(st.integers(0, len(tamper.rows) - 1))
    target = data.draw(st.integers(0, len(tamper.rows) - 1).filter(lambda t: t != source))
    _, _, nonce, ct = tamper.rows[source]
    kind, rid, old_nonce, old_ct = tamper.rows[target]
    tamper.conn.execute(
        "UPDATE records SET nonce = ?, ct = ? WHERE kind = ? AND id = ?", (nonce, ct, kind, rid)
    )
    try:
        with pytest.raises(StoreTampered):
            tamper.store.get(kind, rid)
    finally:
        tamper.conn.execute(
            "UPDATE records SET nonce = ?, ct = ? WHERE kind = ? AND id = ?",
            (old_nonce, old_ct, kind, rid),
        )


def test_changed_readable_columns_are_reported(tamper: Tamper) -> None:
    kind, rid, _, _ = next(r for r in tamper.rows if r[0] == "visit")
    tamper.set_row(kind, rid, "version", 2)
    try:
        with pytest.raises(StoreTampered):
            tamper.store.get(kind, rid)
    finally:
        tamper.set_row(kind, rid, "version", 1)
    device_kind, device_id, _, _ = tamper.rows[-1]
    new_id = str(uuid.uuid4())
    tamper.set_row(device_kind, device_id, "id", new_id)  # a record re-labelled as another
    try:
        with pytest.raises(StoreTampered):
            tamper.store.get(device_kind, new_id)
    finally:
        tamper.set_row(device_kind, new_id, "id", device_id)


@pytest.mark.parametrize(
    ("column", "sql_value"),
    [
        ("ct", "CAST(ct AS TEXT)"),  # the same bytes as a text value
        ("ct", "substr(ct, 2) || x'00'"),  # a text value that is not even UTF-8
        ("nonce", "42"),
    ],
)
def test_ciphertext_of_another_type_is_reported(
    tamper: Tamper, column: str, sql_value: str
) -> None:
    kind, rid, nonce, ct = tamper.rows[2]
    tamper.conn.execute(
        f"UPDATE records SET {column} = {sql_value} WHERE kind = ? AND id = ?", (kind, rid)
    )
    try:
        with pytest.raises(StoreTampered):
            tamper.store.get(kind, rid)
    finally:
        tamper.conn.execute(
            "UPDATE records SET nonce = ?, ct = ? WHERE kind = ? AND id = ?", (nonce, ct, kind, rid)
        )


def test_verify_names_each_bad_record_and_the_rest_read(tamper: Tamper) -> None:
    bad = [tamper.rows[1], tamper.rows[-2]]
    for kind, rid, _, ct in bad:
        tamper.set_row(kind, rid, "ct", bytes([ct[0] ^ 1]) + ct[1:])
    try:
        report = tamper.store.verify()
        assert sorted((f.kind, f.record_id) for f in report.failures) == sorted(
            (k, r) for k, r, _, _ in bad
        )
        assert report.records_ok == len(tamper.rows) - 2
        assert not report.ok
    finally:
        for kind, rid, _, ct in bad:
            tamper.set_row(kind, rid, "ct", ct)
    assert tamper.store.verify().ok


def test_draft_moved_to_another_draft_is_reported(store: Store, store_path: Path) -> None:
    store.save_draft("first", {"text": "one"})
    store.save_draft("second", {"text": "two"})
    with sqlite3.connect(store_path, isolation_level=None) as conn:
        rows = conn.execute("SELECT key_ix, nonce, ct FROM drafts").fetchall()
        (_, nonce_a, ct_a), (ix_b, _, _) = rows
        conn.execute("UPDATE drafts SET nonce = ?, ct = ? WHERE key_ix = ?", (nonce_a, ct_a, ix_b))
    conn.close()
    with pytest.raises(StoreTampered):
        store.list_drafts()


def test_record_copied_into_another_store_is_reported(tmp_path: Path) -> None:
    one = new_store(tmp_path / "one.store")
    two = new_store(tmp_path / "two.store")
    person = patient()
    one.put_server_records([person])
    two.put_server_records([person.model_copy(update={"display_name": "Decoy"})])
    with sqlite3.connect(tmp_path / "one.store") as src:
        nonce, ct = src.execute("SELECT nonce, ct FROM records").fetchone()
    src.close()
    with sqlite3.connect(tmp_path / "two.store", isolation_level=None) as dst:
        dst.execute("UPDATE records SET nonce = ?, ct = ?", (nonce, ct))
    dst.close()
    with pytest.raises(StoreTampered):
        two.patient(person.id)
    one.close()
    two.close()
