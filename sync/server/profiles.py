"""Clinician profiles: the credentials the clinic holds for each clinician (no FastAPI here).

An admin sets a clinician's ACLS expiry, licence status and expiry, and the prescriber
whose DEA registration states cover the visits; every change takes a change number, so
that clinician's next pull brings the new version to their laptop. Only the fields given
change; the profile records who set it and when.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session

from sync.records import ClinicianProfile, RecordInvalid, parse_record
from sync.server.changes import take_change_numbers
from sync.server.errors import Invalid, NotFound

__all__ = ["Invalid", "NotFound", "get_profile", "parse_day", "profile_id", "put_profile"]
from sync.server.models import AppUser, ClinicianProfileRow

_NAMESPACE = uuid.UUID("9a3f1c52-7d1e-4b8a-9c7e-0d5f4e2a6b10")
EDITABLE = frozenset(
    {"acls_expires", "licence_active", "licence_expires", "prescriber", "prescriber_dea_states"}
)


def profile_id(clinician: str) -> uuid.UUID:
    """The profile's record id: one per clinician, the same on every server."""
    return uuid.uuid5(_NAMESPACE, clinician)


def get_profile(session: Session, clinician: str) -> ClinicianProfile:
    """The clinician's profile, or `NotFound`."""
    row = session.get(ClinicianProfileRow, clinician)
    if row is None:
        raise NotFound(f"no profile for {clinician!r}")
    return ClinicianProfile.model_validate_json(row.payload)


def put_profile(
    session: Session, clinician: str, changes: dict[str, Any], actor: str, now: float
) -> ClinicianProfile:
    """Set the fields in `changes` on the clinician's profile (made when there is none),
    as `actor`; a new version and change number when anything changed."""
    user = session.get(AppUser, clinician)
    if user is None or user.role != "clinician":
        raise Invalid(f"no clinician {clinician!r}")
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise Invalid(f"not profile fields: {', '.join(unknown)}")
    row = session.get(ClinicianProfileRow, clinician)
    current: dict[str, Any] = {}
    version = 1
    if row is not None:
        old = ClinicianProfile.model_validate_json(row.payload)
        current = old.model_dump(include=set(EDITABLE))
        version = old.version + 1
        if {**current, **changes} == current:
            return old
    data = {
        **current,
        **changes,
        "id": str(profile_id(clinician)),
        "version": version,
        "clinician_id": clinician,
        "updated_by": actor,
        "updated_at": datetime.fromtimestamp(now, UTC).isoformat(),
    }
    try:
        profile = parse_record(ClinicianProfile.KIND, data)
    except RecordInvalid as exc:  # names the field, never the value
        raise Invalid("; ".join(exc.problems)) from None
    assert isinstance(profile, ClinicianProfile)
    seq = take_change_numbers(session)
    payload = profile.model_dump_json()
    if row is None:
        row = ClinicianProfileRow(
            user_name=clinician,
            id=str(profile.id),
            version=version,
            payload=payload,
            change_seq=seq,
            updated_at=now,
        )
    else:
        row.version, row.payload, row.change_seq, row.updated_at = version, payload, seq, now
    session.add(row)
    session.flush()
    return profile


def parse_day(text: str, field: str) -> date | None:
    """A date typed on the command line (YYYY-MM-DD, or "none" to clear it)."""
    if text.strip().lower() == "none":
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(f"{field}: a date as YYYY-MM-DD (or none)") from None
