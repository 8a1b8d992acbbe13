"""Break-glass access on the server: grants, their reads, the supervisor's notice and review.

A clinician asks to see one patient outside their assignment with a coded reason and their
own words (`sync.break_glass.AccessRequest`). The grant is written with a change number
(`changes.py`), so the clinician's next pull brings that patient (`pull.py` adds the active
grants' patients to the scope, `manifests.py` lists them); a supervisor notice is written in
the same transaction, so it exists the moment the grant does. When the grant has ended, the
clinician's next pull gives its end a change number of its own (`for_pull`, before the
pull reads its high-water mark): every laptop of that clinician then hears of the patient's
removal after its cursor, like a visit reassigned away, with a fresh signed manifest that
no longer lists the patient.

Every read under a grant is audited by the route that serves it (`break_glass_read`, one
event per patient per answer: a pull page carrying it, or a read of the patient); a read
after the grant ended is refused (403) and audited too. A supervisor marks the access
reviewed; the review is the supervisor's enrolled identity (user and device from their
token), never a typed name. Until then the access stays on the dispatch board.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, Text, bindparam, or_, select, update
from sqlmodel import Field, Session, SQLModel, col
from sqlmodel import select as sm_select

from sync.break_glass import AccessRequest
from sync.server.changes import take_change_numbers
from sync.server.config import ServerSettings
from sync.server.db import fetch_rows
from sync.server.errors import Forbidden, Invalid, NotFound
from sync.server.models import Patient
from sync.server.plan_models import BoardBreakGlass


class BreakGlassGrant(SQLModel, table=True):
    """One break-glass access: who, which patient, why, from when to when, and its review."""

    __tablename__ = "break_glass_grant"

    id: str = Field(primary_key=True, max_length=36)
    clinician: str = Field(foreign_key="app_user.name", index=True, max_length=64)
    device_id: str = Field(max_length=36)
    # No foreign key: the access is an audit record that outlives a patient purged past
    # their retention (`purge.py` deletes the patient row, never this).
    patient_id: str = Field(index=True, max_length=36)
    reason_code: str = Field(max_length=40)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    minutes: int
    granted_at: float
    expires_at: float = Field(index=True)
    change_seq: int = Field(index=True)
    ended_seq: int | None = Field(default=None, index=True)
    """The change number of its end, given at the clinician's first pull after it ended."""
    reviewed_at: float | None = None
    reviewed_by: str | None = Field(default=None, max_length=64)
    reviewed_device: str | None = Field(default=None, max_length=36)
    review_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class SupervisorNotice(SQLModel, table=True):
    """Something a supervisor must see at once; closed when they act on it."""

    __tablename__ = "supervisor_notice"

    id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(max_length=40)
    subject_id: str = Field(index=True, max_length=36)
    clinician: str = Field(max_length=64)
    created_at: float = Field(index=True)
    closed_at: float | None = None
    closed_by: str | None = Field(default=None, max_length=64)


class GrantEnded(Forbidden):
    """A read under a grant that has ended (403)."""

    code = "break_glass_ended"


def grant(
    session: Session,
    clinician: str,
    device_id: str,
    request: AccessRequest,
    settings: ServerSettings,
    now: float,
) -> BreakGlassGrant:
    """Grant the access and notify the supervisors (not committed: the route audits last).

    `Invalid` for a length over the setting, `NotFound` for an unknown patient.
    """
    limit = settings.break_glass.max_minutes
    minutes = request.minutes if request.minutes is not None else limit
    if minutes > limit:
        raise Invalid(f"break-glass access lasts at most {limit} minutes (asked {minutes})")
    patient_id = str(request.patient_id)
    if session.get(Patient, patient_id) is None:
        raise NotFound("no such patient")
    row = BreakGlassGrant(
        id=str(uuid.uuid4()),
        clinician=clinician,
        device_id=device_id,
        patient_id=patient_id,
        reason_code=request.reason_code,
        reason=request.reason,
        minutes=minutes,
        granted_at=now,
        expires_at=now + minutes * 60,
        change_seq=take_change_numbers(session),
    )
    session.add(row)
    session.add(
        SupervisorNotice(
            id=str(uuid.uuid4()),
            kind="break_glass",
            subject_id=row.id,
            clinician=clinician,
            created_at=now,
        )
    )
    session.flush()
    return row


def own_grant(session: Session, clinician: str, grant_id: str) -> BreakGlassGrant:
    """The caller's grant by id (`NotFound` for anyone else's: no leak of its existence)."""
    row = session.get(BreakGlassGrant, grant_id)
    if row is None or row.clinician != clinician:
        raise NotFound("no such break-glass access")
    return row


def check_active(row: BreakGlassGrant, now: float) -> None:
    """`GrantEnded` unless the grant holds at `now`."""
    if not row.granted_at <= now < row.expires_at:
        raise GrantEnded("This break-glass access has ended: ask again if you still need it.")


def review(
    session: Session, grant_id: str, supervisor: str, device_id: str, note: str | None, now: float
) -> BreakGlassGrant:
    """Mark an access reviewed by this supervisor's identity, and close its notice.

    `Invalid` if it was reviewed already (the first review stands), `NotFound` if unknown.
    """
    row = session.get(BreakGlassGrant, grant_id)
    if row is None:
        raise NotFound("no such break-glass access")
    if row.reviewed_at is not None:
        raise Invalid(f"this access was reviewed already by {row.reviewed_by}")
    row.reviewed_at, row.reviewed_by, row.reviewed_device = now, supervisor, device_id
    row.review_note = note
    session.add(row)
    for notice in session.exec(
        sm_select(SupervisorNotice).where(col(SupervisorNotice.subject_id) == grant_id)
    ):
        notice.closed_at, notice.closed_by = now, supervisor
        session.add(notice)
    session.flush()
    return row


def grants(session: Session, unreviewed_only: bool = False) -> Sequence[BreakGlassGrant]:
    """Every access (or those not yet reviewed), newest first."""
    query = sm_select(BreakGlassGrant).order_by(col(BreakGlassGrant.granted_at).desc())
    if unreviewed_only:
        query = query.where(col(BreakGlassGrant.reviewed_at).is_(None))
    return session.exec(query).all()


def in_force(session: Session, clinician: str, now: float) -> Sequence[BreakGlassGrant]:
    """The clinician's grants holding at `now`, newest first."""
    return session.exec(
        sm_select(BreakGlassGrant)
        .where(
            col(BreakGlassGrant.clinician) == clinician,
            col(BreakGlassGrant.granted_at) <= now,
            col(BreakGlassGrant.expires_at) > now,
        )
        .order_by(col(BreakGlassGrant.granted_at).desc())
    ).all()


def open_notices(session: Session) -> Sequence[SupervisorNotice]:
    """Notices no supervisor has acted on, oldest first."""
    return session.exec(
        sm_select(SupervisorNotice)
        .where(col(SupervisorNotice.closed_at).is_(None))
        .order_by(col(SupervisorNotice.created_at))
    ).all()


def board_rows(session: Session) -> list[BoardBreakGlass]:
    """Accesses awaiting review as the dispatch board lists them, oldest first."""
    rows = list(reversed(grants(session, unreviewed_only=True)))
    ids = sorted({r.patient_id for r in rows})
    names = {
        p.id: json.loads(p.contact).get("display_name")
        for p in session.exec(sm_select(Patient).where(col(Patient.id).in_(ids)))
    }
    return [
        BoardBreakGlass(
            id=uuid.UUID(r.id),
            clinician=r.clinician,
            patient_id=uuid.UUID(r.patient_id),
            patient_name=names.get(r.patient_id),
            reason_code=r.reason_code,
            granted_at=when(r.granted_at),
            expires_at=when(r.expires_at),
        )
        for r in rows
    ]


# -- the pull's view ------------------------------------------------------------------------

_GRANT = BreakGlassGrant.__table__.c  # type: ignore[attr-defined]
# One statement a pull: the grants not yet ended (in force, to come, or ended and not yet
# marked) and those whose end came after the cursor.
_FOR_PULL = select(
    _GRANT.id,
    _GRANT.patient_id,
    _GRANT.change_seq,
    _GRANT.granted_at,
    _GRANT.expires_at,
    _GRANT.ended_seq,
).where(
    _GRANT.clinician == bindparam("who"),
    or_(_GRANT.ended_seq.is_(None), _GRANT.ended_seq > bindparam("after")),
)
_MARK_END = (
    update(_GRANT.id.table)
    .where(_GRANT.id == bindparam("grant_id"))
    .values(ended_seq=bindparam("seq"))
)
NO_ENDS = 2**31 - 1  # change numbers are 32-bit integers on PostgreSQL
"""`after` for a pull from scratch: it needs no ends (it never held those patients)."""


@dataclass(frozen=True)
class ActiveGrant:
    """A grant in force, as a pull needs it."""

    id: str
    patient_id: str
    change_seq: int


@dataclass(frozen=True)
class PullGrants:
    """The clinician's grants as one pull sees them."""

    active: dict[str, ActiveGrant]
    """In force now, by patient (the newest grant of a patient wins)."""
    ends: list[tuple[int, str]]
    """(change number of the end, patient id) of grants whose end came after the cursor."""


def for_pull(session: Session, clinician: str, now: float, after: int) -> PullGrants:
    """The clinician's grants for a pull whose cursor is at change `after`.

    A grant ended by `now` without an end change number gets one here: call this before
    the pull reads its high-water mark (the counter's row lock orders it with every other
    change, so every laptop of the clinician hears of the end after its own cursor).
    """
    conn = session.connection()
    rows = fetch_rows(conn, _FOR_PULL, {"who": clinician, "after": after})
    ending = sorted(r.id for r in rows if r.ended_seq is None and r.expires_at <= now)
    marked: dict[str, int] = {}
    if ending:
        first = take_change_numbers(session, len(ending))
        for offset, grant_id in enumerate(ending):
            marked[grant_id] = first + offset
            conn.execute(_MARK_END, {"grant_id": grant_id, "seq": first + offset})
    active: dict[str, ActiveGrant] = {}
    ends: list[tuple[int, str]] = []
    for row in rows:
        end = row.ended_seq if row.ended_seq is not None else marked.get(row.id)
        if end is not None:
            if end > after:
                ends.append((int(end), str(row.patient_id)))
        elif row.granted_at <= now:
            current = active.get(row.patient_id)
            if current is None or row.change_seq > current.change_seq:
                active[row.patient_id] = ActiveGrant(row.id, row.patient_id, row.change_seq)
    return PullGrants(active, sorted(ends))


def when(epoch: float) -> datetime:
    """A stored time as an aware UTC datetime."""
    return datetime.fromtimestamp(epoch, UTC)
