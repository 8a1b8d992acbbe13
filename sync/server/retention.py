"""Retention: when each record falls due for purging, and the legal holds that stop it.

A DEA record (the ledger, the day's close) is due `years[kind]` after its own date. A
clinical record is due `years[kind]` after the patient's last recorded service when
`clinical_from = "last_service"` (most state laws count from there), else after its own
date. A legal hold names a patient, a range of days, or both; nothing it covers is purged
until it is released. Holds are placed and released by people, each change audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from sync.dates import add_years
from sync.server.errors import Invalid, NotFound
from sync.server.models import Patient
from sync.server.records_config import DEA_KINDS, RetentionSettings
from sync.server.records_models import LegalHold


def place_hold(
    session: Session,
    *,
    patient_id: str | None,
    from_day: date | None,
    to_day: date | None,
    reason: str,
    by: str,
    now: float,
) -> LegalHold:
    """Place a legal hold on a patient, a range of days, or that patient on those days."""
    if patient_id is None and from_day is None and to_day is None:
        raise Invalid("a hold names a patient, a range of days, or both")
    if (from_day is None) != (to_day is None):
        raise Invalid("a range of days needs both its first and its last day")
    if from_day is not None and to_day is not None and to_day < from_day:
        raise Invalid("the range ends before it starts")
    if not reason.strip():
        raise Invalid("say why the hold is placed (a case or matter reference)")
    if patient_id is not None and session.get(Patient, patient_id) is None:
        raise Invalid("no such patient")
    hold = LegalHold(
        id=str(uuid.uuid4()),
        patient_id=patient_id,
        from_day=from_day,
        to_day=to_day,
        reason=reason.strip()[:500],
        placed_by=by,
        placed_at=now,
    )
    session.add(hold)
    session.flush()
    return hold


def release_hold(session: Session, hold_id: str, by: str, now: float) -> LegalHold:
    """Release a hold; what it covered may be purged again when due."""
    hold = session.get(LegalHold, hold_id)
    if hold is None:
        raise NotFound(f"no legal hold {hold_id!r}")
    if hold.released_at is not None:
        raise Invalid("that hold was already released")
    hold.released_by, hold.released_at = by, now
    session.add(hold)
    session.flush()
    return hold


def list_holds(session: Session, include_released: bool = False) -> Sequence[LegalHold]:
    """Holds, newest first (active ones only unless asked)."""
    query = select(LegalHold).order_by(col(LegalHold.placed_at).desc())
    if not include_released:
        query = query.where(col(LegalHold.released_at).is_(None))
    return session.exec(query).all()


@dataclass(frozen=True)
class Holds:
    """The active holds, asked record by record."""

    holds: Sequence[LegalHold]

    def covering(self, patient_id: str | None, day: date) -> str | None:
        """The id of a hold covering a record of this patient on this day, or None."""
        for hold in self.holds:
            if hold.patient_id is not None and hold.patient_id != patient_id:
                continue
            ranged = hold.from_day is not None and hold.to_day is not None
            if ranged and not hold.from_day <= day <= hold.to_day:  # type: ignore[operator]
                continue
            return hold.id
        return None


def active_holds(session: Session) -> Holds:
    """Every hold not released."""
    return Holds(list_holds(session))


def due_on(
    settings: RetentionSettings, kind: str, record_day: date, last_service: date | None
) -> date:
    """The first day a record of `kind` may be purged."""
    clinical = kind not in DEA_KINDS and settings.clinical_from == "last_service"
    start = max(record_day, last_service) if clinical and last_service else record_day
    return add_years(start, settings.years[kind])
