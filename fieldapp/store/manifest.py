"""Pull pages into the store, the clinic's signed manifest kept there, and the rows checked
against it.

Each pull ends with the clinic's list of the server-owned records this laptop should hold,
each at its version, signed by the server (`sync.manifest`). It is kept encrypted beside the
device identity (which holds the server's public key). At every unlock, in `verify` and
after every pull, each listed row must be present and at least at its listed version: a row
deleted from the file, or replaced by its own older ciphertext, is reported and the pull
cursor is reset, so the next sync fetches it again. A server-owned row the list does not
name has left the scope and is removed with the page that brought the list (kept while its
patient has unsent records, like any removal).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from uuid import UUID

from fieldapp.errors import StoreTampered
from fieldapp.store.core import guarded
from fieldapp.store.crypto import RecordCipher
from fieldapp.store.outbox import MANIFEST_NAME, OutboxMixin
from fieldapp.store.purged import drop_purged
from sync.manifest import (
    Manifest,
    ManifestInvalid,
    RowProblem,
    SignedManifest,
    compare,
    open_manifest,
    unlisted,
)
from sync.records import DEVICE_KINDS, SERVER_KINDS, Record

UNVERIFIED = "the clinic's list of records kept in the store failed verification"


class ManifestMixin(OutboxMixin):
    """Checks of the server-owned rows against the clinic's last manifest."""

    unlock_findings: tuple[str, ...] = ()
    """What the last unlock found wrong with the server-owned rows (sentences, no patient data)."""

    @guarded
    def apply_pull_page(
        self,
        upserts: Sequence[Record],
        removals: Sequence[tuple[str, UUID]],
        cursor: str,
        manifest: SignedManifest | None = None,
    ) -> list[RowProblem]:
        """One commit: newer server records, removals (deferred while unpushed; a device
        record the clinic purged becomes a tombstone, `purged.py`), the cursor,
        and on a pull's last page the clinic's signed manifest, verified first (rows it does
        not name go). Returns the rows that then differ from it in any way (to fetch again);
        `ManifestInvalid`, with nothing stored, if it does not verify."""
        cipher = self._require_unlocked()
        opened = self._opened(manifest) if manifest is not None else None
        with self._write() as conn:
            for record in upserts:
                self._upsert_server(conn, cipher, record)
                # back in scope: a removal deferred earlier must not take it away now
                conn.execute(
                    "DELETE FROM deferred_removals WHERE kind = ? AND id = ?",
                    (record.KIND, str(record.id)),
                )
            # a device record removed is one the clinic purged past its retention
            gone = [
                (kind, str(rid))
                for kind, rid in removals
                if kind in SERVER_KINDS or kind in DEVICE_KINDS
            ]
            problems: list[RowProblem] = []
            if opened is not None:
                gone += unlisted(opened, self._server_rows(conn))
                problems = compare(opened, self._held_versions(opened), exact=True)
                body = json.dumps(manifest.to_wire()).encode()  # type: ignore[union-attr]
                self._put_secret(conn, cipher, MANIFEST_NAME, body)
            conn.executemany("INSERT OR IGNORE INTO deferred_removals VALUES (?, ?)", gone)
            drop_purged(self, conn, cipher)
            self._retry_removals(conn)
            conn.execute("INSERT OR REPLACE INTO sync_state VALUES ('pull_cursor', ?)", (cursor,))
        return problems

    @staticmethod
    def _server_rows(conn: sqlite3.Connection) -> list[tuple[str, str]]:
        marks = ", ".join("?" * len(SERVER_KINDS))
        return conn.execute(
            f"SELECT kind, id FROM records WHERE kind IN ({marks})", sorted(SERVER_KINDS)
        ).fetchall()

    def _opened(self, signed: SignedManifest) -> Manifest:
        """A manifest verified with the key and device id this store was enrolled with."""
        identity = self.device_identity()
        if identity is None or identity.manifest_key is None:
            raise ManifestInvalid(UNVERIFIED)
        return open_manifest(signed, identity.manifest_key, identity.device_id)

    def _manifest(self, cipher: RecordCipher) -> Manifest | None:
        """The stored manifest once verified, None if none; `ManifestInvalid` if it fails."""
        try:
            raw = self._get_secret(cipher, MANIFEST_NAME)
        except StoreTampered:
            raise ManifestInvalid(UNVERIFIED) from None
        if raw is None:
            return None
        try:
            signed = SignedManifest.from_wire(json.loads(raw))
        except ValueError:
            raise ManifestInvalid(UNVERIFIED) from None
        return self._opened(signed)

    def _held_versions(self, manifest: Manifest) -> dict[tuple[str, str], int]:
        """The version of each listed row this store holds (a key lookup each)."""
        db = self._open_db()
        held = {}
        for kind, rid in manifest.entries:
            rows = db.query(
                "SELECT version FROM records WHERE kind = ? AND id = ? AND owner = 'server'",
                (kind, rid),
            )
            if rows:
                held[(kind, rid)] = int(rows[0][0])
        return held

    @guarded
    def manifest_problems(self, exact: bool) -> list[RowProblem]:
        """Listed rows missing or older than listed (or, `exact`, at any other version)."""
        manifest = self._manifest(self._require_unlocked())
        if manifest is None:
            return []
        return compare(manifest, self._held_versions(manifest), exact=exact)

    @guarded
    def refetch(self, problems: Sequence[RowProblem]) -> None:
        """Have the next pull start afresh and replace these rows, whatever their versions."""
        with self._write() as conn:
            for problem in problems:
                if problem.held is not None:
                    key = self.stale_key(problem.kind, problem.record_id)
                    conn.execute("INSERT OR REPLACE INTO sync_state VALUES (?, ?)", (key, "1"))
            conn.execute("DELETE FROM sync_state WHERE key = 'pull_cursor'")

    def _clinic_row_problems(self) -> list[str]:
        try:
            return [problem.sentence() for problem in self.manifest_problems(exact=False)]
        except ManifestInvalid:
            return [UNVERIFIED]

    def _check_on_unlock(self) -> None:
        """Check the server-owned rows; anything wrong is noted and fetched again at the
        next sync (a manifest that fails verification is dropped for a fresh one)."""
        try:
            problems = self.manifest_problems(exact=False)
        except ManifestInvalid:
            with self._write() as conn:
                conn.execute("DELETE FROM secrets WHERE name = ?", (MANIFEST_NAME,))
                conn.execute("DELETE FROM sync_state WHERE key = 'pull_cursor'")
            self.unlock_findings = (UNVERIFIED,)
            return
        if problems:
            self.refetch(problems)
        self.unlock_findings = tuple(problem.sentence() for problem in problems)
