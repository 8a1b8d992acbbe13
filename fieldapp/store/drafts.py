"""Drafts: editable, encrypted work in progress (a note being written, a half-filled form).

A draft is found by a keyed index of its name, so even the names stay inside ciphertext.
Signing a note writes the immutable `note` record and drops its draft in one commit.
"""

from __future__ import annotations

import json
from typing import Any

from fieldapp.errors import StoreError, StoreTampered
from fieldapp.store import codec
from fieldapp.store.core import guarded
from fieldapp.store.crypto import CryptoFailure, RecordCipher
from fieldapp.store.records import RecordFailure, RecordsMixin
from sync.records import SessionNote

MAX_DRAFT_KEY = 200


def encode_draft(key: str, data: dict[str, Any]) -> bytes:
    """The plaintext of a draft: its name and its data."""
    return json.dumps({"key": key, "data": data}, sort_keys=True, separators=(",", ":")).encode()


def decode_draft(plaintext: bytes) -> tuple[str, dict[str, Any]]:
    """(name, data) of a draft's plaintext."""
    body = json.loads(plaintext)
    return body["key"], body["data"]


class DraftsMixin(RecordsMixin):
    """Saving, loading, listing and deleting drafts, and signing notes."""

    def _draft_ix(self, cipher: RecordCipher, key: str) -> bytes:
        if not key or len(key) > MAX_DRAFT_KEY:
            raise StoreError(f"A draft name needs 1 to {MAX_DRAFT_KEY} characters.")
        return cipher.blind("draft", key)

    @guarded
    def save_draft(self, key: str, data: dict[str, Any]) -> None:
        """Save (or replace) the draft named `key`, encrypted."""
        cipher = self._require_unlocked()
        ix = self._draft_ix(cipher, key)
        try:
            plaintext = encode_draft(key, data)
        except (TypeError, ValueError):
            raise StoreError("A draft must hold only JSON values.") from None
        with self._write() as conn:
            nonce, ct = self._seal(cipher, plaintext, codec.draft_aad(self._store_id, ix))
            conn.execute("INSERT OR REPLACE INTO drafts VALUES (?, ?, ?)", (ix, nonce, ct))

    def _open_draft(
        self, cipher: RecordCipher, ix: bytes, nonce: bytes, ct: bytes
    ) -> tuple[str, dict[str, Any]]:
        if not isinstance(ix, bytes):
            ix = str(ix).encode()
        try:
            return decode_draft(
                self._unseal(cipher, nonce, ct, codec.draft_aad(self._store_id, ix))
            )
        except (CryptoFailure, ValueError, KeyError, TypeError):
            raise StoreTampered(
                f"Draft {ix.hex()[:12]} failed authentication: it was changed, moved or corrupted "
                "on disk, so it is not shown."
            ) from None

    @guarded
    def load_draft(self, key: str) -> dict[str, Any] | None:
        """The draft named `key`, or None."""
        cipher = self._require_unlocked()
        ix = self._draft_ix(cipher, key)
        rows = self._open_db().query("SELECT nonce, ct FROM drafts WHERE key_ix = ?", (ix,))
        if not rows:
            return None
        name, data = self._open_draft(cipher, ix, *rows[0])
        if name != key:
            raise StoreTampered("A draft failed authentication: its name does not match.")
        return data

    @guarded
    def list_drafts(self) -> list[str]:
        """The names of every draft, sorted."""
        cipher = self._require_unlocked()
        rows = self._open_db().query("SELECT key_ix, nonce, ct FROM drafts")
        return sorted(self._open_draft(cipher, *row)[0] for row in rows)

    @guarded
    def delete_draft(self, key: str) -> bool:
        """Delete a draft (its bytes are zeroed by secure_delete); True if there was one."""
        cipher = self._require_unlocked()
        ix = self._draft_ix(cipher, key)
        with self._write() as conn:
            return conn.execute("DELETE FROM drafts WHERE key_ix = ?", (ix,)).rowcount > 0

    @guarded
    def sign_note(self, note: SessionNote, draft_key: str | None = None) -> int:
        """Store a signed note (immutable from now on) and drop its draft, in one commit."""
        cipher = self._require_unlocked()
        if note.status != "signed":
            raise StoreError("Only a signed note is stored as a record; keep drafts as drafts.")
        ix = self._draft_ix(cipher, draft_key) if draft_key is not None else None
        with self._write() as conn:
            (seq,) = self._append(conn, cipher, [note])
            if ix is not None:
                conn.execute("DELETE FROM drafts WHERE key_ix = ?", (ix,))
            return seq

    def _verify_drafts(self, cipher: RecordCipher) -> tuple[int, list[RecordFailure]]:
        ok, failures = 0, []
        for ix, nonce, ct in self._open_db().query("SELECT key_ix, nonce, ct FROM drafts"):
            try:
                self._open_draft(cipher, ix, nonce, ct)
                ok += 1
            except StoreTampered as exc:
                failures.append(RecordFailure("draft", ix.hex()[:12], str(exc)))
        return ok, failures
