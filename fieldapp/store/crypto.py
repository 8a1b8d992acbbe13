"""Every key and every cipher of the store; no other module touches key bytes.

    passphrase --Argon2id(m, t, p, salt)--> KEK --AES-256-GCM wrap--> DEK (on disk only wrapped)
    quick-unlock PIN --Argon2id(m, t, p, own salt)--> PIN key --AES-256-GCM--> KEK + DEK
                                                  (that wrap is kept in memory only)
    DEK --AES-256-GCM, 12-byte random nonce, bound AAD--> each record, draft and secret
    DEK --HKDF-SHA256--> blind-index key --HMAC-SHA256--> patient and day lookups
    Ed25519 signing key (the clinician's; a secret sealed under the DEK) --> signed notes
    second checker's PIN --Argon2id(own salt)--> checker key --AES-256-GCM--> their Ed25519
                                                  key (that wrap sealed again under the DEK)

The KEK is kept in memory next to the DEK while unlocked so that a DEK rotation can
re-wrap without asking for the passphrase; both are dropped on lock. Python cannot promise
to erase memory: we overwrite the bytearrays we own and drop every reference.
"""

from __future__ import annotations

import hmac
import os
import unicodedata
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
SALT_BYTES = 16
TAG_BYTES = 16
BLIND_INDEX_BYTES = 16


class CryptoFailure(Exception):
    """Authentication failed: wrong key, or changed, moved or corrupted bytes."""


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost parameters, stored beside the wrapped key."""

    memory_kib: int
    iterations: int
    lanes: int

    def meets_floor(self) -> bool:
        """True when at or above the OWASP minimum (m = 19 MiB, t = 2, p = 1)."""
        return (
            self.memory_kib >= OWASP_FLOOR.memory_kib
            and self.iterations >= OWASP_FLOOR.iterations
            and self.lanes >= OWASP_FLOOR.lanes
            # Argon2 itself needs at least 8 KiB per lane.
            and self.memory_kib >= 8 * self.lanes
        )


OWASP_FLOOR = KdfParams(memory_kib=19456, iterations=2, lanes=1)
DEFAULT_KDF = KdfParams(memory_kib=65536, iterations=3, lanes=4)


def random_bytes(n: int) -> bytes:
    """n bytes from the operating system's CSPRNG."""
    return os.urandom(n)


def derive_kek(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    """The key-encryption key for a passphrase (NFC-normalised, so every keyboard agrees)."""
    if not params.meets_floor() or len(salt) != SALT_BYTES:
        raise CryptoFailure("key header below the allowed strength")
    kdf = Argon2id(
        salt=salt,
        length=KEY_BYTES,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    return kdf.derive(unicodedata.normalize("NFC", passphrase).encode("utf-8"))


class RecordCipher:
    """AES-256-GCM under the DEK for records, drafts and secrets, plus blind indexes."""

    encrypting = True

    def __init__(self, dek: bytes) -> None:
        self._aead: AESGCM | None = AESGCM(dek)
        blind_key = HKDF(
            algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=b"fieldapp blind index v1"
        ).derive(dek)
        self._blind_key: bytearray | None = bytearray(blind_key)

    def seal(self, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
        """Encrypt: (nonce, ciphertext with tag)."""
        if self._aead is None:
            raise CryptoFailure("cipher destroyed")
        nonce = os.urandom(NONCE_BYTES)
        return nonce, self._aead.encrypt(nonce, plaintext, aad)

    def open(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        """Decrypt and authenticate, or raise `CryptoFailure`."""
        if self._aead is None:
            raise CryptoFailure("cipher destroyed")
        if len(nonce) != NONCE_BYTES:
            raise CryptoFailure("bad nonce length")
        try:
            return self._aead.decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise CryptoFailure("authentication failed") from None

    def blind(self, label: str, value: str) -> bytes:
        """A keyed index of `value`: equal values match, nothing else can be learned."""
        if self._blind_key is None:
            raise CryptoFailure("cipher destroyed")
        message = f"{label}\x00{value}".encode()
        return hmac.digest(bytes(self._blind_key), message, "sha256")[:BLIND_INDEX_BYTES]

    def destroy(self) -> None:
        """Drop the keys (best effort: overwrite what we own, release the rest)."""
        if self._blind_key is not None:
            self._blind_key[:] = bytes(len(self._blind_key))
        self._blind_key = None
        self._aead = None


class NullCipher(RecordCipher):
    """No encryption at all: only the benchmark selects it, to measure the cipher's cost."""

    encrypting = False

    def __init__(self, dek: bytes) -> None:
        super().__init__(dek)

    def seal(self, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
        """Pass-through with an empty nonce."""
        return b"\x00" * NONCE_BYTES, plaintext

    def open(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        """Pass-through."""
        return ciphertext


class KeyRing:
    """The unwrapped KEK and DEK of an unlocked store, held only in memory."""

    def __init__(self, kek: bytes, dek: bytes, *, null_cipher: bool = False) -> None:
        self._kek = bytearray(kek)
        self._dek = bytearray(dek)
        factory = NullCipher if null_cipher else RecordCipher
        self.cipher: RecordCipher = factory(bytes(self._dek))
        self._null = null_cipher

    @classmethod
    def create(
        cls, passphrase: str, salt: bytes, params: KdfParams, *, null_cipher: bool = False
    ) -> KeyRing:
        """A new random DEK under a KEK from the passphrase."""
        return cls(
            derive_kek(passphrase, salt, params), random_bytes(KEY_BYTES), null_cipher=null_cipher
        )

    @classmethod
    def unwrap(
        cls,
        passphrase: str,
        salt: bytes,
        params: KdfParams,
        nonce: bytes,
        wrapped: bytes,
        aad: bytes,
        *,
        null_cipher: bool = False,
    ) -> KeyRing:
        """The keys of an existing store, or `CryptoFailure` (one failure for every cause)."""
        kek = derive_kek(passphrase, salt, params)
        try:
            dek = AESGCM(kek).decrypt(nonce, wrapped, aad)
        except (InvalidTag, ValueError):
            raise CryptoFailure("unwrap failed") from None
        if len(dek) != KEY_BYTES:
            raise CryptoFailure("unwrap failed")
        return cls(kek, dek, null_cipher=null_cipher)

    def wrap(self, aad: bytes) -> tuple[bytes, bytes]:
        """The DEK wrapped under the KEK: (nonce, wrapped)."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce, AESGCM(bytes(self._kek)).encrypt(nonce, bytes(self._dek), aad)

    def wrap_for_pin(
        self, pin: str, salt: bytes, params: KdfParams, aad: bytes
    ) -> tuple[bytes, bytes]:
        """Both keys (KEK and DEK) wrapped under a key derived from a quick-unlock PIN."""
        pin_key = derive_kek(pin, salt, params)
        nonce = os.urandom(NONCE_BYTES)
        both = bytes(self._kek) + bytes(self._dek)
        return nonce, AESGCM(pin_key).encrypt(nonce, both, aad)

    @classmethod
    def unwrap_pin(
        cls,
        pin: str,
        salt: bytes,
        params: KdfParams,
        nonce: bytes,
        wrapped: bytes,
        aad: bytes,
        *,
        null_cipher: bool = False,
    ) -> KeyRing:
        """The keys a PIN wrapped, or `CryptoFailure` (one failure for every cause)."""
        pin_key = derive_kek(pin, salt, params)
        try:
            both = AESGCM(pin_key).decrypt(nonce, wrapped, aad)
        except (InvalidTag, ValueError):
            raise CryptoFailure("unwrap failed") from None
        if len(both) != 2 * KEY_BYTES:
            raise CryptoFailure("unwrap failed")
        return cls(both[:KEY_BYTES], both[KEY_BYTES:], null_cipher=null_cipher)

    def with_passphrase(self, passphrase: str, salt: bytes, params: KdfParams) -> KeyRing:
        """The same DEK under a KEK from a new passphrase (the data is not re-encrypted)."""
        return KeyRing(
            derive_kek(passphrase, salt, params), bytes(self._dek), null_cipher=self._null
        )

    def rotated(self) -> KeyRing:
        """A fresh DEK under the same KEK, for a rotation before the nonce budget runs out."""
        return KeyRing(bytes(self._kek), random_bytes(KEY_BYTES), null_cipher=self._null)

    def destroy(self) -> None:
        """Overwrite and drop both keys."""
        self._kek[:] = bytes(len(self._kek))
        self._dek[:] = bytes(len(self._dek))
        self.cipher.destroy()


def wipe_bytes(length: int) -> bytes:
    """Random filler of `length` bytes, to overwrite a wrapped key before it is deleted."""
    return os.urandom(length)


def new_signing_key() -> bytes:
    """A fresh Ed25519 private key (raw 32 bytes), for signing notes."""
    return Ed25519PrivateKey.generate().private_bytes_raw()


def signing_public_key(private_raw: bytes) -> bytes:
    """The raw public key of a raw Ed25519 private key."""
    return Ed25519PrivateKey.from_private_bytes(private_raw).public_key().public_bytes_raw()


def sign(private_raw: bytes, message: bytes) -> bytes:
    """The Ed25519 signature of `message`."""
    return Ed25519PrivateKey.from_private_bytes(private_raw).sign(message)


def pin_seal(
    pin: str, salt: bytes, params: KdfParams, secret: bytes, aad: bytes
) -> tuple[bytes, bytes]:
    """`secret` sealed under a key derived from a PIN: (nonce, ciphertext)."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce, AESGCM(derive_kek(pin, salt, params)).encrypt(nonce, secret, aad)


def pin_open(
    pin: str, salt: bytes, params: KdfParams, nonce: bytes, sealed: bytes, aad: bytes
) -> bytes:
    """What `pin_seal` sealed, or `CryptoFailure` (a wrong PIN among every other cause)."""
    key = derive_kek(pin, salt, params)
    try:
        return AESGCM(key).decrypt(nonce, sealed, aad)
    except (InvalidTag, ValueError):
        raise CryptoFailure("unwrap failed") from None
