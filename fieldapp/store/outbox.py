"""The store's side of sync (the `SyncStore` protocol of `sync.client`).

The outbox is the device records' sequence: every saved device record has one entry,
written in the same commit, chained by hash. Entries are never deleted: an acknowledged
one is marked `synced`, a refused one is set aside with its reason (encrypted), so the
chain head always covers every device record ever written.

An entry's state is readable (the queue needs it without the key), so it is checked against
what the server confirmed: every push answer carries the server's head for this laptop (its
newest seq with none missing below), kept encrypted as the confirmed head. An entry marked
handed in above that head was never confirmed: `verify` reports it, and the next answer
queues it again (as it does everything above a head that went back: a server restored from
a backup).
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
from fieldapp.store.db import Database
from fieldapp.store.drafts import DraftsMixin
from fieldapp.store.purged import TOMBSTONE_VERSION, tombstone_hash
from sync.outbox import (
    GENESIS_CHAIN_HASH,
    ChainHead,
    DeviceIdentity,
    OutboxItem,
    PushOutcome,
    SetAsideItem,
)

_IDENTITY = "device_identity"
MANIFEST_NAME = "manifest"  # the name of the secret row holding the clinic's manifest
_SERVER_HEAD = "server_head"
_SETTLED = ("synced", "conflict", "rejected")


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

    _sync_status_kept: tuple[Database, tuple[int, int], SyncStatus] | None = None

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
        """Keep the enrollment (with its token) inside the encrypted store.

        A new device id (enrolled again) has been sent nothing: every entry is queued again.
        """
        cipher = self._require_unlocked()
        body = json.dumps(
            {
                "server_url": identity.server_url,
                "device_id": identity.device_id,
                "token": identity.token,
                "manifest_key": identity.manifest_key,
                "user": identity.user,
            }
        ).encode()
        before = self._get_secret(cipher, _IDENTITY)
        with self._write() as conn:
            if before is None or json.loads(before)["device_id"] != identity.device_id:
                self._requeue_above(conn, 0)
                self._confirm(conn, cipher, ChainHead(0, GENESIS_CHAIN_HASH))
                conn.execute("DELETE FROM secrets WHERE name = ?", (MANIFEST_NAME,))
            self._put_secret(conn, cipher, _IDENTITY, body)

    # -- outbox ------------------------------------------------------------------------

    @guarded
    def outbox_batch(self, limit: int) -> list[OutboxItem]:
        """Unacknowledged entries in seq order (set-aside ones excluded); a purged record's
        entry goes as a purge marker with the content hash its tombstone kept."""
        cipher = self._require_unlocked()
        rows = self._open_db().query(
            "SELECT o.seq, o.kind, o.record_id, o.chain_hash, r.version, r.nonce, r.ct"
            " FROM outbox o JOIN records r ON r.kind = o.kind AND r.id = o.record_id"
            " WHERE o.state = 'pending' ORDER BY o.seq LIMIT ?",
            (limit,),
        )
        items = []
        for seq, kind, rid, chain_hash, version, nonce, ct in rows:
            if version == TOMBSTONE_VERSION:  # queued again after the clinic purged it
                content_hash = tombstone_hash(self, cipher, kind, rid, nonce, ct)
                items.append(
                    OutboxItem(seq, kind, UUID(rid), content_hash, chain_hash, {}, purged=True)
                )
                continue
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
    def acknowledge(self, outcomes: Sequence[PushOutcome], server_head: ChainHead) -> int:
        """Applied/duplicate leave the queue; conflict/rejected are set aside with a reason;
        then every entry above the server's head is pending again, whatever its state said,
        and that head is kept as confirmed. Returns how many entries were queued again."""
        cipher = self._require_unlocked()
        if (
            not outcomes
            and server_head == self.confirmed_head()
            and not self._settled_above(server_head.seq)
        ):
            return 0  # a pull page's head, as confirmed before: nothing to write
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
            queued = self._requeue_above(conn, server_head.seq)
            self._confirm(conn, cipher, server_head)
            self._retry_removals(conn)
        return queued

    def _settled_above(self, seq: int) -> bool:
        rows = self._open_db().query(
            "SELECT 1 FROM outbox WHERE state IN (?, ?, ?) AND seq > ? LIMIT 1", (*_SETTLED, seq)
        )
        return bool(rows)

    @staticmethod
    def _requeue_above(conn: sqlite3.Connection, seq: int) -> int:
        """Mark every settled entry above `seq` pending again (set-aside reasons dropped)."""
        found = conn.execute(
            "SELECT seq, state FROM outbox WHERE state IN (?, ?, ?) AND seq > ?", (*_SETTLED, seq)
        ).fetchall()
        for entry, state in found:
            if state != "synced":
                conn.execute("DELETE FROM secrets WHERE name = ?", (f"reason:{entry}",))
        conn.execute(
            "UPDATE outbox SET state = 'pending' WHERE state IN (?, ?, ?) AND seq > ?",
            (*_SETTLED, seq),
        )
        return len(found)

    def _confirm(self, conn: sqlite3.Connection, cipher: RecordCipher, head: ChainHead) -> None:
        body = json.dumps({"seq": head.seq, "chain_hash": head.chain_hash}).encode()
        self._put_secret(conn, cipher, _SERVER_HEAD, body)

    @guarded
    def confirmed_head(self) -> ChainHead:
        """The newest head the server confirmed holding (the start, before any)."""
        raw = self._get_secret(self._require_unlocked(), _SERVER_HEAD)
        if raw is None:
            return ChainHead(0, GENESIS_CHAIN_HASH)
        data = json.loads(raw)
        return ChainHead(int(data["seq"]), str(data["chain_hash"]))

    @guarded
    def chain_hash_at(self, seq: int) -> str | None:
        """The chain hash of one outbox entry, or None if there is no such entry."""
        rows = self._open_db().query("SELECT chain_hash FROM outbox WHERE seq = ?", (seq,))
        return str(rows[0][0]) if rows else None

    def _outbox_state_problems(self, cipher: RecordCipher) -> list[str]:
        """Entries whose readable state the server's confirmed head does not back."""
        db = self._open_db()
        top = db.query(
            "SELECT seq, state FROM outbox WHERE state IN (?, ?, ?) ORDER BY seq DESC LIMIT 1",
            _SETTLED,
        )
        problems = []
        if top:
            if self._get_secret(cipher, _SERVER_HEAD) is None:
                problems.append(
                    f"outbox entries up to {top[0][0]} are marked handed in, but the server "
                    "never confirmed them on this store: sync to check"
                )
            else:
                head = self.confirmed_head()
                above = db.query(
                    "SELECT seq, state FROM outbox WHERE state IN (?, ?, ?) AND seq > ?"
                    " ORDER BY seq LIMIT 1",
                    (*_SETTLED, head.seq),
                )
                if above:
                    problems.append(
                        f"outbox entry {above[0][0]} is marked {above[0][1]}, but the server "
                        f"confirmed only up to {head.seq}: it will be sent again"
                    )
                if head.seq and self.chain_hash_at(head.seq) != head.chain_hash:
                    problems.append(
                        f"the server's confirmed head {head.seq} is not on the outbox chain"
                    )
        names = {row[0] for row in db.query("SELECT name FROM secrets")}
        for seq, state in db.query(
            "SELECT seq, state FROM outbox WHERE state IN ('conflict', 'rejected') ORDER BY seq"
        ):
            if f"reason:{seq}" not in names:
                problems.append(
                    f"outbox entry {seq} is marked {state} with no reason from the server"
                )
                break
        return problems

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
        """Pending, set aside, synced, and the last sync (readable: no key needed).

        The status line asks every second and on every screen shown; counting the outbox
        reads each of its rows (3 ms on five years of records), so the answer is kept
        until the file changes (a write here or by another connection).
        """
        db = self._open_db()
        version = db.version()
        kept = self._sync_status_kept
        if kept is not None and kept[0] is db and kept[1] == version:
            return kept[2]
        states = dict(db.query("SELECT state, count(*) FROM outbox GROUP BY state"))
        last_ok = self._sync_value("last_ok")
        status = SyncStatus(
            pending=states.get("pending", 0),
            set_aside=states.get("conflict", 0) + states.get("rejected", 0),
            synced=states.get("synced", 0),
            last_attempt_at=self._sync_value("last_attempt_at"),
            last_success_at=self._sync_value("last_success_at"),
            last_ok=None if last_ok is None else last_ok == "1",
        )
        self._sync_status_kept = (db, version, status)
        return status
