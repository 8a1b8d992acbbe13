"""Signed notes at the clinic: only the device's own clinician, with the key filed at
enrolment; anything else is set aside for review, never stored as a signed note."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.records import NoteSignature, SessionNote
from sync.server.db import transaction
from sync.server.signatures import keep_signing_key
from sync.signatures import b64, verifies
from tests.sync.clientkit import client_for, device_store
from tests.sync.factories import ON_THE_ROAD, T0, World

KEY = Ed25519PrivateKey.generate()
OTHER = Ed25519PrivateKey.generate()


def public(key: Ed25519PrivateKey) -> str:
    """A key's public half as the records carry it."""
    return b64(key.public_key().public_bytes_raw())


def signed_note(world: World, by: str, signer: str, key: Ed25519PrivateKey) -> SessionNote:
    """A note of `by`'s visit, naming `signer`, signed with `key`."""
    visit = world.visits[by]
    note = SessionNote(
        id=uuid.uuid4(),
        patient_id=visit.patient_id,
        visit_id=visit.id,
        recorded_at=ON_THE_ROAD,
        recorded_by=by,
        status="signed",
        subjective="Synthetic note.",
        signed_at=ON_THE_ROAD,
        signed_by=signer,
    )
    value = b64(key.sign(note.signed_content()))
    return note.model_copy(update={"signature": NoteSignature(public_key=public(key), value=value)})


def file_key(world: World, who: str, key: Ed25519PrivateKey) -> None:
    """File `who`'s device key, as enrolment does."""
    with transaction(world.engine) as session:
        keep_signing_key(session, world.device_ids[who], who, public(key), T0)


async def push(api: httpx.AsyncClient, world: World, who: str, note: SessionNote) -> dict[str, int]:
    """Push one note from `who`'s device; what the server did with it."""
    store = device_store(world, who)
    store.write(note)
    return (await client_for(api, store).sync_once()).pushed


async def test_the_clinicians_own_signature_is_stored(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    file_key(world, "a", KEY)
    note = signed_note(world, "a", "a", KEY)
    assert verifies(note, public(KEY))
    assert await push(api, world, "a", note) == {"applied": 1}


@pytest.mark.parametrize(
    "case", ["another signer", "another key", "changed after signing", "no signature"]
)
async def test_a_note_not_signed_by_the_devices_clinician_is_set_aside(
    app: Any, world: World, api: httpx.AsyncClient, case: str
) -> None:
    file_key(world, "a", KEY)
    note = signed_note(world, "a", "b" if case == "another signer" else "a", KEY)
    if case == "another key":
        note = signed_note(world, "a", "a", OTHER)
    elif case == "changed after signing":
        note = note.model_copy(update={"plan": "Added later."})
    elif case == "no signature":
        note = note.model_copy(update={"signature": None})
    assert verifies(note, public(KEY)) == (case == "another signer")  # a's key, b's name
    assert await push(api, world, "a", note) == {"rejected": 1}


async def test_a_laptop_without_a_filed_key_has_its_signed_notes_set_aside(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    store = device_store(world, "a")
    store.write(signed_note(world, "a", "a", OTHER))
    store.write(signed_note(world, "a", "b", OTHER))
    pushed = (await client_for(api, store).sync_once()).pushed
    assert pushed == {"rejected": 2}  # its own name and another's alike: a name proves nothing
