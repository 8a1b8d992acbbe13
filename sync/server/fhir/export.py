"""What a FHIR export holds: every resource made from what reached the server in a window.

Incremental by arrival: a device record is exported when the server received it in
(since, until]; a patient when its summary changed then; an encounter when its visit
changed or a status event of it arrived. `until` is the export's start less `settle_s`,
so a push still committing has its records in the next export rather than behind a
cursor that already passed them. Give the `until` of one export as the next one's
`--since`.

Rows are streamed and mapped from their stored JSON (orjson) to plain dicts; nothing here
builds a model object per resource.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, select
from sqlmodel import Session

from sync.server.fhir import clinical, people
from sync.server.fhir.codes import Codes
from sync.server.models import AppUser, DeviceRecordRow, Patient, VisitRow

EXPORTED_KINDS = (
    "status",
    "checklist",
    "vitals",
    "dose_order",
    "dose_admin",
    "recovery",
    "note",
    "addendum",
)
# Device kinds left out on purpose, each with why (a test holds every kind to one list).
NOT_EXPORTED_KINDS = {
    "substance": "the controlled-substance ledger: DEA records, reported apart",
    "day_close": "the ledger's close of day: a DEA record",
    "incident": "a ledger discrepancy and its resolution: a DEA record",
    # Follow-ups are the app's working list (the BP timer, call the prescriber): what they
    # lead to is exported as itself (the readings, the checklist's answers, the signed note),
    # and a prescriber's or supervisor's task is handed over on the clinic's board.
    "task": "a follow-up the app kept: its outcome is exported as what it led to",
    "task_update": "what became of a follow-up (see task)",
    # The start-of-shift check concerns no patient: each visit's checklist submission
    # carries the kit answers it stood on, and that is exported with the visit.
    "shift_check": "the kit checked once a shift: no patient; each checklist carries it",
}
_CHUNK = 500
_DEVICE = DeviceRecordRow.__table__.c  # type: ignore[attr-defined]
_PATIENT = Patient.__table__.c  # type: ignore[attr-defined]
_VISIT = VisitRow.__table__.c  # type: ignore[attr-defined]
_USER = AppUser.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Window:
    """The export's reach: arrivals after `since` (None: from the start) up to `until`,
    of one patient or of all."""

    since: datetime | None
    until: datetime
    patient: str | None = None

    def bounds(self) -> tuple[float, float]:
        """(since, until) as the server's epoch seconds."""
        since = self.since.timestamp() if self.since is not None else float("-inf")
        return since, self.until.timestamp()


def window_until(now: datetime, settle_s: float) -> datetime:
    """The end of an export started now: records this recent wait for the next one."""
    return datetime.fromtimestamp(now.timestamp() - settle_s, UTC)


def _in_window(column: Any, window: Window, patient_column: Any) -> list[Any]:
    since, until = window.bounds()
    where = [column <= until]
    if window.since is not None:
        where.append(column > since)
    if window.patient is not None:
        where.append(patient_column == window.patient)
    return where


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def resources(
    session: Session, codes: Codes, window: Window
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every resource of the window, each with the id of the patient it belongs to."""
    conn = session.connection()
    names: dict[str, str | None] = dict(conn.execute(select(_USER.name, _USER.display_name)).all())
    codes = codes.named(names)
    visits: set[str] = set()
    yield from _device_resources(conn, codes, window, visits)
    yield from _patients(conn, codes, window)
    changed = select(_VISIT.id).where(*_in_window(_VISIT.updated_at, window, _VISIT.patient_id))
    visits.update(conn.execute(changed).scalars())
    yield from _encounters(conn, codes, visits)


_DEVICE_ROWS = select(
    _DEVICE.id, _DEVICE.kind, _DEVICE.patient_id, _DEVICE.device_id, _DEVICE.payload
)


def _device_resources(
    conn: Connection, codes: Codes, window: Window, visits: set[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    where = _in_window(_DEVICE.received_at, window, _DEVICE.patient_id)
    statement = _DEVICE_ROWS.where(_DEVICE.kind.in_(EXPORTED_KINDS), *where)
    orders: dict[str, dict[str, Any]] = {}
    given: list[dict[str, Any]] = []
    rows = conn.execution_options(yield_per=2000).execute(statement)
    for rid, kind, patient_id, device_id, payload in rows:
        if patient_id is None:
            continue  # a check-in between visits concerns no patient's record
        record = orjson.loads(payload)
        if kind == "vitals":
            for resource in clinical.vitals(codes, record):
                yield patient_id, resource
        elif kind == "checklist":
            yield patient_id, clinical.questionnaire_response(codes, record)
            for resource in clinical.checklist_observations(codes, record):
                yield patient_id, resource
        elif kind == "recovery":
            for resource in clinical.recovery_observations(codes, record):
                yield patient_id, resource
        elif kind in ("note", "addendum"):
            yield patient_id, clinical.document(codes, record)
            yield patient_id, clinical.provenance(codes, record, device_id)
        elif kind == "dose_order":
            orders[rid] = record
        elif kind == "dose_admin":
            given.append(record)
        elif kind == "status" and record.get("visit_id"):
            visits.add(record["visit_id"])
    missing = {r["order_id"] for r in given} - set(orders)
    for chunk in _chunks(missing):
        found = conn.execute(select(_DEVICE.id, _DEVICE.payload).where(_DEVICE.id.in_(chunk)))
        orders.update((rid, orjson.loads(payload)) for rid, payload in found)
    for record in given:
        order = orders.get(record["order_id"])
        yield record["patient_id"], clinical.medication_administration(codes, record, order)


def _patients(
    conn: Connection, codes: Codes, window: Window
) -> Iterator[tuple[str, dict[str, Any]]]:
    statement = select(_PATIENT.id, _PATIENT.contact, _PATIENT.clinical).where(
        *_in_window(_PATIENT.updated_at, window, _PATIENT.id)
    )
    for pid, contact_json, clinical_json in conn.execute(statement):
        contact = orjson.loads(contact_json)
        clinical_part = orjson.loads(clinical_json) if clinical_json else None
        yield pid, people.patient(codes, pid, contact, clinical_part)
        for flag in people.flags(codes, pid, contact):
            yield pid, flag


_VISITS_BY_ID = select(_VISIT.id, _VISIT.patient_id, _VISIT.payload).where(
    _VISIT.id.in_(bindparam("ids", expanding=True))
)
_STATUSES_OF = select(_DEVICE.visit_id, _DEVICE.payload).where(
    _DEVICE.kind == "status", _DEVICE.visit_id.in_(bindparam("ids", expanding=True))
)
_DIAGNOSES_OF = select(_PATIENT.id, _PATIENT.clinical).where(
    _PATIENT.id.in_(bindparam("ids", expanding=True))
)


def _encounters(
    conn: Connection, codes: Codes, visit_ids: set[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    for chunk in _chunks(visit_ids):
        rows = conn.execute(_VISITS_BY_ID, {"ids": chunk}).all()
        events: dict[str, list[dict[str, Any]]] = {}
        for visit_id, payload in conn.execute(_STATUSES_OF, {"ids": chunk}):
            events.setdefault(visit_id, []).append(orjson.loads(payload))
        diagnoses = {
            pid: (orjson.loads(part).get("diagnoses", []) if part else [])
            for pid, part in conn.execute(
                _DIAGNOSES_OF, {"ids": sorted({row.patient_id for row in rows})}
            )
        }
        for visit_id, patient_id, payload in rows:
            visit = orjson.loads(payload)
            found = events.get(visit_id, [])
            yield patient_id, people.encounter(codes, visit, found, diagnoses.get(patient_id, []))
