"""Errors of the device app, each a sentence a clinician or support person can act on.

    FieldAppError
    ├── ConfigError            a config file is missing, unreadable or holds a bad value
    ├── StoreError
    │   ├── NotAStore          the file is not a fieldapp store (or from a newer version)
    │   ├── StoreDamaged       the file is a fieldapp store, cut short or corrupted
    │   ├── WrongPassphrase    every way an unlock can fail looks the same (like Fernet)
    │   ├── UnlockBackoff      too many wrong passphrases: wait before trying again
    │   ├── WrongPin           a quick-unlock PIN did not unlock (tries left are counted)
    │   ├── QuickUnlockUnavailable
    │   │                      no PIN set, too many wrong PINs, or past the 12-hour re-entry
    │   ├── Locked             the store is locked (idle, 12-hour re-entry, or never unlocked)
    │   ├── StoreTampered      a record failed authentication: changed, moved or corrupted
    │   ├── RecordImmutable    a clinical record or a signed note cannot change
    │   ├── StoreWiped         the store was crypto-erased
    │   └── StoreFull          the disk is full: the change was rolled back
    └── PlanInputError         a visits or clinicians CSV row is wrong

Messages never hold patient data: they name record ids, kinds, files and fields only.
"""

from __future__ import annotations


class FieldAppError(Exception):
    """Base of every error this app raises on purpose."""


class ConfigError(FieldAppError):
    """A config file is missing, unreadable, or holds a value that makes no sense."""


class StoreError(FieldAppError):
    """Something went wrong with the encrypted store."""


class NotAStore(StoreError):
    """The file at the store path is not a fieldapp store this version can open."""


class StoreDamaged(StoreError):
    """The file is a fieldapp store that SQLite can no longer read whole: cut short or
    corrupted (a failing disk, a copy interrupted, a sync tool gone wrong)."""


class WrongPassphrase(StoreError):
    """The passphrase did not unlock the store (one error for every way it can fail)."""

    def __init__(self, message: str = "That passphrase did not unlock the store.") -> None:
        super().__init__(message)


class UnlockBackoff(StoreError):
    """Too many wrong passphrases in a row: unlocking is refused for a while."""

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(
            f"Too many wrong passphrases: locked, try again in {max(1, round(retry_after_s))} s."
        )


class WrongPin(StoreError):
    """A quick-unlock PIN did not unlock the store; `tries_left` more are allowed."""

    def __init__(self, tries_left: int) -> None:
        self.tries_left = tries_left
        plural = "try" if tries_left == 1 else "tries"
        super().__init__(f"That PIN did not unlock the store: {tries_left} {plural} left.")


class QuickUnlockUnavailable(StoreError):
    """The PIN cannot unlock now (none set, too many wrong tries, or re-entry is due)."""


class Locked(StoreError):
    """The store is locked; unlock it with the passphrase first."""

    def __init__(self, message: str = "The store is locked: unlock it first.") -> None:
        super().__init__(message)


class StoreTampered(StoreError):
    """A record failed authentication: it was changed, moved or corrupted on disk."""


class RecordImmutable(StoreError):
    """A clinical record, once written, cannot change; a signed note takes addenda only."""


class StoreWiped(StoreError):
    """The store was crypto-erased and can no longer be opened."""


class StoreFull(StoreError):
    """The disk filled up during a write: that change was rolled back, earlier data is intact."""


class PlanInputError(FieldAppError):
    """A planning input (CSV row, matrix, place) is wrong."""
