"""The shape of the encrypted store the services rely on (`fieldapp.store.Store` fits it).

Declared as a Protocol so the services and their tests name exactly what they use, and a
store change that breaks the app shows up in mypy rather than in a clinician's hands.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from fieldapp.store.outbox import SyncStatus
from sync.break_glass import Grant
from sync.records import CheckerSignature, PatientSummary, Record, Visit


class StorePort(Protocol):
    """What the app needs of the store: unlock, records, drafts and sync counts."""

    def unlock(self, passphrase: str) -> None:
        """Unlock with the passphrase (raises WrongPassphrase or UnlockBackoff)."""
        ...

    def lock(self) -> None:
        """Forget the key; drafts are saved first by the before-lock hooks."""
        ...

    def unlock_with_pin(self, pin: str) -> None:
        """Reopen with the quick-unlock PIN (raises WrongPin or QuickUnlockUnavailable)."""
        ...

    def confirm_pin(self, pin: str) -> None:
        """Check the bedside PIN at an open store (raises WrongPin or QuickUnlockUnavailable)."""
        ...

    def confirm_passphrase(self, passphrase: str) -> None:
        """Check the passphrase at an open store (raises WrongPassphrase or UnlockBackoff)."""
        ...

    def set_pin(self, pin: str) -> None:
        """Set the quick-unlock PIN for the rest of the shift (the store must be unlocked)."""
        ...

    def forget_pin(self) -> None:
        """Drop the quick-unlock PIN."""
        ...

    @property
    def has_pin(self) -> bool:
        """Whether the quick-unlock PIN can be tried now."""
        ...

    @property
    def unlock_findings(self) -> tuple[str, ...]:
        """Clinic records the last unlock found missing or out of date (no patient data)."""
        ...

    @property
    def is_locked(self) -> bool:
        """Whether the store is locked."""
        ...

    def touch(self) -> None:
        """Note user activity (the idle timer starts again)."""
        ...

    on_before_lock: list[Callable[[], None]]
    """Hooks run just before every lock, while the key is still there (drafts)."""

    def save(self, record: Record) -> int:
        """Append one device record (and queue it for sync)."""
        ...

    def save_draft(self, key: str, data: dict[str, Any]) -> None:
        """Save a draft (encrypted) under `key`, replacing the last one."""
        ...

    def load_draft(self, key: str) -> dict[str, Any] | None:
        """The draft saved under `key`, if any."""
        ...

    def delete_draft(self, key: str) -> bool:
        """Forget the draft under `key`."""
        ...

    def get(self, kind: str, record_id: UUID | str) -> Record | None:
        """One record by kind and id."""
        ...

    def visits_for_day(self, day: date) -> list[Visit]:
        """The day's visits."""
        ...

    def patient(self, patient_id: UUID) -> PatientSummary | None:
        """One patient's summary."""
        ...

    def patient_history(self, patient_id: UUID) -> list[Record]:
        """Every device record about one patient, oldest first."""
        ...

    def break_glass_grants(self) -> list[Grant]:
        """The break-glass grants this laptop was given, newest first."""
        ...

    def keep_break_glass(self, grant: Grant) -> None:
        """Keep a break-glass grant the clinic gave."""
        ...

    def forget_break_glass(self, now: datetime) -> int:
        """Drop the kept grants ended by `now`."""
        ...

    def records_of_kind(self, kind: str) -> list[Record]:
        """Every record of one kind."""
        ...

    def newest_of_kind(self, kind: str, stop: Callable[[Record], bool]) -> list[Record]:
        """Records of one kind, newest first, up to the first that `stop` accepts."""
        ...

    def visit_records(self, visit_id: UUID) -> list[Record]:
        """Every record about one visit, the visit first."""
        ...

    def put_server_records(self, records: Sequence[Record]) -> int:
        """Store server-owned records (newer versions win)."""
        ...

    def sync_status(self) -> SyncStatus:
        """Pending, set aside and the last sync, for the status line."""
        ...

    def pending_count(self) -> int:
        """Device records not yet acknowledged by the server."""
        ...

    def checkers(self) -> list[str]:
        """The colleagues enrolled as second checkers on this laptop."""
        ...

    def enrol_checker(self, name: str, pin: str, code: str | None = None) -> str:
        """Enrol a second checker with their own PIN and the one-time code the clinic
        issued to them (None: never filed with a clinic); their public key."""
        ...

    def sign_as_checker(self, name: str, pin: str, content: bytes) -> CheckerSignature:
        """A second checker's signature, opened by their own PIN (wrong PIN: nothing)."""
        ...
