"""Unlock back-off: after N wrong passphrases, waits that double, surviving a restart.

The failure count and time live in the store file outside the ciphertext: they are not
secret, and they must be readable before the store is unlocked.
"""

from __future__ import annotations

from dataclasses import dataclass

from fieldapp.settings import StoreSettings
from fieldapp.store.db import Database


@dataclass(frozen=True)
class BackoffPolicy:
    """How many failures are free, the first wait, and the longest wait."""

    after_failures: int = 5
    base_s: float = 30.0
    max_s: float = 3600.0

    @classmethod
    def from_settings(cls, settings: StoreSettings) -> BackoffPolicy:
        """The policy a clinic configured."""
        return cls(settings.backoff_after_failures, settings.backoff_base_s, settings.backoff_max_s)

    def wait_s(self, failures: int) -> float:
        """The wait after `failures` wrong passphrases in a row."""
        if failures < self.after_failures:
            return 0.0
        return float(min(self.max_s, self.base_s * 2 ** (failures - self.after_failures)))

    def remaining_s(self, failures: int, last_failure_at: float | None, now: float) -> float:
        """Seconds left before the next attempt is allowed (0 when allowed now)."""
        wait = self.wait_s(failures)
        if wait <= 0 or last_failure_at is None:
            return 0.0
        # A clock set backwards must not stretch the wait beyond its length.
        return max(0.0, min(wait, last_failure_at + wait - now))


def read_failures(db: Database) -> tuple[int, float | None]:
    """The persisted (failures, time of the last failure)."""
    rows = db.query("SELECT failures, last_failure_at FROM unlock_failures WHERE slot = 1")
    return (int(rows[0][0]), rows[0][1]) if rows else (0, None)


def record_failure(db: Database, now: float) -> int:
    """Count one more wrong passphrase, durably; returns the new count."""
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO unlock_failures VALUES (1, 1, ?) ON CONFLICT (slot) DO UPDATE SET"
            " failures = failures + 1, last_failure_at = excluded.last_failure_at",
            (now,),
        )
    return read_failures(db)[0]


def reset_failures(db: Database) -> None:
    """Clear the count after a good passphrase."""
    if read_failures(db)[0]:
        with db.transaction() as conn:
            conn.execute("DELETE FROM unlock_failures")
