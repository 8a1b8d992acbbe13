"""The clinician's signing key: made once, kept sealed in the store, used to sign notes.

An Ed25519 private key is a secret of the store like the device token: sealed under the
DEK, never written in clear, never handed out. Its public key goes to the clinic at
enrolment, so the clinic can tell that a signed note was signed on this clinician's
laptop and has not changed since. A prescriber's or supervisor's enrolled laptop signs
its answers to remote approval requests the same way (`sign_answer`). `sign_note` signs
every note it stores that is not signed yet: no code path stores a signed note without
its signature.
"""

from __future__ import annotations

from fieldapp.store.core import guarded
from fieldapp.store.crypto import RecordCipher, new_signing_key, sign, signing_public_key
from fieldapp.store.outbox import OutboxMixin
from sync.approvals import Answer
from sync.records import NoteSignature, SessionNote
from sync.signatures import b64

_SIGNING_KEY = "signing_key"


class SigningMixin(OutboxMixin):
    """The signing key and signed notes."""

    def _signing_key(self, cipher: RecordCipher) -> bytes:
        """The private key, made and sealed on first use."""
        private = self._get_secret(cipher, _SIGNING_KEY)
        if private is None:
            private = new_signing_key()
            with self._write() as conn:
                self._put_secret(conn, cipher, _SIGNING_KEY, private)
        return private

    @guarded
    def signing_public_key(self) -> str:
        """This clinician's public signing key (base64url), for the clinic."""
        return b64(signing_public_key(self._signing_key(self._require_unlocked())))

    @guarded
    def sign_note(self, note: SessionNote, draft_key: str | None = None) -> int:
        """Sign the note with this clinician's key (unless it is signed already), store it
        (immutable from now on) and drop its draft, in one commit."""
        if note.status == "signed" and note.signature is None:
            private = self._signing_key(self._require_unlocked())
            signature = NoteSignature(
                public_key=b64(signing_public_key(private)),
                value=b64(sign(private, note.signed_content())),
            )
            note = note.model_copy(update={"signature": signature})
        return super().sign_note(note, draft_key)

    @guarded
    def sign_answer(self, answer: Answer) -> Answer:
        """Sign a prescriber's or supervisor's answer with this person's key (the answer's
        `public_key` is set to it: the clinic checks it is the key filed at enrolment)."""
        private = self._signing_key(self._require_unlocked())
        unsigned = answer.model_copy(
            update={"public_key": b64(signing_public_key(private)), "signature": None}
        )
        return unsigned.model_copy(
            update={"signature": b64(sign(private, unsigned.signed_content()))}
        )
