"""Break-glass on the laptop: ask the clinic for a patient outside the assignment, and
show that patient only while the grant holds.

Asking needs the clinic server (it grants, audits and tells the supervisor): offline, or
not enrolled, the clinician gets a sentence saying so, never a grant made up locally. A
grant kept in the store (`fieldapp.store.break_glass`) is what the banner shows; once it
has ended the app stops showing the patient at once, and the next sync takes the record
off the laptop (the server reports it removed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from sync.break_glass import REASON_CODES, AccessRequest, Grant
from sync.records import PatientSummary

if TYPE_CHECKING:
    from fieldapp.services.context import AppServices

NEEDS_SERVER = (
    "Break-glass needs the clinic server, and this laptop cannot reach it now: nothing was "
    "granted. Call the clinic: a supervisor can read you what you need."
)
NOT_ENROLLED = (
    "Break-glass needs the clinic server: this laptop is not enrolled for sync. "
    "Call the clinic: a supervisor can read you what you need."
)


class BreakGlassUnavailable(Exception):
    """The request could not be made or was refused; `str()` says why, as a sentence."""


@dataclass(frozen=True)
class Access:
    """A grant this laptop holds, and its patient once the sync has brought them."""

    grant: Grant
    patient: PatientSummary | None

    def banner(self, now: datetime) -> str:
        """The words over the patient: break-glass, and until when (local time)."""
        expires = self.grant.expires_at.astimezone(now.tzinfo).strftime("%H:%M")
        if not self.grant.active(now):
            return f"BREAK-GLASS ENDED at {expires}: this record leaves the laptop at the next sync"
        return f"BREAK-GLASS, expires {expires} — every view is audited, the supervisor is told"


def reason_choices() -> list[tuple[str, str]]:
    """(words, code) of each coded reason, for the form."""
    return [(words, code) for code, words in REASON_CODES.items()]


async def ask(
    services: AppServices, patient_id: UUID, reason_code: str, reason: str, minutes: int | None
) -> Grant:
    """Ask the clinic; keep the grant and sync so the patient arrives. `ValueError` (from
    the request's checks) for a bad form; `BreakGlassUnavailable` offline or refused."""
    from sync.client import ServerRejected, SyncError

    request = AccessRequest.model_validate(
        {
            "patient_id": patient_id,
            "reason_code": reason_code,
            "reason": reason,
            "minutes": minutes,
        }
    )
    client = services.sync
    if client is None:
        raise BreakGlassUnavailable(NOT_ENROLLED)
    try:
        grant: Grant = await client.ask_break_glass(request)
    except ServerRejected as exc:
        raise BreakGlassUnavailable(str(exc)) from None
    except SyncError:  # unreachable, untrusted, rate limited, a captive portal
        raise BreakGlassUnavailable(NEEDS_SERVER) from None
    services.store.keep_break_glass(grant)
    return grant


async def read_from_clinic(services: AppServices, grant_id: UUID) -> PatientSummary | None:
    """The patient read from the clinic (one audited read there), or None when the clinic
    cannot be asked now (the laptop's copy, audited when it was handed over, stands in).
    `BreakGlassUnavailable` when the clinic says the access has ended."""
    from sync.client import ServerRejected, SyncError

    if services.sync is None:
        return None
    try:
        patient: PatientSummary = await services.sync.read_break_glass(grant_id)
    except ServerRejected as exc:
        raise BreakGlassUnavailable(str(exc)) from None
    except SyncError:
        return None
    return patient


async def recover(services: AppServices) -> int:
    """Keep every grant the clinic says holds that this laptop lacks (its answer was lost on
    the way); returns how many. Offline or not enrolled: 0, nothing asked."""
    from sync.client import SyncError

    if services.sync is None:
        return 0
    try:
        held = await services.sync.break_glass_in_force()
    except SyncError:
        return 0
    known = {g.id for g in services.store.break_glass_grants()}
    fresh = [g for g in held if g.id not in known]
    for grant in fresh:
        services.store.keep_break_glass(grant)
    return len(fresh)


def accesses(services: AppServices) -> list[Access]:
    """Every grant kept (newest first) with its patient, if the laptop holds them.

    A patient is shown only under an active grant: an ended one gives None, whatever the
    store still holds until the next sync takes it away.
    """
    now = services.clock.now()
    found = []
    for grant in services.store.break_glass_grants():
        patient = services.store.patient(grant.patient_id) if grant.active(now) else None
        found.append(Access(grant, patient))
    return found


def access(services: AppServices, grant_id: UUID) -> Access | None:
    """One kept grant and its patient (see `accesses`)."""
    return next((a for a in accesses(services) if a.grant.id == grant_id), None)
