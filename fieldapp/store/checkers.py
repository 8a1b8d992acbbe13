"""Second checkers: colleagues enrolled on this laptop, each with their own PIN-wrapped key.

A dose's second check is a signature, never a name typed or a box ticked. A colleague who
checks doses with this clinician is enrolled here once (`enrol_checker`, with them at the
keyboard): a fresh Ed25519 key is made for them and sealed under a key derived from their
own PIN (Argon2id, its own salt, the store's KDF settings), and that wrap is sealed again
under the store's DEK with the rest of the store's secrets. The laptop's owner holds the
DEK but not the colleague's PIN, so cannot sign as them. Their public key goes to the
clinic with their name (README "Second checker"): at once when the laptop is online
(`fieldapp store add-checker`), else at the next sync, before any dose they signed
(`unfiled_checkers`, `checker_filed`); the clinic sets aside a dose whose checker's key it
does not hold. The clinic files the key only with the one-time code it issued to that
colleague, which they type at their enrolment: the code waits for the filing sealed with
the rest (an offline enrolment keeps it until the next sync) and is dropped once the
clinic has used it, or refused it (`checker_code_refused`: they are enrolled again, with
a new code). A checker enrolled with no code is never filed.

`pin_max_tries` wrong PINs in a row (kept in the store, so a restart does not reset them)
lock that checker's key: they must be enrolled again. A wrong PIN signs nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fieldapp.errors import StoreError, WrongPin
from fieldapp.store.core import guarded
from fieldapp.store.crypto import (
    SALT_BYTES,
    CryptoFailure,
    KdfParams,
    RecordCipher,
    new_signing_key,
    pin_open,
    pin_seal,
    random_bytes,
    sign,
    signing_public_key,
)
from fieldapp.store.outbox import OutboxMixin
from fieldapp.store.quick_unlock import check_pin
from sync.records import CheckerSignature
from sync.signatures import b64

_CHECKERS = "checkers"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_CODE = re.compile(r"^[A-Za-z0-9 -]{1,64}$")


class CheckerLocked(StoreError):
    """Too many wrong PINs: this checker's key is locked until they are enrolled again."""


class NotACheckerHere(StoreError):
    """The name is not enrolled as a second checker on this laptop."""


class WrongCheckerPin(WrongPin):
    """A checker's PIN did not open their key; nothing was signed."""

    def __init__(self, checker: str, tries_left: int) -> None:
        super().__init__(tries_left)
        plural = "try" if tries_left == 1 else "tries"
        self.args = (
            f"That is not {checker}'s PIN: nothing was signed ({tries_left} {plural} left).",
        )


class CheckersMixin(OutboxMixin):
    """Enrol second checkers and sign dose orders as them, with their own PIN."""

    def _checkers(self, cipher: RecordCipher) -> dict[str, dict[str, Any]]:
        raw = self._get_secret(cipher, _CHECKERS)
        return {} if raw is None else dict(json.loads(raw))

    def _keep_checkers(self, cipher: RecordCipher, checkers: dict[str, dict[str, Any]]) -> None:
        with self._write() as conn:
            self._put_secret(conn, cipher, _CHECKERS, json.dumps(checkers).encode())

    def _checker_aad(self, name: str) -> bytes:
        return b"fieldapp checker v1|" + self._store_id.encode() + b"|" + name.encode()

    @guarded
    def checkers(self) -> list[str]:
        """The colleagues enrolled as second checkers on this laptop."""
        return sorted(self._checkers(self._require_unlocked()))

    @guarded
    def enrol_checker(self, name: str, pin: str, code: str | None = None) -> str:
        """Enrol `name` (their clinic user name) with their own PIN and the one-time `code`
        the clinic issued to them (None: a key that stays on this laptop, never filed);
        their public key (base64url) for the clinic. A checker whose key the clinic has not
        filed may be enrolled again (a new key). Slow: Argon2id."""
        if not _NAME.match(name):
            raise StoreError("A checker is enrolled by their clinic user name (letters, digits).")
        check_pin(pin, self._settings)
        code = (code or "").strip() or None
        if code is not None and not _CODE.match(code):
            raise StoreError("A checker code holds letters, digits and dashes only: check it.")
        cipher = self._require_unlocked()
        checkers = self._checkers(cipher)
        found = checkers.get(name)
        if found is not None and found.get("filed") and not found.get("locked"):
            raise StoreError(f"{name} is already enrolled as a checker on this laptop.")
        params = KdfParams(
            self._settings.kdf_memory_kib, self._settings.kdf_iterations, self._settings.kdf_lanes
        )
        private, salt = new_signing_key(), random_bytes(SALT_BYTES)
        try:
            nonce, sealed = pin_seal(pin, salt, params, private, self._checker_aad(name))
        except CryptoFailure:
            raise StoreError("The key settings are below the allowed minimum.") from None
        public = b64(signing_public_key(private))
        checkers[name] = {
            "public_key": public,
            "salt": salt.hex(),
            "kdf": [params.memory_kib, params.iterations, params.lanes],
            "nonce": nonce.hex(),
            "sealed": sealed.hex(),
            "tries_left": self._settings.pin_max_tries,
            "filed": False,
            "code": code,
        }
        self._keep_checkers(cipher, checkers)
        return public

    @guarded
    def unfiled_checkers(self) -> list[tuple[str, str, str]]:
        """(name, public key, one-time code) of each checker whose key the clinic has not
        filed yet and who holds a code to file it with."""
        checkers = self._checkers(self._require_unlocked())
        return [
            (name, str(entry["public_key"]), str(entry["code"]))
            for name, entry in sorted(checkers.items())
            if not entry.get("filed") and not entry.get("locked") and entry.get("code")
        ]

    @guarded
    def checker_filed(self, name: str, public_key: str) -> None:
        """The clinic holds `name`'s key `public_key` (a key enrolled since stays unfiled);
        their code is spent, so it is dropped."""
        cipher = self._require_unlocked()
        checkers = self._checkers(cipher)
        entry = checkers.get(name)
        if entry is not None and entry["public_key"] == public_key and not entry.get("filed"):
            entry.update(filed=True, code=None)
            self._keep_checkers(cipher, checkers)

    @guarded
    def checker_code_refused(self, name: str, public_key: str) -> None:
        """The clinic refused `name`'s code for `public_key` (wrong, used, expired...): it
        is dropped, and their key stays unfiled until they are enrolled again."""
        cipher = self._require_unlocked()
        checkers = self._checkers(cipher)
        entry = checkers.get(name)
        if entry is not None and entry["public_key"] == public_key and entry.get("code"):
            entry["code"] = None
            self._keep_checkers(cipher, checkers)

    @guarded
    def checker_public_key(self, name: str) -> str | None:
        """An enrolled checker's public key (None when not enrolled here)."""
        found = self._checkers(self._require_unlocked()).get(name)
        return None if found is None else str(found["public_key"])

    @guarded
    def sign_as_checker(self, name: str, pin: str, content: bytes) -> CheckerSignature:
        """`name`'s signature over `content`, opened by their PIN; a wrong PIN signs
        nothing (`WrongCheckerPin`, counted; `CheckerLocked` once none are left)."""
        cipher = self._require_unlocked()
        checkers = self._checkers(cipher)
        entry = checkers.get(name)
        if entry is None:
            raise NotACheckerHere(
                f"{name} is not enrolled as a second checker on this laptop: enrol them first."
            )
        if entry.get("locked"):
            raise CheckerLocked(f"{name}'s checker key is locked: enrol them again.")
        memory, iterations, lanes = entry["kdf"]
        try:
            private = pin_open(
                pin,
                bytes.fromhex(entry["salt"]),
                KdfParams(memory, iterations, lanes),
                bytes.fromhex(entry["nonce"]),
                bytes.fromhex(entry["sealed"]),
                self._checker_aad(name),
            )
        except CryptoFailure:
            entry["tries_left"] = int(entry["tries_left"]) - 1
            if entry["tries_left"] <= 0:
                entry.update(locked=True, sealed="", nonce="", code=None)
                self._keep_checkers(cipher, checkers)
                raise CheckerLocked(
                    f"Too many wrong PINs: {name}'s checker key is locked; enrol them again."
                ) from None
            self._keep_checkers(cipher, checkers)
            raise WrongCheckerPin(name, int(entry["tries_left"])) from None
        if entry["tries_left"] != self._settings.pin_max_tries:
            entry["tries_left"] = self._settings.pin_max_tries
            self._keep_checkers(cipher, checkers)
        return CheckerSignature(
            checker=name,
            public_key=str(entry["public_key"]),
            value=b64(sign(private, content)),
        )
