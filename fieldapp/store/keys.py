"""The key header: the wrapped DEK with the Argon2id parameters and salt stored beside it."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from fieldapp.errors import StoreTampered, StoreWiped
from fieldapp.store.crypto import SALT_BYTES, KdfParams, wipe_bytes
from fieldapp.store.db import Database


@dataclass(frozen=True)
class KeyHeader:
    """Everything needed, besides the passphrase, to unwrap the DEK."""

    params: KdfParams
    salt: bytes
    nonce: bytes
    wrapped: bytes
    generation: int
    encryptions: int


def read_header(db: Database) -> KeyHeader:
    """The stored header, refusing one weaker than the OWASP floor."""
    rows = db.query(
        "SELECT kdf_memory_kib, kdf_iterations, kdf_lanes, salt, nonce, wrapped, generation,"
        " encryptions FROM keyslot WHERE slot = 1"
    )
    if not rows:
        raise StoreWiped(f"The store at {db.path} has no key: it was wiped and cannot be opened.")
    m, t, p, salt, nonce, wrapped, generation, encryptions = rows[0]
    header = KeyHeader(KdfParams(m, t, p), salt, nonce, wrapped, generation, encryptions)
    if not header.params.meets_floor() or len(salt) != SALT_BYTES:
        raise StoreTampered(
            f"The key header of {db.path} is weaker than the minimum allowed (Argon2id m=19 MiB, "
            "t=2, p=1, 16-byte salt): it was tampered with, so it is refused."
        )
    return header


def write_header(conn: sqlite3.Connection, header: KeyHeader) -> None:
    """Insert or replace the header inside the caller's transaction."""
    conn.execute(
        "INSERT INTO keyslot VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (slot) DO UPDATE SET"
        " kdf_memory_kib = excluded.kdf_memory_kib, kdf_iterations = excluded.kdf_iterations,"
        " kdf_lanes = excluded.kdf_lanes, salt = excluded.salt, nonce = excluded.nonce,"
        " wrapped = excluded.wrapped, generation = excluded.generation,"
        " encryptions = excluded.encryptions",
        (
            header.params.memory_kib,
            header.params.iterations,
            header.params.lanes,
            header.salt,
            header.nonce,
            header.wrapped,
            header.generation,
            header.encryptions,
        ),
    )


def add_encryptions(conn: sqlite3.Connection, count: int) -> None:
    """Count encryptions under the current DEK, inside the caller's transaction."""
    conn.execute("UPDATE keyslot SET encryptions = encryptions + ? WHERE slot = 1", (count,))


def destroy_header(db: Database) -> None:
    """Crypto-erase: overwrite the wrapped DEK and its salt in place, then delete the row."""
    rows = db.query("SELECT length(salt), length(nonce), length(wrapped) FROM keyslot")
    with db.transaction() as conn:
        for salt_len, nonce_len, wrapped_len in rows:
            conn.execute(
                "UPDATE keyslot SET salt = ?, nonce = ?, wrapped = ?",
                (wipe_bytes(salt_len), wipe_bytes(nonce_len), wipe_bytes(wrapped_len)),
            )
    db.checkpoint()
    with db.transaction() as conn:
        conn.execute("DELETE FROM keyslot")
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('wiped', '1')")
    db.checkpoint()
