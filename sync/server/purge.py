"""Purging records past their retention: planned, refused when it would reach too far,
carried out in one transaction with one audit record, and told to the laptops.

A plan sorts every record of the selection into due, held (a legal hold covers it) and not
yet due. A purge that asks for something held or not yet due (`--before`, `--kind`,
`--patient`) is refused whole, naming how many and why; the plain purge takes exactly what
is due and not held, and says how many holds kept back. Carrying it out deletes the rows
(with any set-aside copy of them), writes a `PurgeExit` per record and clinician so their
laptops drop it at the next pull, and appends one audit event holding the purge's ids and
counts, never content. The audit log itself is never purged, so its chain still verifies.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import delete, select
from sqlmodel import Session, col

from sync.server import audit
from sync.server.changes import take_change_numbers
from sync.server.errors import ServerError
from sync.server.models import AppUser, DeviceRecordRow, Patient, ReviewItem, VisitExit, VisitRow
from sync.server.plan_models import VisitRequestRow
from sync.server.records_config import RetentionSettings
from sync.server.records_models import PurgeExit
from sync.server.retention import Holds, active_holds, due_on

_CHUNK = 500


class PurgeRefused(ServerError):
    """The purge asked for records under a legal hold or not yet due: nothing was purged."""

    code = "purge_refused"


@dataclass(frozen=True)
class Selection:
    """What a purge asks for; nothing given means everything due."""

    before: date | None = None
    kinds: frozenset[str] | None = None
    patient: str | None = None

    @property
    def explicit(self) -> bool:
        """Whether the operator narrowed or stretched the purge by hand."""
        return self.before is not None or self.kinds is not None or self.patient is not None

    def takes(self, kind: str, patient_id: str | None, day: date) -> bool:
        """Whether a record is within the selection."""
        return (
            (self.kinds is None or kind in self.kinds)
            and (self.patient is None or patient_id == self.patient)
            and (self.before is None or day < self.before)
        )


@dataclass(frozen=True)
class Candidate:
    """One record the selection reaches, with when it falls due and any hold on it."""

    kind: str
    record_id: str
    patient_id: str | None
    clinicians: tuple[str, ...]
    day: date
    due: date
    hold: str | None


@dataclass
class PurgePlan:
    """The selection sorted: due, held and not yet due."""

    today: date
    selection: Selection
    due: list[Candidate] = field(default_factory=list)
    held: list[Candidate] = field(default_factory=list)
    not_due: list[Candidate] = field(default_factory=list)

    def refusal(self) -> str | None:
        """Why this purge must not run, or None."""
        if not self.selection.explicit:
            return None
        problems = []
        if self.held:
            holds = sorted({c.hold for c in self.held if c.hold})
            problems.append(f"{len(self.held)} records are under legal hold ({', '.join(holds)})")
        if self.not_due:
            first = min(self.not_due, key=lambda c: c.due)
            problems.append(
                f"{len(self.not_due)} records are not yet due "
                f"(the first {first.kind} record falls due on {first.due.isoformat()})"
            )
        return "; ".join(problems) + ": nothing was purged" if problems else None

    def counts(self) -> dict[str, int]:
        """Records to purge, by kind."""
        found: dict[str, int] = defaultdict(int)
        for candidate in self.due:
            found[candidate.kind] += 1
        return dict(sorted(found.items()))


def _day(value: str, zone: ZoneInfo) -> date:
    return datetime.fromisoformat(value).astimezone(zone).date()


_DEVICE_ROWS = select(
    col(DeviceRecordRow.id),
    col(DeviceRecordRow.kind),
    col(DeviceRecordRow.patient_id),
    col(DeviceRecordRow.user_name),
    col(DeviceRecordRow.payload),
)
_VISIT_ROWS = select(
    col(VisitRow.id),
    col(VisitRow.patient_id),
    col(VisitRow.clinician_id),
    col(VisitRow.scheduled_on),
)


def plan_purge(
    session: Session,
    settings: RetentionSettings,
    selection: Selection,
    today: date,
    zone: ZoneInfo,
) -> PurgePlan:
    """Sort every record the selection reaches into due, held and not yet due."""
    clinicians = set(
        session.execute(select(col(AppUser.name)).where(col(AppUser.role) == "clinician")).scalars()
    )
    device = [
        (rid, kind, pid, user, _day(orjson.loads(payload)["recorded_at"], zone))
        for rid, kind, pid, user, payload in session.execute(_DEVICE_ROWS)
    ]
    visits = list(session.execute(_VISIT_ROWS).all())
    last: dict[str, date] = {}
    for _, _, pid, _, day in device:
        if pid is not None:
            last[pid] = max(day, last.get(pid, day))
    for _, pid, _, day in visits:
        last[pid] = max(day, last.get(pid, day))
    plan = PurgePlan(today, selection)
    holds = active_holds(session)

    def consider(kind: str, rid: str, pid: str | None, who: Iterable[str], day: date) -> None:
        if not selection.takes(kind, pid, day):
            return
        due = due_on(settings, kind, day, last.get(pid) if pid else None)
        found = Candidate(kind, rid, pid, tuple(sorted(set(who) & clinicians)), day, due, None)
        _sort(plan, found, holds)

    for rid, kind, pid, user, day in device:
        consider(kind, rid, pid, [user], day)
    for rid, pid, clinician, day in visits:
        consider("visit", rid, pid, [clinician], day)
    owned = [(rid, pid) for rid, _, pid, _, _ in device]
    owned += [(rid, pid) for rid, pid, _, _ in visits]
    _patients(session, plan, consider, last, owned, visits)
    return plan


def _sort(plan: PurgePlan, candidate: Candidate, holds: Holds) -> None:
    hold = holds.covering(candidate.patient_id, candidate.day)
    if hold is not None:
        plan.held.append(Candidate(**{**vars(candidate), "hold": hold}))
    elif candidate.due > plan.today:
        plan.not_due.append(candidate)
    else:
        plan.due.append(candidate)


def _patients(
    session: Session,
    plan: PurgePlan,
    consider: Any,
    last: dict[str, date],
    owned: list[tuple[str, str | None]],
    visits: list[Any],
) -> None:
    """A patient goes only with everything of theirs: each record and visit due now."""
    going = {c.record_id for c in plan.due}
    staying = {pid for rid, pid in owned if rid not in going}
    whose = defaultdict(list)
    for _, pid, clinician, _ in visits:
        whose[pid].append(clinician)
    for (pid,) in session.execute(select(col(Patient.id))):
        if pid in last and pid not in staying:
            consider("patient", pid, pid, whose[pid], last[pid])


def accounted_for(
    session: Session, clinician: str, markers: list[tuple[str, str, str]]
) -> set[tuple[str, str]]:
    """Which purge markers (kind, id, content hash) of this clinician's laptop the server
    accounts for: the clinic purged that record of theirs, or still holds it as sent (a
    server restored from a copy taken before the purge)."""
    found: set[tuple[str, str]] = set()
    wanted = {(kind, rid) for kind, rid, _ in markers}
    hashes = {(kind, rid, content) for kind, rid, content in markers}
    for chunk in _chunks(sorted({rid for _, rid, _ in markers})):
        purged = session.execute(
            select(col(PurgeExit.kind), col(PurgeExit.record_id)).where(
                col(PurgeExit.clinician_id) == clinician, col(PurgeExit.record_id).in_(chunk)
            )
        )
        found.update((kind, rid) for kind, rid in purged if (kind, rid) in wanted)
        held = session.execute(
            select(
                col(DeviceRecordRow.kind),
                col(DeviceRecordRow.id),
                col(DeviceRecordRow.content_hash),
            ).where(col(DeviceRecordRow.user_name) == clinician, col(DeviceRecordRow.id).in_(chunk))
        )
        found.update((kind, rid) for kind, rid, content in held if (kind, rid, content) in hashes)
    return found


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


@dataclass(frozen=True)
class PurgeDone:
    """A purge carried out: its id and how many records of each kind went."""

    purge_id: str
    counts: dict[str, int]
    held: int


def execute_purge(session: Session, plan: PurgePlan, by: str, now: datetime) -> PurgeDone:
    """Carry out a plan, or raise `PurgeRefused` (then nothing is purged)."""
    refusal = plan.refusal()
    if refusal is not None:
        raise PurgeRefused(refusal)
    purge_id = str(uuid.uuid4())
    ids: dict[str, list[str]] = defaultdict(list)
    for candidate in plan.due:
        ids[candidate.kind].append(candidate.record_id)
    device_ids = [
        rid for kind, found in ids.items() if kind not in ("visit", "patient") for rid in found
    ]
    for chunk in _chunks(device_ids):
        session.execute(delete(ReviewItem).where(col(ReviewItem.record_id).in_(chunk)))
        session.execute(delete(DeviceRecordRow).where(col(DeviceRecordRow.id).in_(chunk)))
    for chunk in _chunks(ids.get("visit", [])):
        session.execute(delete(VisitExit).where(col(VisitExit.visit_id).in_(chunk)))
        session.execute(delete(VisitRow).where(col(VisitRow.id).in_(chunk)))
    for chunk in _chunks(ids.get("patient", [])):
        session.execute(delete(VisitRequestRow).where(col(VisitRequestRow.patient_id).in_(chunk)))
        session.execute(delete(Patient).where(col(Patient.id).in_(chunk)))
    exits = [(c.kind, c.record_id, who) for c in plan.due for who in c.clinicians]
    if exits:
        seq = take_change_numbers(session, len(exits))
        session.add_all(
            PurgeExit(seq=seq + n, kind=kind, record_id=rid, clinician_id=who, purge_id=purge_id)
            for n, (kind, rid, who) in enumerate(exits)
        )
        session.flush()
    counts = plan.counts()
    audit.append(
        session,
        actor=by,
        action="purge",
        outcome="ok",
        detail={
            "purge": purge_id,
            "counts": counts,
            "ids": {kind: sorted(found) for kind, found in sorted(ids.items())},
            "held": len(plan.held),
            "before": plan.selection.before.isoformat() if plan.selection.before else None,
        },
        now=now,
    )
    return PurgeDone(purge_id, counts, len(plan.held))
