"""An in-memory stand-in for the encrypted store, with the same shape (until it lands)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from fieldapp.errors import Locked, UnlockBackoff, WrongPassphrase
from sync.records import DeviceRecord, PatientSummary, Record, Visit


class MemoryStore:
    """Keeps everything in dicts; locks, drafts and back-off behave like the real one."""

    def __init__(self, passphrase: str = "correct horse", backoff_after: int = 3) -> None:
        self._passphrase = passphrase
        self._locked = True
        self._failures = 0
        self._backoff_after = backoff_after
        self._hooks: list[Callable[[], None]] = []
        self.records: list[Record] = []
        self.server: dict[UUID, Record] = {}
        self.drafts: dict[str, dict[str, Any]] = {}

    def unlock(self, passphrase: str) -> None:
        if self._failures >= self._backoff_after:
            raise UnlockBackoff(30)
        if passphrase != self._passphrase:
            self._failures += 1
            raise WrongPassphrase()
        self._failures = 0
        self._locked = False

    def lock(self) -> None:
        for hook in self._hooks:
            hook()
        self._locked = True

    @property
    def is_locked(self) -> bool:
        return self._locked

    def _check(self) -> None:
        if self._locked:
            raise Locked()

    def touch(self) -> None:
        self._check()

    def on_before_lock(self, hook: Callable[[], None]) -> None:
        self._hooks.append(hook)

    def save(self, record: Record) -> None:
        self._check()
        self.records.append(record)

    def save_draft(self, key: str, data: dict[str, Any]) -> None:
        self._check()
        self.drafts[key] = dict(data)

    def load_draft(self, key: str) -> dict[str, Any] | None:
        self._check()
        return self.drafts.get(key)

    def delete_draft(self, key: str) -> None:
        self._check()
        self.drafts.pop(key, None)

    def visits_for_day(self, day: date) -> list[Visit]:
        self._check()
        return [r for r in self.server.values() if isinstance(r, Visit) and r.scheduled_on == day]

    def patient(self, patient_id: UUID) -> PatientSummary | None:
        self._check()
        found = self.server.get(patient_id)
        return found if isinstance(found, PatientSummary) else None

    def patient_history(self, patient_id: UUID) -> list[Record]:
        self._check()
        return [
            r for r in self.records if isinstance(r, DeviceRecord) and r.patient_id == patient_id
        ]

    def put_server_records(self, records: Sequence[Record]) -> None:
        self._check()
        for record in records:
            self.server[record.id] = record

    def pending_count(self) -> int:
        self._check()
        return len(self.records)

    def set_aside(self) -> list[object]:
        return []
