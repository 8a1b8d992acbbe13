"""An in-memory `SyncStore` for client tests (the real one is `fieldapp.store.Store`)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sync.manifest import RowProblem, SignedManifest, compare, open_manifest, unlisted
from sync.outbox import (
    GENESIS_CHAIN_HASH,
    ChainHead,
    DeviceIdentity,
    OutboxItem,
    PushOutcome,
    SetAsideItem,
    next_chain_hash,
)
from sync.records import DeviceRecord, Record


class SimulatedCrash(Exception):
    """The device process 'died' here."""


class FakeStore:
    """Outbox, chain, cursor and pulled records in memory; snapshots for rollback tests."""

    def __init__(self) -> None:
        self.identity: DeviceIdentity | None = None
        self.items: dict[int, OutboxItem] = {}
        self.acked: set[int] = set()
        self.aside: dict[int, SetAsideItem] = {}
        self.head = ChainHead(0, GENESIS_CHAIN_HASH)
        self.confirmed = ChainHead(0, GENESIS_CHAIN_HASH)
        self.manifest: SignedManifest | None = None
        self.stale: set[tuple[str, UUID]] = set()
        self.cursor: str | None = None
        self.server_records: dict[tuple[str, UUID], Record] = {}
        self.deferred: list[tuple[str, UUID]] = []
        self.wiped = False
        self.crash_on_ack = False
        self.crash_on_apply_after: int | None = None
        self.syncs: list[bool] = []
        self.pages_applied = 0

    # -- writing ---------------------------------------------------------------------------
    def write(self, record: DeviceRecord) -> OutboxItem:
        """Record a clinical fact, as the real store does."""
        seq = self.head.seq + 1
        chain = next_chain_hash(self.head.chain_hash, record.content_hash())
        item = OutboxItem(
            seq,
            record.KIND,
            record.id,
            record.content_hash(),
            chain,
            record.model_dump(mode="json"),
        )
        self.items[seq] = item
        self.head = ChainHead(seq, chain)
        return item

    def write_raw(self, kind: str, record_id: UUID, payload: dict, content_hash: str) -> OutboxItem:  # type: ignore[type-arg]
        """An item whose payload may be invalid (to test set-aside)."""
        seq = self.head.seq + 1
        chain = next_chain_hash(self.head.chain_hash, content_hash)
        item = OutboxItem(seq, kind, record_id, content_hash, chain, payload)
        self.items[seq] = item
        self.head = ChainHead(seq, chain)
        return item

    def snapshot(self) -> FakeStore:
        """A copy of the whole store, as a backup would be."""
        return copy.deepcopy(self)

    # -- SyncStore -------------------------------------------------------------------------
    def device_identity(self) -> DeviceIdentity | None:
        return self.identity

    def save_device_identity(self, identity: DeviceIdentity) -> None:
        if self.identity is None or self.identity.device_id != identity.device_id:
            self.acked.clear()
            self.aside.clear()
            self.confirmed, self.manifest = ChainHead(0, GENESIS_CHAIN_HASH), None
        self.identity = identity

    def outbox_batch(self, limit: int) -> list[OutboxItem]:
        pending = [s for s in sorted(self.items) if s not in self.acked and s not in self.aside]
        return [self.items[s] for s in pending[:limit]]

    def acknowledge(self, outcomes: Sequence[PushOutcome], server_head: ChainHead) -> int:
        if self.crash_on_ack:
            self.crash_on_ack = False
            raise SimulatedCrash("killed before the acknowledgement was saved")
        for outcome in outcomes:
            item = self.items.get(outcome.seq)
            if item is None:
                continue
            if outcome.status in ("applied", "duplicate"):
                self.acked.add(outcome.seq)
            else:
                self.aside[outcome.seq] = SetAsideItem(
                    outcome.seq, item.kind, item.record_id, outcome.status, outcome.reason or ""
                )
        above = (
            {s for s in (*self.acked, *self.aside) if s > server_head.seq}
            if server_head.seq < self.head.seq
            else set()
        )
        self.acked -= above
        for seq in above:
            self.aside.pop(seq, None)
        self.confirmed = server_head
        return len(above)

    def chain_head(self) -> ChainHead:
        return self.head

    def chain_hash_at(self, seq: int) -> str | None:
        item = self.items.get(seq)
        return item.chain_hash if item is not None else None

    def confirmed_head(self) -> ChainHead:
        return self.confirmed

    def pull_cursor(self) -> str | None:
        return self.cursor

    def apply_pull_page(
        self,
        upserts: Sequence[Record],
        removals: Sequence[tuple[str, UUID]],
        cursor: str,
        manifest: SignedManifest | None = None,
    ) -> list[RowProblem]:
        if self.crash_on_apply_after is not None:
            if self.crash_on_apply_after == 0:
                self.crash_on_apply_after = None
                raise SimulatedCrash("killed mid-pull")
            self.crash_on_apply_after -= 1
        staged = dict(self.server_records)
        for record in upserts:
            key = (record.KIND, record.id)
            old = staged.get(key)
            if (
                old is None
                or key in self.stale
                or getattr(record, "version", 0) >= getattr(old, "version", 0)
            ):
                staged[key] = record
            self.stale.discard(key)
        busy = self._busy_ids()
        deferred = []
        upserted = {(record.KIND, record.id) for record in upserts}
        gone = list(removals)
        opened = None
        if manifest is not None and self.identity is not None:
            opened = open_manifest(
                manifest, self.identity.manifest_key or "", self.identity.device_id
            )
            held = [(kind, str(rid)) for kind, rid in staged]
            gone += [(kind, UUID(rid)) for kind, rid in unlisted(opened, held)]
        for kind, rid in [*(d for d in self.deferred if d not in upserted), *gone]:
            if rid in busy:
                deferred.append((kind, rid))
            else:
                staged.pop((kind, rid), None)
        self.server_records, self.deferred, self.cursor = staged, deferred, cursor
        if manifest is not None:
            self.manifest = manifest
        self.pages_applied += 1
        if opened is None:
            return []
        return compare(opened, self._versions(), exact=True)

    def _busy_ids(self) -> set[UUID]:
        busy: set[UUID] = set()
        for seq, item in self.items.items():
            if seq not in self.acked and seq not in self.aside:
                for key in ("patient_id", "visit_id"):
                    if item.payload.get(key):
                        busy.add(UUID(item.payload[key]))
        return busy

    def reset_pull_cursor(self) -> None:
        self.cursor = None

    def manifest_problems(self, exact: bool) -> list[RowProblem]:
        if self.manifest is None or self.identity is None:
            return []
        opened = open_manifest(
            self.manifest, self.identity.manifest_key or "", self.identity.device_id
        )
        return compare(opened, self._versions(), exact=exact)

    def _versions(self) -> dict[tuple[str, str], int]:
        return {
            (kind, str(rid)): getattr(record, "version", 1)
            for (kind, rid), record in self.server_records.items()
        }

    def refetch(self, problems: Sequence[RowProblem]) -> None:
        self.stale |= {(p.kind, UUID(p.record_id)) for p in problems if p.held is not None}
        self.cursor = None

    def set_aside(self) -> list[SetAsideItem]:
        return [self.aside[s] for s in sorted(self.aside)]

    def pending_count(self) -> int:
        return len([s for s in self.items if s not in self.acked and s not in self.aside])

    def record_sync(self, at: datetime, ok: bool) -> None:
        self.syncs.append(ok)

    def wipe(self) -> None:
        self.wiped = True
        self.items.clear()
        self.server_records.clear()
        self.identity = None
        self.cursor = None

    # -- test helpers ----------------------------------------------------------------------
    def of_kind(self, kind: str) -> dict[UUID, Record]:
        """Pulled records of one kind by id."""
        return {rid: rec for (k, rid), rec in self.server_records.items() if k == kind}
