"""Plaintext layout of what the store encrypts: padding buckets and associated data.

A record's plaintext is its canonical JSON (the same bytes its content hash covers), padded
to a multiple of 256 bytes so a ciphertext's length says little about what is inside. The
associated data binds each ciphertext to its row, so a blob moved elsewhere fails to open.
"""

from __future__ import annotations

import struct
from typing import Any
from uuid import UUID

from fieldapp.store.crypto import KdfParams

BUCKET_BYTES = 256
_LENGTH = struct.Struct(">I")


class PaddingError(ValueError):
    """A decrypted plaintext does not carry a valid padding (should never happen once authentic)."""


def pad(data: bytes) -> bytes:
    """`data` with a length prefix, zero-filled up to the next bucket."""
    body = _LENGTH.pack(len(data)) + data
    return body + bytes(-len(body) % BUCKET_BYTES)


def unpad(padded: bytes) -> bytes:
    """The data inside `pad`'s output."""
    if len(padded) < _LENGTH.size:
        raise PaddingError("plaintext too short")
    (length,) = _LENGTH.unpack_from(padded)
    end = _LENGTH.size + length
    if end > len(padded):
        raise PaddingError("length prefix beyond the plaintext")
    return padded[_LENGTH.size : end]


def _join(*parts: Any) -> bytes:
    # A separator that cannot occur in ids, kinds or numbers keeps the fields apart.
    return "\x1f".join(str(p) for p in parts).encode()


def record_aad(
    store_id: str, device_id: str, kind: str, record_id: UUID | str, version: int
) -> bytes:
    """Associated data of a record: store, device, kind, id and version."""
    return _join("fieldapp-record-v1", store_id, device_id, kind, record_id, version)


def draft_aad(store_id: str, key_index: bytes) -> bytes:
    """Associated data of a draft row."""
    return _join("fieldapp-draft-v1", store_id, key_index.hex())


def secret_aad(store_id: str, name: str) -> bytes:
    """Associated data of a named secret (the device identity, a set-aside reason)."""
    return _join("fieldapp-secret-v1", store_id, name)


def keyslot_aad(store_id: str, params: KdfParams, salt: bytes, generation: int) -> bytes:
    """Associated data of the wrapped DEK: tampering with the header breaks the unwrap."""
    return _join(
        "fieldapp-keyslot-v1",
        store_id,
        params.memory_kib,
        params.iterations,
        params.lanes,
        salt.hex(),
        generation,
    )


def pin_aad(store_id: str, generation: int) -> bytes:
    """Associated data of the in-memory quick-unlock wrap (store and key generation)."""
    return _join("fieldapp-quick-unlock-v1", store_id, generation)
