"""What keeps sync from losing anything silently: the server's head checked against the
store's own chain, entries above it queued again, and the clinic's manifest checked after
every pull (a mixin of `sync.client.SyncClient`).

Every push and pull answer carries the server's head for this device: the newest seq it
holds with none missing below. It must lie on the store's own chain (else the store is an
older copy, or the server holds another laptop's history). Everything above it is queued
again whatever the outbox said, and the head is kept as confirmed: a head below the one
confirmed before means the server lost records (restored from a backup), and the pull then
starts afresh too. The last pull page brings the clinic's signed manifest; the store keeps
it, and rows missing or at another version are fetched again, once, from the start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any
from uuid import UUID

from sync.errors import ServerRejected, StoreRolledBack
from sync.manifest import ManifestInvalid, RowProblem, SignedManifest
from sync.outbox import ChainHead, PushOutcome
from sync.ports import SyncProgress, SyncReport, SyncStore
from sync.records import RecordInvalid, parse_record


def server_head(value: Any) -> ChainHead | None:
    """The server's head for this device from an answer, or None if it has none."""
    if not isinstance(value, dict):
        return None
    seq, chain_hash = value.get("seq"), value.get("chain_hash")
    if not isinstance(seq, int) or not isinstance(chain_hash, str):
        return None
    return ChainHead(seq, chain_hash)


class ChainKeeping:
    """The head, queue-again and manifest steps of a sync round."""

    store: SyncStore
    _progress: Callable[[SyncProgress], None]

    def _acknowledge(self, answer: dict[str, Any], report: SyncReport) -> bool:
        """Record a push answer's outcomes and head; True if the device is revoked."""
        head = server_head(answer.get("head"))
        if head is None:
            raise ServerRejected(
                "The server is older than this app and cannot confirm what it holds: "
                "ask the clinic to update it."
            )
        outcomes = [
            PushOutcome(r["seq"], r["status"], r.get("reason")) for r in answer.get("results", [])
        ]
        self._check_head(head)
        report.resent += self.store.acknowledge(outcomes, head)
        for outcome in outcomes:
            report.pushed[outcome.status] = report.pushed.get(outcome.status, 0) + 1
        return bool(answer.get("revoked"))

    def _check_head(self, head: ChainHead) -> None:
        """Refuse a server head that is not on this store's own chain."""
        if head.seq > self.store.chain_head().seq:
            raise StoreRolledBack(
                "This laptop's store is an older copy than the one that synced before: "
                "stop and call the clinic before recording anything."
            )
        if head.seq > 0 and self.store.chain_hash_at(head.seq) != head.chain_hash:
            raise ServerRejected(
                "The clinic's copy of this laptop's records differs from the laptop's own: "
                "stop and call the clinic before recording anything."
            )

    def _reconcile(self, head: ChainHead, report: SyncReport) -> int:
        """Queue again every entry above the server's head; returns how many were queued."""
        self._check_head(head)
        restored = head.seq < self.store.confirmed_head().seq
        queued = self.store.acknowledge([], head)
        if restored:  # what it handed out since the backup is gone too: download afresh
            report.server_restored = True
            self.store.reset_pull_cursor()
        report.resent += queued
        if queued:
            why = "the server was restored from a backup" if restored else "they never arrived"
            self._progress(SyncProgress("push", message=f"Sending {queued} records again: {why}."))
        return queued

    def _apply_page(self, page: dict[str, Any], report: SyncReport) -> list[RowProblem]:
        """Store one page; on the last, the manifest too, and the rows that differ from it."""
        try:
            upserts = [parse_record(u["kind"], u["record"]) for u in page["upserts"]]
        except RecordInvalid:
            raise ServerRejected(
                "The server sent a record this app cannot read: update the app."
            ) from None
        removals = [(r["kind"], UUID(r["id"])) for r in page["removals"]]
        manifest = self._pinned_manifest(page.get("manifest")) if not page["more"] else None
        try:
            problems = self.store.apply_pull_page(upserts, removals, page["cursor"], manifest)
        except ManifestInvalid:
            raise ServerRejected(
                "The clinic's list of records did not verify, so nothing was changed: "
                "call the clinic."
            ) from None
        report.pages += 1
        report.pulled += len(upserts)
        report.removed += len(removals)
        self._progress(
            SyncProgress("pull", report.pulled, report.pulled, f"Received {report.pulled} records.")
        )
        return problems

    def _pinned_manifest(self, wire: Any) -> SignedManifest | None:
        """The last page's manifest; its key is pinned when this laptop has none yet (one
        enrolled before manifests trusts the first, over its authenticated connection).
        The store verifies it before keeping anything of the page."""
        if wire is None:
            return None
        try:
            signed = SignedManifest.from_wire(wire)
        except ManifestInvalid:
            raise ServerRejected(
                "The clinic's list of records is unreadable: call the clinic."
            ) from None
        identity = self.store.device_identity()
        if identity is not None and identity.manifest_key is None:
            self.store.save_device_identity(replace(identity, manifest_key=signed.key))
        return signed

    def _refetch(self, problems: list[RowProblem], report: SyncReport, *, already: bool) -> None:
        """Mark rows that differ from the manifest to be fetched again (once per round)."""
        if already:
            raise ServerRejected(
                f"{len(problems)} clinic records still differ from the clinic's list after "
                "fetching them again: call the clinic."
            )
        self.store.refetch(problems)
        report.refetched += len(problems)
