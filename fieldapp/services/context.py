"""Everything a screen may call, built once by the app: store, clock, drafts, sync, timers.

Holds the session timers too (idle auto-lock and the 12-hour re-entry), so the rule for
when the app locks is plain Python that a test can drive with a `ManualClock`.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from fieldapp.errors import StoreError
from fieldapp.services.clock import Clock, SystemClock
from fieldapp.services.drafts import DraftBook
from fieldapp.services.loneworker import LoneWorkerWatch
from fieldapp.services.ports import StorePort
from fieldapp.services.syncing import SyncState
from fieldapp.services.watch import SafeWatch, safe_watch
from fieldapp.settings import Settings

if TYPE_CHECKING:
    from fieldapp.services.ledger import LedgerBook


@dataclass(frozen=True)
class LockReason:
    """Why the app is asking for the passphrase, as a sentence."""

    code: str
    message: str


log = logging.getLogger("fieldapp.services")

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
        """When the app was last opened (passphrase or PIN); None while locked."""
        self.passphrase_at: datetime | None = None
        """When the passphrase was last entered: the re-entry hours count from here."""
        self._ledger: Any = None
        self._current_visit: Any = None
        self.current_visit_id: UUID | None = None
        """The visit in progress, kept while locked (an id holds no patient data)."""
        self.watch = SafeWatch()
        """What the lock screen may show of the visit's timers (times only)."""
        self.duress_while_locked: list[datetime] = []
        """When the duress key was pressed while locked: recorded in the store at unlock."""

    @property
    def current_visit(self) -> Any:
        """The visit checked in to (a VisitSession), for duress and the timers; dropped on
        lock with everything else that holds patient data (`current_visit_id` stays)."""
        return self._current_visit

    @current_visit.setter
    def current_visit(self, session: Any) -> None:
        self._current_visit = session
        self.current_visit_id = session.visit.id if session is not None else None

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
        self.opened()
        self.passphrase_at = self.unlocked_at

    def unlock_with_pin(self, pin: str) -> None:
        """Reopen with the quick-unlock PIN; the re-entry hours still count from the
        passphrase (slow: key derivation; call it from a worker thread)."""
        self.store.unlock_with_pin(pin)
        self.opened()

    def confirm_identity(self, secret: str, with_pin: bool) -> None:
        """The clinician at the open app proves it is them again, with the bedside PIN or
        the passphrase, before an act that carries their name (signing a note). Wrong ones
        count exactly as at the lock screen (slow: key derivation; call it from a worker)."""
        if with_pin:
            self.store.confirm_pin(secret)
        else:
            self.store.confirm_passphrase(secret)
        self.note_activity()

    def opened(self) -> None:
        """The store is open: the session and the idle timer start now, as the clinician
        the laptop was enrolled for (who did what is that identity, never a typed name)."""
        now = self.clock.now()
        self.unlocked_at = now
        self.last_activity = now
        if self.passphrase_at is None:
            self.passphrase_at = now
        self.user = self.enrolled_user() or self.settings.store.user

    def enrolled_user(self) -> str | None:
        """The clinician this laptop was enrolled for, if it was (and the store says)."""
        read = getattr(self.store, "device_identity", None)
        try:
            identity = read() if read is not None else None
        except StoreError:
            log.warning("the device identity cannot be read; the configured user is used")
            return None
        return identity.user if identity is not None else None

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
        if now - (self.passphrase_at or self.unlocked_at) >= timedelta(hours=hours):
            return REENTRY.message.format(hours=hours)
        if now - self.last_activity >= timedelta(minutes=minutes):
            return IDLE.message.format(minutes=minutes)
        if self.store.is_locked:
            return IDLE.message.format(minutes=minutes)
        return None

    def lock(self) -> None:
        """Save every draft, keep the visit's timers (times only), then lock the store and
        forget everything decrypted: the ledger, the visit, its patient."""
        session = self.current_visit
        if session is not None:
            self.current_visit_id = session.visit.id
            self.watch = safe_watch(session)
        self.drafts.flush()
        if not self.store.is_locked:
            self.store.lock()
        self.unlocked_at = None
        self._ledger = None
        self._current_visit = None
