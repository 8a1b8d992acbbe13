"""Duress credentials and duress signals (no FastAPI here).

Besides its device token, a clinician's laptop holds a duress credential: 256 random bits
the server keeps only as a hash, good for exactly one thing, posting a duress signal for
that device's clinician. The laptop keeps it outside its encrypted store, so a locked
laptop (and an offline one, later) can still call for help; in a thief's hands it can
raise a false alarm and nothing else: it reads nothing and writes nothing but the alarm.

A signal becomes the same `status` record ("duress", no patient, no visit) a synced
duress key press is, so the dispatch board and its alerts show it like any other. Its id
is made on the laptop: a retry whose first answer was lost is a duplicate, not a second
alarm. The device token's expiry is not checked here on purpose: an expired enrolment must
not silence a call for help; a revoked device (a lost laptop) is refused.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from uuid import UUID

from sqlmodel import Session, col, select

from sync.records import StatusEvent
from sync.server.auth import sha256_hex
from sync.server.errors import AuthError, Invalid
from sync.server.models import AppUser, Device, DeviceRecordRow, DuressKey

DURESS_PREFIX = "fd1_"
_DURESS_RE = re.compile(r"^fd1_[A-Za-z0-9_-]{43}$")
FUTURE_SLACK = timedelta(minutes=5)
"""A signal dated further ahead than this (a laptop clock running fast) is dated now."""
NOTE = "duress key (sent without unlocking)"


def new_duress_token() -> str:
    """A fresh duress credential: 256 random bits."""
    return DURESS_PREFIX + secrets.token_urlsafe(32)


def issue_key(session: Session, device_id: str, user_name: str, now: float) -> str:
    """A new duress credential for a device (replacing its last one); returned once."""
    token = new_duress_token()
    row = session.get(DuressKey, device_id)
    if row is None:
        row = DuressKey(device_id=device_id, user_name=user_name, token_hash="", created_at=now)
    row.token_hash, row.created_at, row.user_name = sha256_hex(token), now, user_name
    session.add(row)
    return token


@dataclass(frozen=True)
class DuressCaller:
    """The device and clinician a duress credential belongs to."""

    device_id: str
    user: str


def authenticate(session: Session, token: str | None) -> DuressCaller:
    """The caller behind a duress credential, or `AuthError`."""
    if not token or not _DURESS_RE.match(token):
        raise AuthError("invalid_token", "The duress credential is not valid.")
    found = session.exec(
        select(DuressKey, Device)
        .join(Device, col(Device.id) == col(DuressKey.device_id))
        .where(col(DuressKey.token_hash) == sha256_hex(token))
    ).first()
    if found is None:
        raise AuthError("invalid_token", "The duress credential is not valid.")
    key, device = found
    if device.revoked_at is not None:
        raise AuthError("device_revoked", "This device was revoked.")
    user = session.get(AppUser, key.user_name)
    if user is None or not user.active:
        raise AuthError("user_inactive", "The user of this device is no longer active.")
    return DuressCaller(device_id=device.id, user=key.user_name)


def record_signal(
    session: Session, caller: DuressCaller, signal_id: UUID, at: datetime, now: datetime
) -> Literal["received", "duplicate"]:
    """Store the signal as a duress status event of the caller's clinician."""
    existing = session.get(DeviceRecordRow, str(signal_id))
    if existing is not None:
        if existing.device_id == caller.device_id and existing.kind == "status":
            return "duplicate"
        raise Invalid("id: already used by another record")
    when = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    when = min(when, now + FUTURE_SLACK)
    event = StatusEvent(
        id=signal_id,
        recorded_at=when,
        recorded_by=caller.user,
        status="duress",
        at=when,
        note=NOTE,
    )
    _as_json, canonical = event.json_and_canonical()
    session.add(
        DeviceRecordRow(
            id=str(signal_id),
            kind="status",
            device_id=caller.device_id,
            user_name=caller.user,
            patient_id=None,
            visit_id=None,
            seq=0,  # not one of the device's chained records: it came by its own road
            content_hash=hashlib.sha256(canonical).hexdigest(),
            payload=canonical.decode(),
            received_at=now.timestamp(),
        )
    )
    key = session.get(DuressKey, caller.device_id)
    if key is not None:
        key.last_used_at = now.timestamp()
        session.add(key)
    return "received"
