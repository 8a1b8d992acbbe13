"""Everything a screen may call, built once by the app: store, clock, drafts, sync, timers.

Holds the session timers too (idle auto-lock and the 12-hour re-entry), so the rule for
when the app locks is plain Python that a test can drive with a `ManualClock`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from fieldapp.errors import StoreError
from fieldapp.services.clock import Clock, SystemClock
from fieldapp.services.drafts import DraftBook
from fieldapp.services.loneworker import LoneWorkerWatch
from fieldapp.services.ports import StorePort
from fieldapp.services.syncing import SyncState
from fieldapp.settings import Settings

if TYPE_CHECKING:
    from fieldapp.services.ledger import LedgerBook


@dataclass(frozen=True)
class LockReason:
    """Why the app is asking for the passphrase, as a sentence."""

    code: str
    message: str


IDLE = LockReason("idle", "Locked after {minutes:g} idle minutes. Drafts were saved.")
REENTRY = LockReason("reentry", "Passphrase needed again after {hours:g} hours.")
BY_HAND = LockReason("manual", "Locked. Drafts were saved.")
START = LockReason("start", "Enter the passphrase to open the store.")


class AppServices:
    """The app's backend: one per running app, handed to every screen."""

    def __init__(
        self,
        store: StorePort,
        settings: Settings,
        sync: Any = None,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.sync = sync
        self.sync_state = SyncState(configured=sync is not None)
        self.clock: Clock = clock or SystemClock()
        self.drafts = DraftBook(store)
        self.user = settings.store.user
        self.lone_worker = LoneWorkerWatch(self.clock)
        self.last_activity: datetime = self.clock.now()
        self.unlocked_at: datetime | None = None
        self._ledger: Any = None
        self.current_visit: Any = None
        """The visit checked in to (a VisitSession), for duress and the timer."""

    @property
    def ledger(self) -> LedgerBook:
        """The controlled-substance ledger (built on first use: it loads the engine)."""
        if self._ledger is None:
            from fieldapp.services.ledger import LedgerBook

            self._ledger = LedgerBook(self)
        return self._ledger  # type: ignore[no-any-return]

    # -- session timers ------------------------------------------------------------------

    def note_activity(self) -> None:
        """A key or a click: the idle timer starts again."""
        self.last_activity = self.clock.now()
        if self.unlocked_at is not None:
            # A store that locked itself is noticed by due_lock() at the next tick.
            with contextlib.suppress(StoreError):
                self.store.touch()

    def unlock(self, passphrase: str) -> None:
        """Unlock the store (slow: key derivation; call it from a worker thread)."""
        self.store.unlock(passphrase)
        now = self.clock.now()
        self.unlocked_at = now
        self.last_activity = now

    def unlock_warning(self) -> str | None:
        """A sentence when the unlock found clinic records missing or out of date."""
        found = len(self.store.unlock_findings)
        if not found:
            return None
        return (
            f"{found} clinic record{'s' if found > 1 else ''} on this laptop "
            f"{'were' if found > 1 else 'was'} missing or out of date: downloading "
            "again now. Check today's visits after the sync."
        )

    def due_lock(self) -> str | None:
        """The sentence to show if the app must lock now, else None."""
        if self.unlocked_at is None:
            return None
        now = self.clock.now()
        minutes = self.settings.store.auto_lock_minutes
        hours = self.settings.store.reentry_hours
        if now - self.unlocked_at >= timedelta(hours=hours):
            return REENTRY.message.format(hours=hours)
        if now - self.last_activity >= timedelta(minutes=minutes):
            return IDLE.message.format(minutes=minutes)
        if self.store.is_locked:
            return IDLE.message.format(minutes=minutes)
        return None

    def lock(self) -> None:
        """Save every draft, then lock the store."""
        self.drafts.flush()
        if not self.store.is_locked:
            self.store.lock()
        self.unlocked_at = None
        self._ledger = None  # forget the decrypted entries with the key
