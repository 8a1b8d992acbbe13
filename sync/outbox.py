"""The small shapes the device store and the sync client share (see SYNC-INTERFACE.md).

The store (`fieldapp.store`) produces and consumes these; the sync client (`sync.client`)
declares a `SyncStore` protocol over them. This module imports only the stdlib, so both
sides depend on one definition without `sync` ever importing `fieldapp`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

GENESIS_CHAIN_HASH = "0" * 64

PushStatus = Literal["applied", "duplicate", "conflict", "rejected"]


def next_chain_hash(prev_chain_hash: str, content_hash: str) -> str:
    """The chain hash of a record: sha256 over the previous chain hash and its content hash."""
    return hashlib.sha256((prev_chain_hash + content_hash).encode()).hexdigest()


@dataclass(frozen=True)
class OutboxItem:
    """One device record waiting to be pushed, in commit order."""

    seq: int
    kind: str
    record_id: UUID
    content_hash: str
    chain_hash: str
    payload: dict[str, Any]
    # The clinic purged this record and the laptop keeps only its content hash (a tombstone):
    # it goes with no payload, so the server keeps its place in the chain and stores nothing.
    purged: bool = False


@dataclass(frozen=True)
class ChainHead:
    """The newest sequence number and chain hash over every device record ever written."""

    seq: int = 0
    chain_hash: str = GENESIS_CHAIN_HASH


def head_body(head: ChainHead, confirmed: ChainHead | None = None) -> dict[str, Any]:
    """The `head` of a push or pull: the device's chain head, and the newest seq the server
    confirmed holding (so a server restored from a backup sees that it lost some)."""
    body: dict[str, Any] = {"seq": head.seq, "chain_hash": head.chain_hash}
    if confirmed is not None:
        body["confirmed"] = confirmed.seq
    return body


def push_body(
    head: ChainHead,
    items: Iterable[OutboxItem],
    confirmed: ChainHead | None = None,
    *,
    withheld: bool = False,
) -> dict[str, Any]:
    """The body of `POST /sync/push`: the device's chain head and its items, as sent.

    `withheld`: the items' records are too large to send; they go without their payload,
    so the server keeps their place in the chain and sets them aside for review. A purged
    item always goes without one (`withheld: purged`).
    """
    body_items = []
    for item in items:
        one: dict[str, Any] = {
            "seq": item.seq,
            "kind": item.kind,
            "record_id": str(item.record_id),
            "content_hash": item.content_hash,
            "chain_hash": item.chain_hash,
            "payload": {} if withheld or item.purged else item.payload,
        }
        if item.purged:
            one["withheld"] = "purged"
        elif withheld:
            one["withheld"] = "too_large"
        body_items.append(one)
    return {"head": head_body(head, confirmed), "items": body_items}


@dataclass(frozen=True)
class PushOutcome:
    """What the server did with one pushed outbox item."""

    seq: int
    status: PushStatus
    reason: str | None = None


@dataclass(frozen=True)
class DeviceIdentity:
    """The enrolled device: server, id and token (kept only inside the encrypted store),
    and the clinician it was enrolled for (None for an enrolment older than this field)."""

    server_url: str
    device_id: str
    token: str
    manifest_key: str | None = None  # the server's manifest-signing public key (base64)
    user: str | None = None

    def __repr__(self) -> str:
        # The token is a credential: never in logs or tracebacks.
        return (
            f"DeviceIdentity(server_url={self.server_url!r}, device_id={self.device_id!r}, "
            f"user={self.user!r})"
        )


@dataclass(frozen=True)
class SetAsideItem:
    """An outbox item the server refused or found in conflict, kept for review."""

    seq: int
    kind: str
    record_id: UUID
    status: PushStatus
    reason: str


@dataclass(frozen=True)
class DuressCredential:
    """Where to send a duress signal and the credential to send it with."""

    server_url: str
    device_id: str
    token: str

    def __repr__(self) -> str:
        # A credential: never in logs or tracebacks.
        return f"DuressCredential(server_url={self.server_url!r}, device_id={self.device_id!r})"


@dataclass(frozen=True)
class DuressSignal:
    """One press of the duress key: an id and when."""

    id: UUID
    at: datetime
