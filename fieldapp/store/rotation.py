"""DEK rotation: before one key has sealed 2^30 messages, re-encrypt everything under a new one.

One transaction re-encrypts every record, draft and secret, recomputes the blind indexes
(their key derives from the DEK) and stores the new wrapped DEK: a crash leaves either the
old key with the old ciphertexts or the new key with the new ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fieldapp.store import codec, keys
from fieldapp.store.crypto import KeyRing
from fieldapp.store.drafts import decode_draft
from fieldapp.store.purged import TOMBSTONE_VERSION

if TYPE_CHECKING:
    from fieldapp.store.core import StoreCore


def rotate(core: StoreCore, ring: KeyRing) -> tuple[KeyRing, keys.KeyHeader]:
    """Re-encrypt the store under a fresh DEK; returns the new keys and header."""
    db = core._open_db()
    old = ring.cipher
    new_ring = ring.rotated()
    new = new_ring.cipher
    header = keys.read_header(db)
    generation = header.generation + 1
    sealed = 0
    try:
        with db.transaction() as conn:
            rows = conn.execute("SELECT kind, id, version, nonce, ct FROM records").fetchall()
            for kind, rid, version, nonce, ct in rows:
                aad = core._record_aad(kind, rid, version)
                if version == TOMBSTONE_VERSION:  # a purged record: its hash, no index
                    new_nonce, new_ct = new.seal(codec.pad(core._unseal(old, nonce, ct, aad)), aad)
                    conn.execute(
                        "UPDATE records SET nonce = ?, ct = ? WHERE kind = ? AND id = ?",
                        (new_nonce, new_ct, kind, rid),
                    )
                    sealed += 1
                    continue
                record = core._open_record(old, kind, rid, version, nonce, ct)
                new_nonce, new_ct = new.seal(codec.pad(record.canonical_json()), aad)
                patient_ix, day_ix, visit_ix = core._blind_indexes(new, record)
                conn.execute(
                    "UPDATE records SET nonce = ?, ct = ?, patient_ix = ?, day_ix = ?,"
                    " visit_ix = ? WHERE kind = ? AND id = ?",
                    (new_nonce, new_ct, patient_ix, day_ix, visit_ix, kind, rid),
                )
                sealed += 1
            drafts = conn.execute("SELECT key_ix, nonce, ct FROM drafts").fetchall()
            conn.execute("DELETE FROM drafts")
            for ix, nonce, ct in drafts:
                plaintext = core._unseal(old, nonce, ct, codec.draft_aad(core._store_id, ix))
                name, _ = decode_draft(plaintext)
                new_ix = new.blind("draft", name)
                sealed_draft = new.seal(
                    codec.pad(plaintext), codec.draft_aad(core._store_id, new_ix)
                )
                conn.execute("INSERT INTO drafts VALUES (?, ?, ?)", (new_ix, *sealed_draft))
                sealed += 1
            for name, nonce, ct in conn.execute("SELECT name, nonce, ct FROM secrets").fetchall():
                aad = codec.secret_aad(core._store_id, name)
                plaintext = core._unseal(old, nonce, ct, aad)
                new_nonce, new_ct = new.seal(codec.pad(plaintext), aad)
                conn.execute(
                    "UPDATE secrets SET nonce = ?, ct = ? WHERE name = ?", (new_nonce, new_ct, name)
                )
                sealed += 1
            wrap_aad = codec.keyslot_aad(core._store_id, header.params, header.salt, generation)
            wrap_nonce, wrapped = new_ring.wrap(wrap_aad)
            new_header = keys.KeyHeader(
                header.params, header.salt, wrap_nonce, wrapped, generation, sealed
            )
            keys.write_header(conn, new_header)
    except BaseException:
        new_ring.destroy()
        raise
    # The old wrapped DEK and old ciphertexts must not linger in the WAL.
    db.checkpoint()
    return new_ring, new_header
