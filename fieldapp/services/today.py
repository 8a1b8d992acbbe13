"""The day's visits as rows for the today screen, each with a status derived from events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING
from uuid import UUID

from fieldapp.services.clock import today
from fieldapp.services.ports import StorePort

if TYPE_CHECKING:
    from fieldapp.services.context import AppServices
from sync.records import DoseAdministration, Record, ShiftCheck, StatusEvent, Visit

STATUS_WORDS = {
    None: "scheduled",
    "en_route": "en route",
    "arrived": "arrived",
    "check_in": "arrived",
    "infusion_started": "infusing",
    "infusion_ended": "recovering",
    "checked_out": "done",
    # Declined at the checklist (a hard stop, or the patient said no): no dose was given.
    "declined": "not given",
    "duress": "DURESS",
}
# Events that move a visit along; `check_in` and `duress` are safety events, not steps.
PROGRESS = ("en_route", "arrived", "infusion_started", "infusion_ended", "checked_out", "declined")
STOPPED_EARLY = "stopped early"
NOT_GIVEN = "not given"
FINISHED = ("done", STOPPED_EARLY, NOT_GIVEN)
"""The words of a visit checked out: "done" only when the whole dose was given."""


@dataclass(frozen=True)
class VisitRow:
    """One line of the today screen: plain data, no store behind it."""

    visit_id: UUID
    patient_id: UUID
    order: int
    window: str
    eta: str
    patient: str
    address: str
    course: str
    status: str
    flags: tuple[str, ...]
    review: bool
    colleague: str | None = None
    """The clinician the visit is assigned to when it is not this laptop's: a visit a
    break-glass grant brought, which must never read as one of today's own."""


def derive_status(visit: Visit, events: Iterable[StatusEvent]) -> tuple[str, bool]:
    """The visit's status word from its events, and whether office and device disagree.

    A visit cancelled at the office after the clinician started it offline keeps both
    facts: the device's progress is shown and the row is flagged for review.
    """
    progress = [e for e in events if e.status in PROGRESS]
    progress.sort(key=lambda e: (e.at, PROGRESS.index(e.status)))
    latest = progress[-1].status if progress else None
    if visit.status == "cancelled":
        return ("cancelled" if latest is None else STATUS_WORDS[latest]), latest is not None
    return STATUS_WORDS[latest], bool(visit.review_flags)


def outcome(status: str, records: Iterable[Record], visit_id: UUID) -> str:
    """A finished visit's word says how it ended: the infusion stopped early, or no dose
    given at all (checked out after a hold); any other status stays as it is."""
    if status != "done":
        return status
    given = [r for r in records if isinstance(r, DoseAdministration) and r.visit_id == visit_id]
    if not given:
        return NOT_GIVEN
    return STOPPED_EARLY if any(r.stopped_early for r in given) else status


def open_visits(store: StorePort, days: Iterable[date]) -> list[Visit]:
    """The visits of these days under way: checked in and not checked out, in day order.
    A declined visit is still open: the clinician is in the home until check-out."""
    found: list[Visit] = []
    for day in sorted(set(days)):
        for visit in store.visits_for_day(day):
            statuses = {e.status for e in visit_events(store.visit_records(visit.id), visit.id)}
            if "arrived" in statuses and "checked_out" not in statuses:
                found.append(visit)
    return found


def visit_events(records: Iterable[Record], visit_id: UUID) -> list[StatusEvent]:
    """The status events of one visit among a patient's records."""
    return [r for r in records if isinstance(r, StatusEvent) and r.visit_id == visit_id]


def build_rows(
    visits: Iterable[Visit],
    names: dict[UUID, str],
    records_by_patient: dict[UUID, list[Record]],
    user: str | None = None,
) -> list[VisitRow]:
    """Rows in route order (then window start) for the given visits (a visit assigned to
    someone other than `user` names them)."""
    rows = []
    ordered = sorted(visits, key=lambda v: (v.route_order or 999, v.window_start))
    for index, visit in enumerate(ordered, start=1):
        records = records_by_patient.get(visit.patient_id, [])
        status, review = derive_status(visit, visit_events(records, visit.id))
        status = outcome(status, records, visit.id)
        unit = f" {visit.address.unit}" if visit.address.unit else ""
        rows.append(
            VisitRow(
                visit_id=visit.id,
                patient_id=visit.patient_id,
                order=visit.route_order or index,
                window=f"{visit.window_start:%H:%M}–{visit.window_end:%H:%M}",
                eta=f"{visit.eta:%H:%M}" if visit.eta else "–",
                patient=names.get(visit.patient_id, "(unknown patient)"),
                address=f"{visit.address.street}{unit}, {visit.address.city}",
                course=str(visit.course),
                status=status,
                flags=tuple(visit.safety_flags),
                review=review,
                colleague=(visit.clinician_id if user and visit.clinician_id != user else None),
            )
        )
    return rows


def rows_for_day(store: StorePort, day: date, user: str | None = None) -> list[VisitRow]:
    """Load the day from the store and build its rows (run it in a worker thread).

    Only each visit's own records are read (a blind index on the visit), never a
    patient's whole history: launch time must not grow with years of visits.
    """
    visits = store.visits_for_day(day)
    names: dict[UUID, str] = {}
    records: dict[UUID, list[Record]] = {}
    for visit in visits:
        if visit.patient_id not in names:
            patient = store.patient(visit.patient_id)
            names[visit.patient_id] = patient.display_name if patient else "(unknown patient)"
        records.setdefault(visit.patient_id, []).extend(store.visit_records(visit.id))
    return build_rows(visits, names, records, user)


def todays_check(services: AppServices) -> ShiftCheck | None:
    """This clinician's start-of-shift check of today, the newest (None: not done). Here,
    not in `shift`, so today's list opens without loading the checklist templates."""
    day = today(services.clock)
    # Checks are made day after day: the first one of an earlier day ends the search, so a
    # launch decrypts today's checks, not one for every working day of the store's life.
    newest = services.store.newest_of_kind(
        ShiftCheck.KIND, stop=lambda r: isinstance(r, ShiftCheck) and r.day < day
    )
    found = [
        r
        for r in newest
        if isinstance(r, ShiftCheck) and r.day == day and r.recorded_by == services.user
    ]
    return max(found, key=lambda r: r.recorded_at) if found else None
