"""Address safety notes: what a clinician should know before going to a patient's home.

The clinic's pre-visit risk assessment (CLINICAL.md section 4) as data a planner can use:
a category from a fixed list and a level, on a patient's address, with the date it must be
reviewed by and the date it stops applying. Nothing else: no free text, so no clinical
content can be written into one, and a dispatcher sees exactly what a note holds. The
dispatcher's planner turns active notes into escort and skill needs through `[safety]` in
routing.toml; publishing adds them to the visit's safety flags, so the clinician's laptop
shows them too. A note is never deleted: it is withdrawn, and it lapses at its expiry.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, model_validator
from sqlmodel import Field as SQLField
from sqlmodel import Session, SQLModel, col, select

from sync.server.errors import Invalid, NotFound
from sync.server.models import Patient

# CLINICAL.md section 4, "Pre-visit risk assessment for each address".
Category = Literal[
    "violence_or_threats",
    "weapons",
    "aggressive_animals",
    "household_substance_use",
    "other_occupants",
    "neighbourhood_or_parking",
    "infection_control",
    "trip_hazards",
    "home_suitability",
]
Level = Literal["low", "medium", "high"]


class SafetyNoteRow(SQLModel, table=True):
    """One note on a patient's address; withdrawn notes stay, for the record."""

    __tablename__ = "address_safety_note"

    id: str = SQLField(primary_key=True, max_length=36)
    patient_id: str = SQLField(foreign_key="patient.id", index=True, max_length=36)
    category: str = SQLField(max_length=40)
    level: str = SQLField(max_length=10)
    review_on: date
    expires_on: date
    created_by: str = SQLField(max_length=64)
    created_at: float
    withdrawn_by: str | None = SQLField(default=None, max_length=64)
    withdrawn_at: float | None = None


class SafetyNoteCreate(BaseModel):
    """A new note: category and level, a review date and an expiry (no free text)."""

    model_config = ConfigDict(extra="forbid")

    patient_id: UUID
    category: Category
    level: Level
    review_on: date
    expires_on: date

    @model_validator(mode="after")
    def _dates_in_order(self) -> SafetyNoteCreate:
        if self.expires_on < self.review_on:
            raise ValueError("expires_on must not be before review_on")
        return self


class SafetyNote(BaseModel):
    """A note as the planner and the board use it: category, level and its dates."""

    category: Category
    level: Level
    review_on: date
    expires_on: date
    review_due: bool = False


class SafetyNotePublic(SafetyNote):
    """A stored note as dispatch sees it."""

    id: UUID
    patient_id: UUID
    created_by: str
    created_at: datetime
    withdrawn: bool


def _epoch(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)


def public(row: SafetyNoteRow, today: date) -> SafetyNotePublic:
    """A stored note as dispatch sees it (`review_due` once its review date has come)."""
    return SafetyNotePublic(
        id=UUID(row.id),
        patient_id=UUID(row.patient_id),
        category=row.category,  # type: ignore[arg-type]
        level=row.level,  # type: ignore[arg-type]
        review_on=row.review_on,
        expires_on=row.expires_on,
        review_due=row.review_on <= today,
        created_by=row.created_by,
        created_at=_epoch(row.created_at),
        withdrawn=row.withdrawn_at is not None,
    )


def add(
    session: Session, note: SafetyNoteCreate, who: str, now: float, today: date
) -> SafetyNoteRow:
    """Store a note; an expiry already past is refused (it would never apply)."""
    if session.get(Patient, str(note.patient_id)) is None:
        raise Invalid("patient_id: no such patient")
    if note.expires_on < today:
        raise Invalid("expires_on: already past")
    row = SafetyNoteRow(
        id=str(uuid.uuid4()),
        patient_id=str(note.patient_id),
        category=note.category,
        level=note.level,
        review_on=note.review_on,
        expires_on=note.expires_on,
        created_by=who,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def withdraw(session: Session, note_id: str, who: str, now: float) -> SafetyNoteRow:
    """Withdraw a note (it stays stored, marked with who and when)."""
    row = session.get(SafetyNoteRow, note_id)
    if row is None:
        raise NotFound("No such safety note.")
    if row.withdrawn_at is None:
        row.withdrawn_by, row.withdrawn_at = who, now
        session.add(row)
        session.flush()
    return row


def listed(session: Session, patient_id: str | None) -> Sequence[SafetyNoteRow]:
    """Every note (of one patient, if given), newest first."""
    query = select(SafetyNoteRow).order_by(col(SafetyNoteRow.created_at).desc())
    if patient_id is not None:
        query = query.where(SafetyNoteRow.patient_id == patient_id)
    return session.exec(query).all()


def active_on(
    session: Session, patient_ids: Iterable[str], day: date
) -> dict[str, list[SafetyNote]]:
    """The notes that apply on `day` (not withdrawn, not expired), per patient."""
    ids = sorted(set(patient_ids))
    found: dict[str, list[SafetyNote]] = {}
    if not ids:
        return found
    rows = session.exec(
        select(SafetyNoteRow).where(
            col(SafetyNoteRow.patient_id).in_(ids),
            col(SafetyNoteRow.withdrawn_at).is_(None),
            SafetyNoteRow.expires_on >= day,
        )
    ).all()
    for row in sorted(rows, key=lambda r: (r.category, r.level)):
        found.setdefault(row.patient_id, []).append(
            SafetyNote(
                category=row.category,  # type: ignore[arg-type]
                level=row.level,  # type: ignore[arg-type]
                review_on=row.review_on,
                expires_on=row.expires_on,
                review_due=row.review_on <= day,
            )
        )
    return found


def flag_text(note: SafetyNote) -> str:
    """How a note reads among a visit's safety flags on the clinician's laptop."""
    return f"safety note: {note.category.replace('_', ' ')} ({note.level})"
