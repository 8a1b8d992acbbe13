"""People, devices, patients, visits and protocol documents (no FastAPI here).

Every change to a server-owned record takes a change number (`changes.py`) so the next
pull of every clinician it concerns sees it. A visit taken from a clinician leaves a
`VisitExit` row, so their next pull reports it removed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from sync.canonical import canonical_text
from sync.records import PatientSummary, ProtocolDocument, Visit
from sync.server.changes import take_change_numbers
from sync.server.errors import Invalid, NotFound
from sync.server.models import (
    AppUser,
    Device,
    DeviceRecordRow,
    Patient,
    ProtocolDocRow,
    ReviewItem,
    VisitExit,
    VisitRow,
)
from sync.server.schemas import CONTACT_FIELDS, PatientContact, VisitCreate, VisitUpdate

# A visit cancelled at the office although the road says the infusion began.
FLAG_CANCELLED_AFTER_START = "cancelled_at_office_after_infusion_started"
STARTED_STATUSES = frozenset({"infusion_started", "infusion_ended"})


# -- people and devices --------------------------------------------------------------------


def add_user(
    session: Session, name: str, role: str, now: float, display_name: str | None = None
) -> AppUser:
    """Create a user, or raise `Invalid` if the name is taken."""
    if session.get(AppUser, name) is not None:
        raise Invalid(f"user {name!r} already exists")
    user = AppUser(name=name, role=role, display_name=display_name, created_at=now)
    session.add(user)
    session.flush()
    return user


def list_users(session: Session) -> Sequence[AppUser]:
    """Every user, by name."""
    return session.exec(select(AppUser).order_by(col(AppUser.name))).all()


def list_devices(session: Session) -> Sequence[Device]:
    """Every device, newest first."""
    return session.exec(select(Device).order_by(col(Device.created_at).desc())).all()


def revoke_device(session: Session, device_id: str, now: float) -> Device:
    """Revoke a device: refused from its next request, told to wipe."""
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound(f"no device {device_id!r}")
    if device.revoked_at is None:
        device.revoked_at = now
        session.add(device)
    return device


def list_review(session: Session, limit: int = 500) -> Sequence[ReviewItem]:
    """Set-aside records, oldest first."""
    return session.exec(select(ReviewItem).order_by(col(ReviewItem.id)).limit(limit)).all()


# -- patients ------------------------------------------------------------------------------


def patient_summary(row: Patient) -> PatientSummary | None:
    """The full record a clinician pulls, or None until the clinical part is imported."""
    if row.clinical is None:
        return None
    data = {**json.loads(row.contact), **json.loads(row.clinical), "id": row.id}
    return PatientSummary.model_validate({**data, "version": row.version})


def patient_contact(row: Patient) -> dict[str, Any]:
    """The dispatcher's view: contact fields only."""
    return {**json.loads(row.contact), "id": row.id, "version": row.version}


def put_patient_summary(session: Session, summary: PatientSummary, now: float) -> Patient:
    """Store a whole patient summary (import), as a new version if it changed.

    A summary without a clinical record keeps the record the clinic already stored.
    """
    data = summary.model_dump(mode="json", exclude={"id", "version", "schema_version"})
    existing = session.get(Patient, str(summary.id))
    if data.get("record") is None and existing is not None and existing.clinical is not None:
        data["record"] = json.loads(existing.clinical).get("record")
    contact = canonical_text({k: v for k, v in data.items() if k in CONTACT_FIELDS})
    clinical = canonical_text({k: v for k, v in data.items() if k not in CONTACT_FIELDS})
    return _put_patient(session, str(summary.id), contact, clinical, now)


def put_patient_clinical(session: Session, row: Patient, clinical: str, now: float) -> Patient:
    """Replace a patient's clinical part (the clinic's record changed): a new version."""
    return _put_patient(session, row.id, row.contact, clinical, now)


def put_patient_contact(
    session: Session, patient_id: uuid.UUID, contact: PatientContact, now: float
) -> Patient:
    """Store dispatch's contact part of a patient, keeping any clinical part."""
    existing = session.get(Patient, str(patient_id))
    clinical = existing.clinical if existing else None
    return _put_patient(
        session, str(patient_id), canonical_text(contact.model_dump(mode="json")), clinical, now
    )


def _put_patient(
    session: Session, patient_id: str, contact: str, clinical: str | None, now: float
) -> Patient:
    row = session.get(Patient, patient_id)
    if row is not None and row.contact == contact and row.clinical == clinical:
        return row
    seq = take_change_numbers(session)
    if row is None:
        row = Patient(
            id=patient_id, contact=contact, clinical=clinical, change_seq=seq, updated_at=now
        )
    else:
        row.version += 1
        row.contact, row.clinical, row.change_seq, row.updated_at = contact, clinical, seq, now
    session.add(row)
    session.flush()
    return row


# -- visits --------------------------------------------------------------------------------


def visit_record(row: VisitRow) -> Visit:
    """The stored visit as its record."""
    return Visit.model_validate_json(row.payload)


def _require_clinician(session: Session, name: str) -> None:
    user = session.get(AppUser, name)
    if user is None or user.role != "clinician" or not user.active:
        raise Invalid(f"clinician_id: no active clinician {name!r}")


def put_visit(session: Session, visit: Visit, now: float) -> VisitRow:
    """Store a whole visit record (import or a dispatcher's new visit), versioned."""
    if session.get(Patient, str(visit.patient_id)) is None:
        raise Invalid("patient_id: no such patient")
    _require_clinician(session, visit.clinician_id)
    row = session.get(VisitRow, str(visit.id))
    if row is None:
        seq = take_change_numbers(session)
        row = VisitRow(
            id=str(visit.id),
            patient_id=str(visit.patient_id),
            clinician_id=visit.clinician_id,
            scheduled_on=visit.scheduled_on,
            status=visit.status,
            version=visit.version,
            payload=visit.model_dump_json(),
            change_seq=seq,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        return row
    current = visit_record(row)
    changes = visit.model_dump(exclude={"version", "id"})
    return _change_visit(session, row, current, changes, now)


def create_visit(session: Session, data: VisitCreate, now: float) -> VisitRow:
    """A dispatcher's new visit; the address defaults to the patient's."""
    patient = session.get(Patient, str(data.patient_id))
    if patient is None:
        raise Invalid("patient_id: no such patient")
    fields = data.model_dump(exclude_none=True)
    if data.address is None:
        fields["address"] = json.loads(patient.contact)["address"]
    visit = Visit.model_validate({**fields, "id": uuid.uuid4()})
    return put_visit(session, visit, now)


def update_visit(session: Session, row: VisitRow, data: VisitUpdate, now: float) -> VisitRow:
    """Reassign, reschedule or reorder a visit."""
    changes = data.model_dump(exclude_unset=True)
    if "clinician_id" in changes:
        _require_clinician(session, changes["clinician_id"])
    return _change_visit(session, row, visit_record(row), changes, now)


def cancel_visit(session: Session, row: VisitRow, now: float) -> VisitRow:
    """Cancel at the office; if the road already started the infusion, flag, never drop."""
    changes: dict[str, Any] = {"status": "cancelled"}
    if infusion_started(session, row.id):
        changes["review_flags"] = _with_flag(visit_record(row), FLAG_CANCELLED_AFTER_START)
    return _change_visit(session, row, visit_record(row), changes, now)


def flag_visit(session: Session, visit_id: str, flag: str, now: float) -> VisitRow | None:
    """Add a review flag to a visit (once), as a new version."""
    row = session.get(VisitRow, visit_id)
    if row is None:
        return None
    current = visit_record(row)
    if flag in current.review_flags:
        return row
    return _change_visit(session, row, current, {"review_flags": _with_flag(current, flag)}, now)


def _with_flag(visit: Visit, flag: str) -> list[str]:
    return (
        [*visit.review_flags, flag] if flag not in visit.review_flags else list(visit.review_flags)
    )


def infusion_started(session: Session, visit_id: str) -> bool:
    """Whether any device reported starting (or giving) the infusion of this visit."""
    rows = session.exec(
        select(DeviceRecordRow.kind, DeviceRecordRow.payload).where(
            DeviceRecordRow.visit_id == visit_id,
            col(DeviceRecordRow.kind).in_(("status", "dose_admin")),
        )
    ).all()
    for kind, payload in rows:
        if kind == "dose_admin" or json.loads(payload).get("status") in STARTED_STATUSES:
            return True
    return False


def _change_visit(
    session: Session, row: VisitRow, current: Visit, changes: dict[str, Any], now: float
) -> VisitRow:
    merged = {**current.model_dump(), **changes}
    if merged == current.model_dump():
        return row
    merged["version"] = current.version + 1
    try:
        visit = Visit.model_validate(merged)
    except ValueError as exc:
        raise Invalid(str(exc).splitlines()[0]) from None
    count = 2 if visit.clinician_id != current.clinician_id else 1
    seq = take_change_numbers(session, count)
    if count == 2:
        session.add(
            VisitExit(
                seq=seq,
                visit_id=row.id,
                clinician_id=current.clinician_id,
                patient_id=row.patient_id,
            )
        )
        seq += 1
    row.clinician_id, row.scheduled_on, row.status = (
        visit.clinician_id,
        visit.scheduled_on,
        visit.status,
    )
    row.version, row.payload, row.change_seq, row.updated_at = (
        visit.version,
        visit.model_dump_json(),
        seq,
        now,
    )
    session.add(row)
    session.flush()
    return row


def visits_for(
    session: Session, clinician: str | None, on: date | None = None, limit: int = 1000
) -> Sequence[VisitRow]:
    """Visits of one clinician (None: everyone), optionally of one day."""
    query = select(VisitRow)
    if clinician is not None:
        query = query.where(VisitRow.clinician_id == clinician)
    if on is not None:
        query = query.where(VisitRow.scheduled_on == on)
    return session.exec(
        query.order_by(col(VisitRow.scheduled_on), col(VisitRow.id)).limit(limit)
    ).all()


def clinician_has_patient(session: Session, clinician: str, patient_id: str) -> bool:
    """Whether the patient has any visit assigned to this clinician."""
    count = session.exec(
        select(func.count())
        .select_from(VisitRow)
        .where(VisitRow.clinician_id == clinician, VisitRow.patient_id == patient_id)
    ).one()
    return bool(count)


# -- protocol documents --------------------------------------------------------------------


def put_protocol_doc(session: Session, doc: ProtocolDocument, now: float) -> ProtocolDocRow:
    """Store a protocol or checklist document every clinician will pull."""
    row = session.get(ProtocolDocRow, str(doc.id))
    payload = doc.model_dump_json()
    if row is not None and row.payload == payload:
        return row
    seq = take_change_numbers(session)
    if row is None:
        row = ProtocolDocRow(
            id=str(doc.id), name=doc.name, version=doc.version, payload=payload, change_seq=seq
        )
    else:
        row.name, row.version, row.payload, row.change_seq = doc.name, doc.version, payload, seq
    session.add(row)
    session.flush()
    return row
