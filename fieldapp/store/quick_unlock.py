"""Quick unlock: a PIN that reopens the store for the rest of the shift.

After a passphrase unlock the clinician may set a PIN (`pin_min_digits` digits or more).
The store then wraps its keys a second time, under a key derived from the PIN by the same
Argon2id as the passphrase (its own random salt), and keeps that wrap **in memory only**:
a PIN is short, so a copy on disk could be guessed offline from a stolen laptop; in
memory it dies with the process, and a restart asks for the passphrase.

Limits, all enforced here: `pin_max_tries` wrong PINs in a row forget the wrap (the
passphrase is needed, then a new PIN may be set); the PIN never extends the passphrase's
`reentry_hours`; a new passphrase, a key rotation or a wipe forget it too.
"""

from __future__ import annotations

from dataclasses import dataclass

from fieldapp.errors import QuickUnlockUnavailable, StoreError, WrongPin
from fieldapp.settings import StoreSettings
from fieldapp.store import codec, keys
from fieldapp.store.core import StoreCore, guarded
from fieldapp.store.crypto import SALT_BYTES, CryptoFailure, KdfParams, KeyRing, random_bytes


@dataclass
class PinSlot:
    """The keys wrapped under the PIN, with what it takes to unwrap them, and tries left."""

    salt: bytes
    params: KdfParams
    nonce: bytes
    wrapped: bytes
    generation: int
    tries_left: int


def check_pin(pin: str, settings: StoreSettings) -> None:
    """Refuse a PIN that is not all digits or is too short (the message names the rule)."""
    if not pin.isascii() or not pin.isdigit() or len(pin) < settings.pin_min_digits:
        raise StoreError(f"A PIN needs at least {settings.pin_min_digits} digits, digits only.")
    if len(pin) > 2 * settings.pin_min_digits + 8:
        raise StoreError("That PIN is too long: use the passphrase instead.")


class QuickUnlockMixin(StoreCore):
    """Set, use and forget the in-memory PIN wrap."""

    def _pin_aad(self, generation: int) -> bytes:
        return codec.pin_aad(self._store_id, generation)

    @guarded
    def set_pin(self, pin: str) -> None:
        """Wrap the unlocked keys under `pin` for quick unlock (slow: Argon2id)."""
        check_pin(pin, self._settings)
        self._require_unlocked()
        assert self._ring is not None
        params = KdfParams(
            self._settings.kdf_memory_kib, self._settings.kdf_iterations, self._settings.kdf_lanes
        )
        salt = random_bytes(SALT_BYTES)
        try:
            nonce, wrapped = self._ring.wrap_for_pin(
                pin, salt, params, self._pin_aad(self._generation)
            )
        except CryptoFailure:
            raise StoreError("The key settings are below the allowed minimum.") from None
        self._pin_slot = PinSlot(
            salt, params, nonce, wrapped, self._generation, self._settings.pin_max_tries
        )

    @property
    def has_pin(self) -> bool:
        """Whether a PIN can be tried now (set, tries left, re-entry not yet due)."""
        return self._pin_slot is not None and not self._reentry_due()

    def forget_pin(self) -> None:
        """Drop the PIN wrap: only the passphrase unlocks from now on."""
        slot, self._pin_slot = self._pin_slot, None
        if slot is not None:
            slot.wrapped = b""

    def _reentry_due(self) -> bool:
        return self._clock() - self._unlocked_at >= self._settings.reentry_hours * 3600

    @guarded
    def unlock_with_pin(self, pin: str) -> None:
        """Reopen with the PIN, or `WrongPin` (counted) / `QuickUnlockUnavailable`."""
        self._open_db()
        ring, header = self._unwrap_pin(pin)
        self._adopt(ring, header, fresh=False)

    @guarded
    def confirm_pin(self, pin: str) -> None:
        """Check that whoever is at the open store knows the bedside PIN (signing asks it).

        Nothing changes on success (the keys unwrapped to check it are destroyed at once);
        a wrong PIN counts against `pin_max_tries` exactly as at the lock screen.
        """
        self._require_unlocked()
        ring, _ = self._unwrap_pin(pin)
        ring.destroy()

    def _unwrap_pin(self, pin: str) -> tuple[KeyRing, keys.KeyHeader]:
        slot = self._pin_slot
        if slot is None:
            raise QuickUnlockUnavailable("No PIN is set on this laptop: enter the passphrase.")
        if self._reentry_due():
            self.forget_pin()
            hours = f"{self._settings.reentry_hours:g}"
            raise QuickUnlockUnavailable(
                f"It has been {hours} hours since the passphrase was entered: enter it again."
            )
        try:
            ring = KeyRing.unwrap_pin(
                pin,
                slot.salt,
                slot.params,
                slot.nonce,
                slot.wrapped,
                self._pin_aad(slot.generation),
                null_cipher=self._null_cipher,
            )
        except CryptoFailure:
            slot.tries_left -= 1
            if slot.tries_left <= 0:
                self.forget_pin()
                raise QuickUnlockUnavailable(
                    "Too many wrong PINs: enter the passphrase (then set a PIN again)."
                ) from None
            raise WrongPin(slot.tries_left) from None
        header = keys.read_header(self._open_db())
        if header.generation != slot.generation:
            ring.destroy()
            self.forget_pin()
            raise QuickUnlockUnavailable("The store's key changed: enter the passphrase.")
        slot.tries_left = self._settings.pin_max_tries
        return ring, header
