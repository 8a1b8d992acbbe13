"""`Store`: create, open, unlock, lock, change the passphrase, wipe; plus records, drafts, sync.

    store = Store.create(path, passphrase, settings)      # new file, unlocked
    store = Store.open(path, settings); store.unlock(pw)  # existing file
    store.save(vitals); store.visits_for_day(today); store.lock()

Every way an unlock fails is `WrongPassphrase`; after `backoff_after_failures` of them the
store refuses attempts for a doubling wait that survives a restart (`UnlockBackoff`).
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from fieldapp.errors import NotAStore, StoreError, UnlockBackoff, WrongPassphrase
from fieldapp.settings import StoreSettings
from fieldapp.store import backoff, codec, duress_box, keys
from fieldapp.store.break_glass import BreakGlassMixin
from fieldapp.store.checkers import CheckersMixin
from fieldapp.store.core import ROTATE_AFTER, Clock, guarded
from fieldapp.store.crypto import SALT_BYTES, CryptoFailure, KdfParams, KeyRing, random_bytes
from fieldapp.store.db import SCHEMA_VERSION, Database, fsync_dir, remove_files
from fieldapp.store.manifest import ManifestMixin
from fieldapp.store.outbox import SyncStatus
from fieldapp.store.quick_unlock import QuickUnlockMixin
from fieldapp.store.signing import SigningMixin

MIN_PASSPHRASE_CHARS = 8


@dataclass(frozen=True)
class StoreInfo:
    """What a store shows without its passphrase: no patient data, only metadata."""

    path: Path
    store_id: str
    schema_version: int
    kdf: KdfParams
    key_generation: int
    encryptions: int
    unlock_failures: int
    counts: dict[str, int]
    drafts: int
    sync: SyncStatus


def kdf_from_settings(settings: StoreSettings) -> KdfParams:
    """The Argon2id parameters a clinic configured."""
    return KdfParams(settings.kdf_memory_kib, settings.kdf_iterations, settings.kdf_lanes)


def _check_new_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise StoreError(f"A passphrase needs at least {MIN_PASSPHRASE_CHARS} characters.")


class Store(QuickUnlockMixin, SigningMixin, BreakGlassMixin, CheckersMixin, ManifestMixin):
    """One clinician's encrypted offline store."""

    @classmethod
    def create(
        cls,
        path: Path,
        passphrase: str,
        settings: StoreSettings | None = None,
        *,
        clock: Clock = time.time,
        _null_cipher: bool = False,
        _rotate_after: int = ROTATE_AFTER,
    ) -> Store:
        """A new store at `path` with a fresh random DEK, returned unlocked."""
        settings = settings or StoreSettings()
        _check_new_passphrase(passphrase)
        if path.exists():
            raise StoreError(f"{path} already exists: refusing to overwrite it.")
        params = kdf_from_settings(settings)
        meta = {
            "store_id": uuid.uuid4().hex,
            "device_id": uuid.uuid4().hex,
            "cipher": "none" if _null_cipher else "aes-256-gcm",
        }
        salt = random_bytes(SALT_BYTES)
        try:
            ring = KeyRing.create(passphrase, salt, params, null_cipher=_null_cipher)
        except CryptoFailure:
            raise StoreError("The key settings are below the allowed minimum.") from None
        # Build the store under a temporary name, then rename: a crash leaves no half store.
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.creating")
        try:
            db = Database.create(tmp, meta)
            with db.transaction() as conn:
                aad = codec.keyslot_aad(meta["store_id"], params, salt, 1)
                nonce, wrapped = ring.wrap(aad)
                keys.write_header(conn, keys.KeyHeader(params, salt, nonce, wrapped, 1, 0))
            db.close()
            os.replace(tmp, path)
            fsync_dir(path.parent)
        except BaseException:
            ring.destroy()
            remove_files(tmp)
            raise
        store = cls.open(path, settings, clock=clock, _allow_null_cipher=_null_cipher)
        store._rotate_after = _rotate_after
        store._adopt(ring, keys.read_header(store._open_db()))
        return store

    @classmethod
    def open(
        cls,
        path: Path,
        settings: StoreSettings | None = None,
        *,
        clock: Clock = time.time,
        _allow_null_cipher: bool = False,
        _rotate_after: int = ROTATE_AFTER,
    ) -> Store:
        """Open an existing store, locked; `NotAStore` for anything else at `path`."""
        db = Database.open(path)
        try:
            if db.meta.get("cipher") == "none" and not _allow_null_cipher:
                raise NotAStore(
                    f"{path} is a benchmark store with encryption off: the app refuses it."
                )
            keys.read_header(db)  # refuses a missing (wiped) or weakened header up front
        except BaseException:
            db.close()
            raise
        return cls(db, settings or StoreSettings(), clock, rotate_after=_rotate_after)

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- keys --------------------------------------------------------------------------

    def unlock(self, passphrase: str) -> None:
        """Unwrap the DEK, or `WrongPassphrase` (counted) / `UnlockBackoff` (not tried); then
        check the clinic's rows against its manifest (`unlock_findings`)."""
        with self._guard:
            ring, header = self._unwrap_passphrase(passphrase)
            if self._pin_slot is not None and self._reentry_due():
                self.forget_pin()  # a PIN lasts one shift: the one the re-entry ended
            self._adopt(ring, header)
            self._check_on_unlock()

    def _unwrap_passphrase(self, passphrase: str) -> tuple[KeyRing, keys.KeyHeader]:
        """The keys under `passphrase`, or `WrongPassphrase` (counted) / `UnlockBackoff`."""
        db = self._open_db()
        now = self._clock()
        failures, last = backoff.read_failures(db)
        remaining = self._policy.remaining_s(failures, last, now)
        if remaining > 0:
            raise UnlockBackoff(remaining)
        header = keys.read_header(db)
        aad = codec.keyslot_aad(self._store_id, header.params, header.salt, header.generation)
        try:
            ring = KeyRing.unwrap(
                passphrase,
                header.salt,
                header.params,
                header.nonce,
                header.wrapped,
                aad,
                null_cipher=self._null_cipher,
            )
        except CryptoFailure:
            backoff.record_failure(db, now)
            raise WrongPassphrase() from None
        backoff.reset_failures(db)
        return ring, header

    def confirm_passphrase(self, passphrase: str) -> None:
        """Check that whoever is at the open store knows its passphrase (signing asks it).

        Nothing changes on success: the keys unwrapped to check it are destroyed at once.
        A wrong one counts towards the back-off exactly as a wrong unlock does, so the
        check is no cheaper way to guess the passphrase.
        """
        with self._guard:
            self._require_unlocked()
            ring, _ = self._unwrap_passphrase(passphrase)
            ring.destroy()

    def unlock_with_pin(self, pin: str) -> None:
        """Reopen with the bedside PIN (`QuickUnlockMixin`), then check the clinic's rows
        against its manifest, as a passphrase unlock does."""
        with self._guard:
            super().unlock_with_pin(pin)
            self._check_on_unlock()

    def change_passphrase(self, old: str, new: str) -> None:
        """Re-wrap the DEK under a new passphrase (new salt, configured KDF) in one commit."""
        _check_new_passphrase(new)
        with self._guard:
            self.unlock(old)
            assert self._ring is not None
            db = self._open_db()
            header = keys.read_header(db)
            params = kdf_from_settings(self._settings)
            salt = random_bytes(SALT_BYTES)
            ring = self._ring.with_passphrase(new, salt, params)
            try:
                aad = codec.keyslot_aad(self._store_id, params, salt, header.generation)
                nonce, wrapped = ring.wrap(aad)
                new_header = keys.KeyHeader(
                    params, salt, nonce, wrapped, header.generation, header.encryptions
                )
                with db.transaction() as conn:
                    keys.write_header(conn, new_header)
            except BaseException:
                ring.destroy()
                raise
            # The old wrap (openable with the old passphrase) must not survive in the WAL.
            db.checkpoint()
            self.forget_pin()  # it wrapped the old passphrase's key
            self._adopt(ring, new_header)

    def wipe(self) -> None:
        """Crypto-erase: destroy the wrapped DEK (overwrite, delete), then delete the files."""
        with self._guard:
            self.forget_pin()
            if self._ring is not None:
                self._ring.destroy()  # no lock hooks: a wipe discards drafts on purpose
                self._ring = None
            db = self._db
            if db is not None and not self._wiped:
                try:
                    keys.destroy_header(db)
                    with db.transaction() as conn:
                        for table in (
                            "outbox",
                            "records",
                            "drafts",
                            "secrets",
                            "deferred_removals",
                        ):
                            conn.execute(f"DELETE FROM {table}")
                    db.checkpoint()
                except StoreError:
                    pass  # the files go next anyway; the key header was destroyed first
                finally:
                    db.close()
                    self._db = None
            self._wiped = True
            self._remove_files()

    def _remove_files(self) -> None:
        remove_files(self.path)
        duress_box.remove_beside(self.path)
        fsync_dir(self.path.parent)

    def close(self) -> None:
        """Lock (saving drafts through the hooks) and close the file."""
        with self._guard:
            if self._db is None:
                return
            self.forget_pin()
            try:
                self.lock()
            finally:
                self._db.close()
                self._db = None

    # -- metadata ----------------------------------------------------------------------

    @guarded
    def info(self) -> StoreInfo:
        """Counts, sync state and key parameters: readable without the passphrase."""
        db = self._open_db()
        header = keys.read_header(db)
        failures, _ = backoff.read_failures(db)
        return StoreInfo(
            path=self.path,
            store_id=self._store_id,
            schema_version=SCHEMA_VERSION,
            kdf=header.params,
            key_generation=header.generation,
            encryptions=header.encryptions,
            unlock_failures=failures,
            counts=self.counts(),
            drafts=int(db.query("SELECT count(*) FROM drafts")[0][0]),
            sync=self.sync_status(),
        )
