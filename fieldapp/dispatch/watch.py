"""The board's view of a day: the lone-worker ladder on every visit under way, worst first.

The ladder's thresholds and actions are the clinical engine's (`evaluate_ladder` with the
clinic's protocol); this module only turns synced check-ins into its input and orders the
rows so that a duress signal, then the highest escalation step, then the longest overdue
visit, come first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fieldapp.clinical.lone_worker import CheckIn, LadderDecision, LoneWorkerInput, evaluate_ladder
from fieldapp.clinical.protocol import Protocol
from sync.server.plan_models import Board, BoardClinician, BoardVisit, LiveEvent

# How each synced device status reads as a lone-worker contact.
CONTACT_KINDS = {
    "arrived": "arrival",
    "infusion_started": "infusion_start",
    "infusion_ended": "ok",
    "check_in": "ok",
    "checked_out": "check_out",
    # Declined is a contact, not the end: the clinician is in the home until check-out.
    "declined": "ok",
    "duress": "duress",
}
FINISHED = frozenset({"checked_out"})


@dataclass(frozen=True)
class VisitWatch:
    """One visit on the board with the ladder step due now (None when not under way)."""

    visit: BoardVisit
    clinician_id: str | None
    decision: LadderDecision | None
    rank: int

    @property
    def step(self) -> str:
        """The step due now: `none`, a ladder step id, or `emergency`."""
        return self.decision.step if self.decision else "none"

    @property
    def alert(self) -> bool:
        """Whether this visit needs the dispatcher now."""
        return self.rank > 0


@dataclass(frozen=True)
class DayWatch:
    """The whole board: rows worst first, and the duress signals seen."""

    rows: list[VisitWatch]
    duress: list[tuple[str, datetime]]

    def alerts(self) -> list[VisitWatch]:
        """Rows with a ladder step or duress due, worst first."""
        return [row for row in self.rows if row.alert]


def step_rank(step: str, protocol: Protocol) -> int:
    """0 for none, the ladder position for a step, above them all for an emergency."""
    ids = [s.id for s in protocol.lone_worker.steps]
    if step == "emergency":
        return len(ids) + 1
    return ids.index(step) + 1 if step in ids else 0


def arrival(events: list[LiveEvent]) -> datetime | None:
    """When the clinician arrived (the first arrival, else the first contact of the visit)."""
    arrived = [e.at for e in events if e.status == "arrived"]
    if arrived:
        return arrived[0]
    on_site = [e.at for e in events if e.status in CONTACT_KINDS]
    return on_site[0] if on_site else None


def expected_end(visit: BoardVisit) -> datetime | None:
    """The planned check-out of a visit under way: arrival plus the visit's duration."""
    start = arrival(visit.events)
    return start + timedelta(minutes=visit.duration_min) if start else None


def ladder(visit: BoardVisit, protocol: Protocol, now: datetime) -> LadderDecision | None:
    """The engine's decision for a visit under way or with a duress signal; else None."""
    planned_end = expected_end(visit)
    if planned_end is None:
        return None
    contacts = [
        CheckIn(at=e.at, kind=CONTACT_KINDS[e.status])  # type: ignore[arg-type]
        for e in visit.events
        if e.status in CONTACT_KINDS
    ]
    return evaluate_ladder(
        LoneWorkerInput(planned_end=planned_end, now=now, check_ins=contacts), protocol
    )


def watch_day(board: Board, protocol: Protocol, now: datetime) -> DayWatch:
    """Every visit of the day, alerts first (worst first), then each route in order."""
    rows: list[VisitWatch] = []
    duress: list[tuple[str, datetime]] = []
    for clinician in board.clinicians:
        visits = _with_duty_duress(clinician)
        rows += [_watch(v, clinician.clinician_id, protocol, now) for v in visits]
        if clinician.duress_at is not None:
            duress.append((clinician.clinician_id, clinician.duress_at))
    rows += [_watch(v, None, protocol, now) for v in board.unassigned]
    alerts = sorted(
        (r for r in rows if r.alert),
        key=lambda r: (-r.rank, -float(r.decision.minutes_overdue if r.decision else 0)),
    )
    return DayWatch(rows=alerts + [r for r in rows if not r.alert], duress=duress)


def _watch(
    visit: BoardVisit, clinician: str | None, protocol: Protocol, now: datetime
) -> VisitWatch:
    decision = ladder(visit, protocol, now) if visit.status != "cancelled" else None
    rank = step_rank(decision.step, protocol) if decision else 0
    return VisitWatch(visit=visit, clinician_id=clinician, decision=decision, rank=rank)


def _with_duty_duress(clinician: BoardClinician) -> list[BoardVisit]:
    """A duress signal sent away from any visit shows on the visit the clinician is at or
    heading to (the last one when the day is done), so it is never lost off the board."""
    visits = list(clinician.visits)
    if clinician.duress_at is None or not visits or any(v.live == "duress" for v in visits):
        return visits
    target = next(
        (i for i, v in enumerate(visits) if in_progress(v)),
        next((i for i, v in enumerate(visits) if v.live is None), len(visits) - 1),
    )
    signal = LiveEvent(status="duress", at=clinician.duress_at)
    visit = visits[target]
    visits[target] = visit.model_copy(
        update={"events": [*visit.events, signal], "live": "duress", "live_at": signal.at}
    )
    return visits


def in_progress(visit: BoardVisit) -> bool:
    """Whether the clinician is at this visit now (arrived, not yet checked out)."""
    return arrival(visit.events) is not None and not any(e.status in FINISHED for e in visit.events)
