"""Signed notes at the clinic: signed by the device's own clinician, with their own key.

A laptop sends its clinician's public signing key at enrolment. A signed note pushed by
that laptop must name that clinician as its signer and carry a signature that verifies
under that key, or it is set aside for review (never stored as a signed note). A laptop
with no key on file (enrolled without one) has every signed note set aside: a name alone
proves nothing, and the token proves only which laptop sent it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session

from sync.records import SessionNote
from sync.server.auth import Caller
from sync.server.models import SigningKey
from sync.signatures import verifies

NOT_THE_SIGNER = "signed_by: the note names a signer other than this laptop's clinician"
BAD_SIGNATURE = "signature: missing, or does not verify under this clinician's key"
NO_KEY = "signature: this laptop filed no signing key at enrolment: enrol it again"


def keep_signing_key(
    session: Session, device_id: str, user_name: str, public_key: str, now: float
) -> None:
    """File a device's public signing key (at enrolment)."""
    session.add(
        SigningKey(device_id=device_id, user_name=user_name, public_key=public_key, created_at=now)
    )


def check_signed_notes(session: Session, device: Caller, fresh: Iterable[Any]) -> None:
    """Set aside each pushed signed note whose signer or signature is not this device's
    clinician's (`fresh`: push's validated items, with `.record` and `.set_aside`)."""
    notes = [
        one
        for one in fresh
        if isinstance(one.record, SessionNote) and one.record.status == "signed"
    ]
    if not notes:
        return
    filed = session.get(SigningKey, device.device_id)
    for one in notes:
        note: SessionNote = one.record
        if note.signed_by != device.user:
            one.set_aside(NOT_THE_SIGNER)
        elif filed is None:
            one.set_aside(NO_KEY)
        elif not verifies(note, filed.public_key):
            one.set_aside(BAD_SIGNATURE)
