"""What the sync client needs and gives: the device store and settings it is built with
(`SyncStore`, `ClientSettings`), the progress events it posts and the report of a round.

`sync` never imports `fieldapp`: the store is a protocol here, which `fieldapp.store.Store`
(and the tests' in-memory store) fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol
from uuid import UUID

from sync.manifest import RowProblem, SignedManifest
from sync.outbox import ChainHead, DeviceIdentity, OutboxItem, PushOutcome, SetAsideItem
from sync.records import Record


class SyncStore(Protocol):
    """What the client needs from the device store."""

    def device_identity(self) -> DeviceIdentity | None: ...
    def save_device_identity(self, identity: DeviceIdentity) -> None: ...
    def outbox_batch(self, limit: int) -> list[OutboxItem]: ...
    def acknowledge(self, outcomes: Sequence[PushOutcome], server_head: ChainHead) -> int: ...
    def chain_head(self) -> ChainHead: ...
    def chain_hash_at(self, seq: int) -> str | None: ...
    def confirmed_head(self) -> ChainHead: ...
    def pull_cursor(self) -> str | None: ...
    def apply_pull_page(
        self,
        upserts: Sequence[Record],
        removals: Sequence[tuple[str, UUID]],
        cursor: str,
        manifest: SignedManifest | None = None,
    ) -> list[RowProblem]: ...
    def reset_pull_cursor(self) -> None: ...
    def refetch(self, problems: Sequence[RowProblem]) -> None: ...
    def set_aside(self) -> list[SetAsideItem]: ...
    def pending_count(self) -> int: ...
    def record_sync(self, at: datetime, ok: bool) -> None: ...
    def wipe(self) -> None: ...


class ClientSettings(Protocol):
    """The sync settings the client reads (`fieldapp.settings.SyncSettings` fits)."""

    @property
    def timeout_s(self) -> float: ...
    @property
    def batch_size(self) -> int: ...
    @property
    def retry_base_s(self) -> float: ...
    @property
    def retry_max_s(self) -> float: ...
    @property
    def interval_s(self) -> float: ...
    @property
    def ca_bundle(self) -> Path | None: ...


Phase = Literal["push", "pull", "done", "retry", "error"]


@dataclass(frozen=True)
class SyncProgress:
    """A progress event for the UI: phase, counts, and a sentence."""

    phase: Phase
    done: int = 0
    total: int = 0
    message: str = ""


@dataclass
class SyncReport:
    """What one sync round did."""

    pushed: dict[str, int] = field(default_factory=dict)
    pulled: int = 0
    removed: int = 0
    pages: int = 0
    cursor_resets: int = 0
    pending: int = 0
    set_aside: int = 0
    resent: int = 0  # records the server had lost (or the outbox hid), queued again
    server_restored: bool = False  # the server held less than it had confirmed
    refetched: int = 0  # rows missing or at another version than the clinic's manifest
    checkers_refused: list[str] = field(default_factory=list)  # keys the clinic did not file

    def summary(self) -> str:
        """One line for the shell or the status bar."""
        pushed = (
            ", ".join(f"{n} {status}" for status, n in sorted(self.pushed.items())) or "nothing"
        )
        line = (
            f"pushed {pushed}; pulled {self.pulled} records, {self.removed} removals "
            f"in {self.pages} pages; {self.pending} waiting, {self.set_aside} set aside for review"
        )
        if self.resent:
            why = "the server was restored from a backup" if self.server_restored else "a gap"
            line += f"; {self.resent} records sent again ({why})"
        if self.refetched:
            line += f"; {self.refetched} clinic records fetched again (missing or out of date)"
        if self.checkers_refused:
            names = ", ".join(self.checkers_refused)
            line += (
                f"; the clinic refused the checker key of {names} (doses they check are set aside)"
            )
        return line
