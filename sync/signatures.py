"""Signed notes: the Ed25519 signature of the clinician who signed, checked by anyone.

The laptop signs a note with its clinician's private key (kept inside the encrypted
store, `fieldapp/store/signing.py`); the public key goes to the clinic at enrolment. The
signature covers the note's canonical JSON without the signature itself, so a changed
word, time or signer no longer verifies.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sync.records import SessionNote


def b64(raw: bytes) -> str:
    """Base64url without padding (how keys and signatures travel)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """The bytes of `b64`'s text (ValueError when it is not that)."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise ValueError("not base64url") from None


def verifies(note: SessionNote, public_key: str | None = None) -> bool:
    """Whether the note's signature verifies (under `public_key`, when given)."""
    signature = note.signature
    if signature is None or (public_key is not None and signature.public_key != public_key):
        return False
    try:
        key = Ed25519PublicKey.from_public_bytes(unb64(signature.public_key))
        key.verify(unb64(signature.value), note.signed_content())
    except (ValueError, InvalidSignature):
        return False
    return True
