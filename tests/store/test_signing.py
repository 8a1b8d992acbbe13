"""The clinician's signing key: sealed in the store, never in clear on disk; every signed
note the store keeps carries a signature that verifies under it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from fieldapp.store import Store
from sync.records import SessionNote
from sync.signatures import verifies
from tests.store.factory import FAST, PASSPHRASE
from tests.store.scan import hits, key_forms, store_files

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def note(status: str = "signed") -> SessionNote:
    """A synthetic note, signed by name only (the store adds the signature)."""
    signed = status == "signed"
    return SessionNote(
        id=uuid.uuid4(),
        patient_id=uuid.uuid4(),
        recorded_at=NOW,
        recorded_by="c01",
        status=status,  # type: ignore[arg-type]
        subjective="Synthetic.",
        signed_at=NOW if signed else None,
        signed_by="c01" if signed else None,
    )


def test_a_signed_note_is_stored_with_the_clinicians_signature(
    store: Store, store_path: Path
) -> None:
    public = store.signing_public_key()
    given = note()
    store.sign_note(given)
    kept = store.get("note", given.id)
    assert isinstance(kept, SessionNote) and kept.signature is not None
    assert verifies(kept, public)
    assert kept.model_copy(update={"signature": None}) == given  # nothing else changed
    store.close()
    with Store.open(store_path, FAST) as again:
        again.unlock(PASSPHRASE)
        assert again.signing_public_key() == public  # one key, kept


def test_the_private_key_is_never_on_disk_in_clear(store: Store, store_path: Path) -> None:
    store.sign_note(note())
    private = store._get_secret(store._require_unlocked(), "signing_key")
    assert private is not None and len(private) == 32
    store.close()
    assert hits(store_files(store_path), {"signing key": key_forms(private)}) == []
