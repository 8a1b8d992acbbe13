"""The state every part of the store shares: the file, the keys while unlocked, the clock.

`Store` (store.py) is this core plus the record, draft and outbox parts; they reach the
keys only through `_require_unlocked()`, which also enforces auto-lock and re-entry.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast
from uuid import UUID

from fieldapp.errors import Locked, StoreError, StoreTampered, StoreWiped
from fieldapp.settings import StoreSettings
from fieldapp.store import codec, keys
from fieldapp.store.backoff import BackoffPolicy
from fieldapp.store.crypto import CryptoFailure, KeyRing, RecordCipher
from fieldapp.store.db import Database
from sync.records import Record, RecordInvalid, parse_record

Clock = Callable[[], float]
LockHook = Callable[[], None]

F = TypeVar("F", bound=Callable[..., Any])


def guarded(method: F) -> F:
    """Run a public method under the store's lock, so a lock() from another thread (the
    idle timer) cannot drop the key half way through it."""

    @functools.wraps(method)
    def wrapper(self: StoreCore, *args: Any, **kwargs: Any) -> Any:
        with self._guard:
            return method(self, *args, **kwargs)

    return cast(F, wrapper)


# NIST SP 800-38D caps random 96-bit nonces at 2^32 messages per key; rotate well before.
ROTATE_AFTER = 2**30


class StoreCore:
    """The open file, the unlocked keys and the timers that lock them again."""

    def __init__(
        self,
        db: Database,
        settings: StoreSettings,
        clock: Clock,
        *,
        rotate_after: int = ROTATE_AFTER,
    ) -> None:
        self._db: Database | None = db
        self.path = db.path
        self._settings = settings
        self._clock = clock
        self._policy = BackoffPolicy.from_settings(settings)
        self._store_id = db.meta["store_id"]
        self._device_id = db.meta["device_id"]
        self._null_cipher = db.meta.get("cipher") == "none"
        self._rotate_after = rotate_after
        self._ring: KeyRing | None = None
        self._generation = 0
        self._encryptions = 0
        self._seals = 0
        self._unlocked_at = 0.0
        self._last_activity = 0.0
        self._locking = False
        self._wiped = False
        self._guard = threading.RLock()
        self._pin_slot: Any = None
        """The quick-unlock wrap (`quick_unlock.PinSlot`), in memory only."""
        self.on_before_lock: list[LockHook] = []
        """Called (no arguments) just before the keys are dropped: save drafts here."""

    # -- state -------------------------------------------------------------------------

    @property
    def is_locked(self) -> bool:
        """True while no key is in memory."""
        return self._ring is None

    @property
    def device_id(self) -> str:
        """This store's own device id (made at creation; bound into every record's AAD)."""
        return self._device_id

    def _open_db(self) -> Database:
        if self._wiped:
            raise StoreWiped("This store was wiped: its data can never be read again.")
        if self._db is None:
            raise StoreError("The store is closed.")
        return self._db

    def touch(self) -> None:
        """Note user activity, postponing the idle auto-lock."""
        self._last_activity = self._clock()

    def check_idle(self) -> bool:
        """Lock now if idle too long or past re-entry; True when the store is (now) locked."""
        with self._guard:
            if self._ring is None:
                return True
            if self._expiry_reason() is not None:
                self.lock()
            return self._ring is None

    def _expiry_reason(self) -> str | None:
        now = self._clock()
        if now - self._unlocked_at >= self._settings.reentry_hours * 3600:
            hours = f"{self._settings.reentry_hours:g}"
            return f"It has been {hours} hours since the passphrase was entered: enter it again."
        if now - self._last_activity >= self._settings.auto_lock_minutes * 60:
            minutes = f"{self._settings.auto_lock_minutes:g}"
            return f"The store locked itself after {minutes} idle minutes: unlock it again."
        return None

    def lock(self) -> None:
        """Run the `on_before_lock` hooks (drafts get saved), then drop the keys."""
        with self._guard:
            if self._ring is None:
                return
            self._locking = True
            try:
                for hook in list(self.on_before_lock):
                    hook()
            finally:
                self._locking = False
                ring, self._ring = self._ring, None
                ring.destroy()

    def _adopt(self, ring: KeyRing, header: keys.KeyHeader, *, fresh: bool = True) -> None:
        """Hold the unwrapped keys; `fresh` (a passphrase) starts the re-entry clock again."""
        if self._ring is not None:
            self._ring.destroy()
        self._ring = ring
        self._generation = header.generation
        self._encryptions = header.encryptions
        self._last_activity = self._clock()
        if fresh:
            self._unlocked_at = self._last_activity

    def _require_unlocked(self) -> RecordCipher:
        """The record cipher, or `Locked` (locking first when idle or past re-entry)."""
        self._open_db()
        if self._ring is None:
            raise Locked()
        if not self._locking:
            reason = self._expiry_reason()
            if reason is not None:
                self.lock()
                raise Locked(reason)
        return self._ring.cipher

    # -- sealing -----------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction that also counts the encryptions made inside it."""
        db = self._open_db()
        with self._guard:
            self._seals = 0
            with db.transaction() as conn:
                yield conn
                if self._seals:
                    keys.add_encryptions(conn, self._seals)
            self._encryptions += self._seals
            self._seals = 0
            if self._encryptions >= self._rotate_after and self._ring is not None:
                self._rotate()

    def _seal(self, cipher: RecordCipher, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
        self._seals += 1
        return cipher.seal(codec.pad(plaintext), aad)

    def _unseal(self, cipher: RecordCipher, nonce: bytes, ct: bytes, aad: bytes) -> bytes:
        """Plaintext, or `CryptoFailure` / `PaddingError` for anything changed."""
        if not isinstance(nonce, bytes) or not isinstance(ct, bytes):
            raise CryptoFailure("a ciphertext column holds something other than bytes")
        return codec.unpad(cipher.open(nonce, ct, aad))

    def _record_aad(self, kind: str, record_id: UUID | str, version: int) -> bytes:
        return codec.record_aad(self._store_id, self._device_id, kind, record_id, version)

    def _open_record(
        self, cipher: RecordCipher, kind: str, rid: str, version: int, nonce: bytes, ct: bytes
    ) -> Record:
        """The record in one row, or `StoreTampered` naming it (kind and id only)."""
        try:
            plaintext = self._unseal(cipher, nonce, ct, self._record_aad(kind, rid, version))
        except (CryptoFailure, ValueError):
            raise StoreTampered(
                f"Record {kind} {rid} failed authentication: it was changed, moved or corrupted "
                "on disk, so it is not shown."
            ) from None
        try:
            return parse_record(kind, plaintext)
        except RecordInvalid as exc:
            raise StoreError(
                f"Record {kind} {rid} is authentic but this version cannot read it "
                f"({exc.problems[0]})."
            ) from None

    def _blind_indexes(
        self, cipher: RecordCipher, record: Record
    ) -> tuple[bytes | None, bytes | None, bytes | None]:
        """(patient, day, visit) indexes of a record, for lookups without decrypting all."""
        # Field values straight from the model's dict: pydantic's __getattr__ for a field a
        # kind does not have is slow, and this runs on every save.
        fields = record.__dict__
        patient_id: Any = record.id if record.KIND == "patient" else fields.get("patient_id")
        patient_ix = cipher.blind("patient", str(patient_id)) if patient_id else None
        day = fields.get("scheduled_on")
        day_ix = cipher.blind("day", day.isoformat()) if day is not None else None
        visit_id: Any = record.id if record.KIND == "visit" else fields.get("visit_id")
        visit_ix = cipher.blind("visit", str(visit_id)) if visit_id else None
        return patient_ix, day_ix, visit_ix

    # -- rotation ----------------------------------------------------------------------

    def _rotate(self) -> None:
        """A fresh DEK: every ciphertext re-encrypted and the new key wrapped, in one commit."""
        from fieldapp.store import rotation  # a rare path; keeps this module small

        assert self._ring is not None
        new_ring, header = rotation.rotate(self, self._ring)
        self._pin_slot = None  # it wrapped the old key
        old, self._ring = self._ring, new_ring
        old.destroy()
        self._generation = header.generation
        self._encryptions = header.encryptions
