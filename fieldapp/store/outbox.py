"""The store's side of sync (the `SyncStore` protocol of SYNC-INTERFACE.md).

The outbox is the device records' sequence: every saved device record has one entry,
written in the same commit, chained by hash. Entries are never deleted: an acknowledged
one is marked `synced`, a refused one is set aside with its reason (encrypted), so the
chain head always covers every device record ever written.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from fieldapp.errors import StoreTampered
from fieldapp.store import codec
from fieldapp.store.core import guarded
from fieldapp.store.crypto import CryptoFailure, RecordCipher
from fieldapp.store.drafts import DraftsMixin
from sync.outbox import (
    GENESIS_CHAIN_HASH,
    ChainHead,
    DeviceIdentity,
    OutboxItem,
    PushOutcome,
    SetAsideItem,
)
from sync.records import SERVER_KINDS, Record

_IDENTITY = "device_identity"


@dataclass(frozen=True)
class SyncStatus:
    """Readable sync state for a status line: no patient data."""

    pending: int
    set_aside: int
    synced: int
    last_attempt_at: str | None
    last_success_at: str | None
    last_ok: bool | None


class OutboxMixin(DraftsMixin):
    """Outbox, pull cursor, device identity and sync status."""

    # -- secrets -----------------------------------------------------------------------

    def _put_secret(
        self, conn: sqlite3.Connection, cipher: RecordCipher, name: str, value: bytes
    ) -> None:
        nonce, ct = self._seal(cipher, value, codec.secret_aad(self._store_id, name))
        conn.execute("INSERT OR REPLACE INTO secrets VALUES (?, ?, ?)", (name, nonce, ct))

    def _get_secret(self, cipher: RecordCipher, name: str) -> bytes | None:
        rows = self._open_db().query("SELECT nonce, ct FROM secrets WHERE name = ?", (name,))
        if not rows:
            return None
        try:
            nonce, ct = rows[0]
            return self._unseal(cipher, nonce, ct, codec.secret_aad(self._store_id, name))
        except (CryptoFailure, ValueError):
            raise StoreTampered(f"The stored {name} failed authentication.") from None

    @guarded
    def device_identity(self) -> DeviceIdentity | None:
        """The enrolled device's server, id and token, or None before enrollment."""
        raw = self._get_secret(self._require_unlocked(), _IDENTITY)
        return DeviceIdentity(**json.loads(raw)) if raw is not None else None

    @guarded
    def save_device_identity(self, identity: DeviceIdentity) -> None:
        """Keep the enrollment (with its token) inside the encrypted store."""
        cipher = self._require_unlocked()
        body = json.dumps(
            {
                "server_url": identity.server_url,
                "device_id": identity.device_id,
                "token": identity.token,
                "user": identity.user,
            }
        ).encode()
        with self._write() as conn:
            self._put_secret(conn, cipher, _IDENTITY, body)

    # -- outbox ------------------------------------------------------------------------

    @guarded
    def outbox_batch(self, limit: int) -> list[OutboxItem]:
        """Unacknowledged entries in seq order (set-aside ones excluded)."""
        cipher = self._require_unlocked()
        rows = self._open_db().query(
            "SELECT o.seq, o.kind, o.record_id, o.chain_hash, r.version, r.nonce, r.ct"
            " FROM outbox o JOIN records r ON r.kind = o.kind AND r.id = o.record_id"
            " WHERE o.state = 'pending' ORDER BY o.seq LIMIT ?",
            (limit,),
        )
        items = []
        for seq, kind, rid, chain_hash, version, nonce, ct in rows:
            try:
                plaintext = self._unseal(cipher, nonce, ct, self._record_aad(kind, rid, version))
            except (CryptoFailure, ValueError):
                raise StoreTampered(
                    f"Record {kind} {rid} failed authentication: it was changed, moved or "
                    "corrupted on disk, so it is not sent."
                ) from None
            items.append(
                OutboxItem(
                    seq=seq,
                    kind=kind,
                    record_id=UUID(rid),
                    content_hash=hashlib.sha256(plaintext).hexdigest(),
                    chain_hash=chain_hash,
                    payload=json.loads(plaintext),
                )
            )
        return items

    @guarded
    def acknowledge(self, outcomes: Sequence[PushOutcome]) -> None:
        """Applied/duplicate leave the queue; conflict/rejected are set aside with a reason."""
        cipher = self._require_unlocked()
        with self._write() as conn:
            for outcome in outcomes:
                if outcome.status in ("applied", "duplicate"):
                    conn.execute(
                        "UPDATE outbox SET state = 'synced' WHERE seq = ? AND state = 'pending'",
                        (outcome.seq,),
                    )
                    continue
                changed = conn.execute(
                    "UPDATE outbox SET state = ? WHERE seq = ? AND state = 'pending'",
                    (outcome.status, outcome.seq),
                ).rowcount
                if changed:
                    reason = (outcome.reason or "no reason given").encode()
                    self._put_secret(conn, cipher, f"reason:{outcome.seq}", reason)
            self._retry_removals(conn)

    @guarded
    def chain_head(self) -> ChainHead:
        """Newest seq and chain hash over every device record ever written."""
        rows = self._open_db().query("SELECT seq, chain_hash FROM outbox ORDER BY seq DESC LIMIT 1")
        return ChainHead(rows[0][0], rows[0][1]) if rows else ChainHead(0, GENESIS_CHAIN_HASH)

    @guarded
    def set_aside(self) -> list[SetAsideItem]:
        """Entries the server refused or found in conflict, kept for review."""
        cipher = self._require_unlocked()
        rows = self._open_db().query(
            "SELECT seq, kind, record_id, state FROM outbox"
            " WHERE state IN ('conflict', 'rejected') ORDER BY seq"
        )
        items = []
        for seq, kind, rid, state in rows:
            reason = self._get_secret(cipher, f"reason:{seq}") or b"no reason given"
            items.append(SetAsideItem(seq, kind, UUID(rid), state, reason.decode()))
        return items

    @guarded
    def pending_count(self) -> int:
        """Entries still waiting to be pushed (readable: no key needed)."""
        return int(
            self._open_db().query("SELECT count(*) FROM outbox WHERE state = 'pending'")[0][0]
        )

    # -- pull --------------------------------------------------------------------------

    def _sync_value(self, key: str) -> str | None:
        rows = self._open_db().query("SELECT value FROM sync_state WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    @guarded
    def pull_cursor(self) -> str | None:
        """Where the last pull ended, or None to pull everything."""
        return self._sync_value("pull_cursor")

    @guarded
    def reset_pull_cursor(self) -> None:
        """Forget the pull cursor (the outbox is kept)."""
        with self._write() as conn:
            conn.execute("DELETE FROM sync_state WHERE key = 'pull_cursor'")

    @guarded
    def apply_pull_page(
        self,
        upserts: Sequence[Record],
        removals: Sequence[tuple[str, UUID]],
        cursor: str,
    ) -> None:
        """One commit: newer server records, removals (deferred while unpushed), the cursor."""
        cipher = self._require_unlocked()
        with self._write() as conn:
            for record in upserts:
                self._upsert_server(conn, cipher, record)
            for kind, record_id in removals:
                if kind in SERVER_KINDS:
                    conn.execute(
                        "INSERT OR IGNORE INTO deferred_removals VALUES (?, ?)",
                        (kind, str(record_id)),
                    )
            self._retry_removals(conn)
            conn.execute("INSERT OR REPLACE INTO sync_state VALUES ('pull_cursor', ?)", (cursor,))

    @staticmethod
    def _retry_removals(conn: sqlite3.Connection) -> None:
        """Remove records that left scope, unless their patient still has unpushed records."""
        conn.execute(
            "DELETE FROM records WHERE owner = 'server' AND (kind, id) IN ("
            "  SELECT d.kind, d.id FROM deferred_removals d"
            "  JOIN records r ON r.kind = d.kind AND r.id = d.id"
            "  WHERE r.patient_ix IS NULL OR NOT EXISTS ("
            "    SELECT 1 FROM outbox o JOIN records p ON p.kind = o.kind AND p.id = o.record_id"
            "    WHERE o.state = 'pending' AND p.patient_ix = r.patient_ix))"
        )
        conn.execute(
            "DELETE FROM deferred_removals WHERE NOT EXISTS ("
            " SELECT 1 FROM records r WHERE r.kind = deferred_removals.kind"
            " AND r.id = deferred_removals.id)"
        )

    # -- status ------------------------------------------------------------------------

    @guarded
    def record_sync(self, at: datetime, ok: bool) -> None:
        """Note a sync attempt (and success), for the status line."""
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO sync_state VALUES ('last_attempt_at', ?)", (at.isoformat(),)
            )
            conn.execute(
                "INSERT OR REPLACE INTO sync_state VALUES ('last_ok', ?)", ("1" if ok else "0",)
            )
            if ok:
                conn.execute(
                    "INSERT OR REPLACE INTO sync_state VALUES ('last_success_at', ?)",
                    (at.isoformat(),),
                )

    @guarded
    def sync_status(self) -> SyncStatus:
        """Pending, set aside, synced, and the last sync (readable: no key needed)."""
        states = dict(self._open_db().query("SELECT state, count(*) FROM outbox GROUP BY state"))
        last_ok = self._sync_value("last_ok")
        return SyncStatus(
            pending=states.get("pending", 0),
            set_aside=states.get("conflict", 0) + states.get("rejected", 0),
            synced=states.get("synced", 0),
            last_attempt_at=self._sync_value("last_attempt_at"),
            last_success_at=self._sync_value("last_success_at"),
            last_ok=None if last_ok is None else last_ok == "1",
        )
