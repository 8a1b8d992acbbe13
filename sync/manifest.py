"""The clinic's signed list of what a laptop should hold: kind, id and version of every
server-owned record in the clinician's scope.

The server signs it with Ed25519 at the end of every pull; the laptop learns the public half
at enrolment (or from its first manifest, over the authenticated connection), keeps the
signed list in its store, and checks its rows against it at every unlock, in `store verify`
and after every pull. A row missing, or older than the list says, was deleted or rolled back
on disk: it is reported and pulled again. Version 0 means "in scope, at a version the next
pull brings": such a row is not checked. A server-owned row the list does not name at all
has left the scope, and goes at the end of the pull (`unlisted`).

A signature rather than a MAC: the laptop then holds nothing that can make a manifest, so
not even someone holding its passphrase can write one the laptop would believe, and the
clinic keeps one key rather than one per laptop.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT = 1

Entries = Mapping[tuple[str, str], int]
"""(kind, record id) -> version."""


class ManifestInvalid(Exception):
    """A manifest whose signature, key, device or shape does not hold."""


@dataclass(frozen=True)
class SignedManifest:
    """The manifest's JSON text exactly as signed, its signature and the signing public key."""

    body: str
    signature: str
    key: str

    def to_wire(self) -> dict[str, str]:
        """The form a pull answer and the store keep."""
        return {"body": self.body, "signature": self.signature, "key": self.key}

    @classmethod
    def from_wire(cls, data: Any) -> SignedManifest:
        """Parse the wire form, or `ManifestInvalid`."""
        if not isinstance(data, dict) or not all(
            isinstance(data.get(name), str) for name in ("body", "signature", "key")
        ):
            raise ManifestInvalid("the manifest is not in the expected form")
        return cls(data["body"], data["signature"], data["key"])


@dataclass(frozen=True)
class Manifest:
    """A verified manifest: for which device, at which change number, and its entries."""

    device_id: str
    high_water: int
    entries: Entries  # shared by every caller of a cached verification: read only


@dataclass(frozen=True)
class RowProblem:
    """A server-owned row that does not match the manifest (ids and versions only)."""

    kind: str
    record_id: str
    held: int | None  # the version on the laptop, None when the row is missing
    listed: int  # the version the clinic listed

    def sentence(self) -> str:
        """What is wrong, without patient data."""
        if self.held is None:
            return (
                f"{self.kind} {self.record_id} is missing (the clinic sent version {self.listed})"
            )
        relation = "older than" if self.held < self.listed else "different from"
        return (
            f"{self.kind} {self.record_id} is at version {self.held}, {relation} the "
            f"version {self.listed} the clinic sent"
        )


# -- the server's side ------------------------------------------------------------------------


def new_signing_key() -> str:
    """A fresh Ed25519 private key as hex (kept in the server's database)."""
    return secrets.token_bytes(32).hex()


@functools.lru_cache(maxsize=8)
def _private(key_hex: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(key_hex))


@functools.lru_cache(maxsize=8)
def public_key(key_hex: str) -> str:
    """The public half of a signing key, base64 (what laptops pin)."""
    raw = _private(key_hex).public_key().public_bytes_raw()
    return base64.b64encode(raw).decode("ascii")


def manifest_body(device_id: str, high_water: int, entries: Iterable[tuple[str, str, int]]) -> str:
    """The JSON text that is signed: sorted entries, so equal lists give equal bytes."""
    return json.dumps(
        {
            "format": FORMAT,
            "device_id": device_id,
            "high_water": high_water,
            "records": sorted([kind, rid, version] for kind, rid, version in entries),
        },
        separators=(",", ":"),
    )


def sign(key_hex: str, body: str) -> SignedManifest:
    """Sign a manifest body."""
    return SignedManifest(body, _signature(key_hex, body), public_key(key_hex))


# Ed25519 signatures are deterministic, and most pulls end with the same scope as the last
# one: a device's unchanged manifest is signed once, not at every pull.
@functools.lru_cache(maxsize=1024)
def _signature(key_hex: str, body: str) -> str:
    return base64.b64encode(_private(key_hex).sign(body.encode())).decode("ascii")


# -- the laptop's side ------------------------------------------------------------------------


def open_manifest(signed: SignedManifest, pinned_key: str, device_id: str) -> Manifest:
    """The verified manifest, or `ManifestInvalid` (wrong key, signature, device or shape)."""
    if signed.key != pinned_key:
        raise ManifestInvalid("the manifest is signed by a key this laptop does not know")
    manifest = _verified(signed.body, signed.signature, pinned_key)
    if manifest.device_id != device_id:
        raise ManifestInvalid("the manifest was made for another laptop")
    return manifest


# The same manifest comes back at most pulls, and is checked again at unlock: verified once.
# (A failure raises, and is never remembered.)
@functools.lru_cache(maxsize=16)
def _verified(body: str, signature: str, pinned_key: str) -> Manifest:
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(pinned_key, validate=True))
        key.verify(base64.b64decode(signature, validate=True), body.encode())
        data = json.loads(body)
        entries = {(str(k), str(rid)): int(v) for k, rid, v in data["records"]}
        manifest = Manifest(str(data["device_id"]), int(data["high_water"]), entries)
    except (InvalidSignature, binascii.Error, ValueError, KeyError, TypeError):
        raise ManifestInvalid("the manifest's signature or contents do not verify") from None
    if data.get("format") != FORMAT:
        raise ManifestInvalid("the manifest is in a format this version does not read")
    return manifest


def compare(manifest: Manifest, held: Entries, *, exact: bool) -> list[RowProblem]:
    """Rows missing, or older than listed (also newer, when `exact`: right after a pull)."""
    problems = []
    for (kind, rid), listed in sorted(manifest.entries.items()):
        if listed == 0:
            continue
        version = held.get((kind, rid))
        if version is None or version < listed or (exact and version != listed):
            problems.append(RowProblem(kind, rid, version, listed))
    return problems


def unlisted(manifest: Manifest, held: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Server-owned rows held that the manifest does not name: out of the scope."""
    return sorted(key for key in held if key not in manifest.entries)
