"""Records the clinic purged past their retention: dropped from the laptop, chain kept.

When a pull reports a device record removed (the server purged it), its row keeps only a
tombstone: version 0, no blind index, and a ciphertext holding just the content hash of
what it was (`{"purged": "<sha256>"}`, bound to the row like any record). The patient data
is gone (SQLite overwrites freed pages: `secure_delete`), while the outbox chain, which
covers every record the device ever wrote, still verifies. Readers skip version 0.

Only a record the server acknowledged is dropped; one still waiting to be pushed (its
acknowledgement lost) is dropped at a later pull, once the server has answered for it.

A tombstone's entry can be queued again (enrolled again as a new device, or a server
restored from an older copy confirms less): it then goes as a purge marker, with no
payload and the content hash kept here, so the server's chain check still holds and the
server stores nothing (`outbox.outbox_batch`, `sync.server.push`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import TYPE_CHECKING

from fieldapp.errors import StoreTampered
from fieldapp.store.crypto import CryptoFailure, RecordCipher

if TYPE_CHECKING:
    from fieldapp.store.core import StoreCore

TOMBSTONE_VERSION = 0
LIVE = "version > 0"

_PURGED_AND_SYNCED = (
    "SELECT d.kind, d.id, r.version, r.nonce, r.ct FROM deferred_removals d"
    " JOIN records r ON r.kind = d.kind AND r.id = d.id AND r.owner = 'device'"
    " JOIN outbox o ON o.kind = d.kind AND o.record_id = d.id AND o.state = 'synced'"
)


def drop_purged(core: StoreCore, conn: sqlite3.Connection, cipher: RecordCipher) -> int:
    """Tombstone every synced device record the server reported purged; returns how many."""
    rows = conn.execute(_PURGED_AND_SYNCED).fetchall()
    for kind, rid, version, nonce, ct in rows:
        if version != TOMBSTONE_VERSION:
            content_hash = hashlib.sha256(_plaintext(core, cipher, kind, rid, version, nonce, ct))
            tombstone = json.dumps({"purged": content_hash.hexdigest()}).encode()
            aad = core._record_aad(kind, rid, TOMBSTONE_VERSION)
            new_nonce, new_ct = core._seal(cipher, tombstone, aad)
            conn.execute(
                "UPDATE records SET version = ?, patient_ix = NULL, day_ix = NULL,"
                " visit_ix = NULL, nonce = ?, ct = ? WHERE kind = ? AND id = ?",
                (TOMBSTONE_VERSION, new_nonce, new_ct, kind, rid),
            )
        conn.execute("DELETE FROM deferred_removals WHERE kind = ? AND id = ?", (kind, rid))
    return len(rows)


def _plaintext(
    core: StoreCore,
    cipher: RecordCipher,
    kind: str,
    rid: str,
    version: int,
    nonce: bytes,
    ct: bytes,
) -> bytes:
    try:
        return core._unseal(cipher, nonce, ct, core._record_aad(kind, rid, version))
    except (CryptoFailure, ValueError):
        raise StoreTampered(
            f"Record {kind} {rid} failed authentication: it was changed, moved or corrupted "
            "on disk."
        ) from None


def tombstone_hash(
    core: StoreCore, cipher: RecordCipher, kind: str, rid: str, nonce: bytes, ct: bytes
) -> str:
    """The content hash a tombstone keeps (for the chain check)."""
    body = _plaintext(core, cipher, kind, rid, TOMBSTONE_VERSION, nonce, ct)
    return str(json.loads(body)["purged"])
