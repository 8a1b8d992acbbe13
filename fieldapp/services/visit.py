"""One home visit, step by step: every step is a record appended to the store.

`VisitSession` reads the visit's records back to know where it stands (so a visit
reopened after a lock, a crash or a day offline resumes at the right step), and each
method that finishes a step writes that step's record. The clinical judgements come from
the engine through the step services (checklist, infusion, recovery).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar
from uuid import UUID

from fieldapp.errors import FieldAppError
from fieldapp.services.context import AppServices
from fieldapp.services.safety import restore_timer
from fieldapp.services.today import derive_status, open_visits, visit_events
from sync.records import (
    Addendum,
    ChecklistSubmission,
    DeviceRecord,
    DoseAdministration,
    DoseOrder,
    Incident,
    PatientSummary,
    Record,
    RecordInvalid,
    RecoveryRecord,
    SessionNote,
    StatusEvent,
    Visit,
    VitalsReading,
    parse_record,
)

Step = Literal["checkin", "checklist", "dose", "monitor", "recovery", "note", "checkout", "done"]
STEPS: tuple[Step, ...] = (
    "checkin",
    "checklist",
    "dose",
    "monitor",
    "recovery",
    "note",
    "checkout",
    "done",
)
# The EVV "type of service" element; the other five come from the visit and the clock.
SERVICE_TYPE = "home IV ketamine infusion"
R = TypeVar("R", bound=Record)


class VisitNotFound(FieldAppError):
    """The visit is not in the store (it may have been re-planned at the office)."""


class StepRefused(FieldAppError):
    """A step cannot be taken yet; the message says what is missing."""


class AnotherVisitOpen(StepRefused):
    """Checking in while another visit is checked in and not checked out: refused unless
    the clinician states why (the reason goes on the arrival record, and syncs)."""

    def __init__(self, others: list[Visit]) -> None:
        self.others = others
        when = ", ".join(f"{v.window_start:%H:%M}" for v in others)
        super().__init__(
            f"Another visit (window from {when}) is still checked in: check it out first, "
            "or give the reason for a second open visit."
        )


MIN_REASON_CHARS = 5
"""A reason for a second open visit says something ("ok" is no reason)."""


class VisitSession:
    """The state and the actions of one visit."""

    def __init__(
        self, services: AppServices, visit: Visit, patient: PatientSummary, records: list[Record]
    ) -> None:
        self.services = services
        self.visit = visit
        self.patient = patient
        self.records = [r for r in records if getattr(r, "visit_id", None) == visit.id]
        self._earlier: list[Record] | None = None

    @property
    def earlier(self) -> list[Record]:
        """The patient's records from other visits, read on first use (years of them)."""
        if self._earlier is None:
            history = self.services.store.patient_history(self.visit.patient_id)
            self._earlier = [r for r in history if getattr(r, "visit_id", None) != self.visit.id]
        return self._earlier

    @classmethod
    def load(cls, services: AppServices, visit_id: UUID) -> VisitSession:
        """Read the visit, its patient and this visit's records from the store."""
        store = services.store
        visit = store.get("visit", visit_id)
        if not isinstance(visit, Visit):
            raise VisitNotFound("That visit is no longer in the store: refresh today's list.")
        patient = store.patient(visit.patient_id)
        if patient is None:
            raise VisitNotFound("The patient of that visit is not in the store: sync first.")
        return cls(services, visit, patient, store.visit_records(visit.id))

    # -- reading -------------------------------------------------------------------------

    def of(self, kind: type[R]) -> list[R]:
        """This visit's records of one kind, oldest first."""
        return [r for r in self.records if isinstance(r, kind)]

    def last(self, kind: type[R]) -> R | None:
        """The newest record of one kind in this visit."""
        found = self.of(kind)
        return found[-1] if found else None

    def has_status(self, status: str) -> bool:
        """Whether a status event of this kind was recorded."""
        return any(e.status == status for e in self.of(StatusEvent))

    def status_at(self, status: str) -> datetime | None:
        """When the first status event of this kind was recorded."""
        return next((e.at for e in self.of(StatusEvent) if e.status == status), None)

    @property
    def status(self) -> str:
        """The status word the today screen shows."""
        return derive_status(self.visit, visit_events(self.records, self.visit.id))[0]

    @property
    def step(self) -> Step:
        """The step this visit is at, from what was recorded."""
        if self.has_status("checked_out"):
            return "done"
        if not self.has_status("arrived"):
            return "done" if self.has_status("declined") else "checkin"
        if self.has_status("declined"):
            # No infusion, but the clinician is still in the home: the visit (and the
            # lone-worker timer) ends only at check-out, when they leave.
            return "checkout"
        checklist = self.last(ChecklistSubmission)
        if checklist is None or checklist.decision not in ("proceed", "proceed_with_flags"):
            return "checklist"
        if self.last(DoseOrder) is None:
            return "dose"
        if not self.has_status("infusion_ended"):
            return "monitor"
        recovery = self.last(RecoveryRecord)
        if recovery is None or recovery.decision != "cleared":
            return "recovery"
        note = self.last(SessionNote)
        if note is None or note.status != "signed":
            return "note"
        return "checkout"

    def last_checklist_answers(self) -> dict[str, Any]:
        """The answers of the newest checklist submission (empty before one)."""
        checklist = self.last(ChecklistSubmission)
        return dict(checklist.answers) if checklist is not None else {}

    @property
    def first_infusion(self) -> bool:
        """Whether this is the patient's first infusion (longer observation)."""
        return self.patient.infusions_completed == 0 and not self.patient.past_sessions

    def draft_key(self, form: str) -> str:
        """The draft key of one form of this visit."""
        return f"{form}:{self.visit.id}"

    # -- writing -------------------------------------------------------------------------

    def new(self, kind: type[R], **fields: Any) -> R:
        """A new device record of `kind` for this visit, stamped now by this clinician."""
        base: dict[str, Any] = {
            "id": uuid.uuid4(),
            "patient_id": self.patient.id,
            "visit_id": self.visit.id,
            "recorded_at": self.services.clock.now(),
            "recorded_by": self.services.user,
        }
        try:
            return parse_record(kind.KIND, {**base, **fields})  # type: ignore[return-value]
        except RecordInvalid as exc:
            # The schema's message names each field and its range, never the value.
            raise StepRefused(f"Not saved: {'; '.join(exc.problems)}.") from None

    def save(self, record: DeviceRecord) -> None:
        """Append a record to the store and to this session."""
        self.services.store.save(record)
        self.records.append(record)

    def set_status(self, status: str, **evv: Any) -> StatusEvent:
        """Record a status event now."""
        event = self.new(StatusEvent, status=status, at=self.services.clock.now(), **evv)
        self.save(event)
        return event

    # -- check-in and check-out ----------------------------------------------------------

    def en_route(self) -> None:
        """Leaving for this visit."""
        if not self.has_status("en_route"):
            self.set_status("en_route")

    def open_elsewhere(self) -> list[Visit]:
        """Other visits of the day checked in and not checked out (a declined visit is
        open until its check-out: the clinician is still there)."""
        days = [self.visit.scheduled_on, self.services.clock.now().date()]
        return [v for v in open_visits(self.services.store, days) if v.id != self.visit.id]

    def arrive(
        self,
        lat: float | None,
        lon: float | None,
        attested: bool,
        note: str | None = None,
        second_reason: str | None = None,
    ) -> StatusEvent:
        """Check in with the six EVV elements; without a fix the location must be attested.

        One visit is checked in at a time: with another still open the check-in is refused
        (`AnotherVisitOpen`) unless `second_reason` says why; the reason is kept in the
        arrival's note, so the clinic sees it.
        """
        if self.has_status("arrived"):
            raise StepRefused("This visit is already checked in.")
        others = self.open_elsewhere()
        reason = (second_reason or "").strip()
        if others and len(reason) < MIN_REASON_CHARS:
            raise AnotherVisitOpen(others)
        if others:
            ids = ", ".join(str(v.id) for v in others)
            stated = f"Second open visit (still checked in: {ids}). Reason: {reason}"
            note = (f"{note}\n{stated}" if note else stated)[:2000]
        if (lat is None or lon is None) and not attested:
            raise StepRefused("No location fix: attest that you are at the patient's address.")
        event = self._evv_event("arrived", lat, lon, attested, note)
        end = self.services.clock.now() + timedelta(minutes=self.visit.duration_min)
        self.services.lone_worker.check_in(self.visit.id, end)
        self.services.current_visit = self
        return event

    def decline(self, why: str) -> None:
        """No infusion at this visit (a hard stop, or the patient declined); check-out,
        when the clinician leaves, still ends it."""
        self.set_status("declined", note=why[:2000])

    def check_out(self, lat: float | None, lon: float | None, attested: bool) -> StatusEvent:
        """Check out with the six EVV elements; the lone-worker timer stops."""
        if self.step not in ("checkout", "done") or self.has_status("checked_out"):
            raise StepRefused("Sign the session note before checking out.")
        event = self._evv_event("checked_out", lat, lon, attested)
        services = self.services
        if services.lone_worker.visit_id in (None, self.visit.id):
            services.lone_worker.check_out()
            # A visit still open elsewhere (checked in to with a stated reason) takes the
            # timer back, so nobody is left on a visit without one.
            still_open = self.open_elsewhere()
            if still_open:
                restore_timer(services, VisitSession.load(services, still_open[-1].id))
        if services.current_visit_id == self.visit.id:
            services.current_visit = None
        return event

    def _evv_event(
        self,
        status: str,
        lat: float | None,
        lon: float | None,
        attested: bool,
        note: str | None = None,
    ) -> StatusEvent:
        """An arrival or check-out with the six EVV elements (location fixed or attested)."""
        if (lat is None or lon is None) and not attested:
            raise StepRefused("No location fix: attest that you are at the patient's address.")
        return self.set_status(
            status,
            service_type=SERVICE_TYPE,
            lat=lat,
            lon=lon,
            location_attested=attested,
            note=note,
        )

    # -- the record of an emergency ------------------------------------------------------

    def incident(self, category: str, severity: str, description: str) -> Incident:
        """Open an incident about this visit."""
        record = self.new(
            Incident,
            category=category,
            severity=severity,
            occurred_at=self.services.clock.now(),
            description=description,
        )
        self.save(record)
        return record

    def administrations(self) -> list[DoseAdministration]:
        """Doses given in this visit."""
        return self.of(DoseAdministration)

    def vitals(self, phase: str | None = None) -> list[VitalsReading]:
        """Vitals of this visit, optionally of one phase."""
        found = self.of(VitalsReading)
        return [v for v in found if phase is None or v.phase == phase]

    def addenda(self) -> list[Addendum]:
        """Addenda to this visit's signed note."""
        return self.of(Addendum)
