"""The clinic's structured clinical record: stored entry by entry, carried in the summary.

Each import (CSV) or API call writes a whole new version of a patient's record as rows of
`clinical_entry` (nothing is deleted: the app role may not, and earlier versions are the
record's history), then lays the record into the patient's clinical part as a new
patient version, so every clinician with a visit pulls it at the next sync.

The CSV has one entry per row (header names below; blank cells are "not given"). A file
names whole records: each patient in it gets exactly the entries listed. A bad row
refuses the whole file, naming its line and column, never its content.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import func
from sqlmodel import Session, col, select

from sync.canonical import canonical_text
from sync.clinical_record import (
    Allergy,
    ClinicalRecord,
    LabResult,
    Medication,
    Problem,
    RiskFactor,
)
from sync.server import crud
from sync.server.errors import Invalid, NotFound
from sync.server.models import ClinicalEntry, Patient

CSV_COLUMNS = (
    "patient_id",
    "kind",
    "text",
    "code_system",
    "code",
    "status",
    "date",
    "end_date",
    "reaction",
    "severity",
    "value",
    "unit",
    "upper_limit_normal",
)
# CSV column -> the field it fills, per kind of entry.
_FIELDS: dict[str, tuple[type[BaseModel], dict[str, str]]] = {
    "problem": (Problem, {"text": "text", "date": "onset", "end_date": "resolved_on"}),
    "allergy": (Allergy, {"text": "substance", "reaction": "reaction", "severity": "severity"}),
    "medication": (
        Medication,
        {"text": "name", "date": "started_on", "end_date": "stopped_on"},
    ),
    "lab": (
        LabResult,
        {
            "text": "test",
            "date": "taken_on",
            "value": "value",
            "unit": "unit",
            "upper_limit_normal": "upper_limit_normal",
        },
    ),
    "risk_factor": (RiskFactor, {"text": "text"}),
}
_LISTS = {
    "problem": "problems",
    "allergy": "allergies",
    "medication": "medications",
    "lab": "labs",
    "risk_factor": "cv_risk_factors",
}
_SHARED = {"code_system": "code_system", "code": "code", "status": "status"}


def _problem(error: Any) -> str:
    field = ".".join(str(p) for p in error.get("loc", ())) or "entry"
    return f"{field}: {error.get('msg', 'invalid')}"


def parse_csv(text: str) -> dict[str, ClinicalRecord]:
    """Whole records by patient id from the clinic's CSV, or `Invalid` naming line and column."""
    reader = csv.DictReader(io.StringIO(text))
    try:
        return _parse_rows(reader)
    except csv.Error:  # e.g. a bare carriage return inside an unquoted cell
        raise Invalid(
            f"line {reader.line_num + 1}: not readable as CSV (a line break inside an unquoted "
            "cell? quote cells that hold one)"
        ) from None


def _parse_rows(reader: csv.DictReader[str]) -> dict[str, ClinicalRecord]:
    header = reader.fieldnames or []
    missing = [c for c in ("patient_id", "kind", "text") if c not in header]
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if missing or unknown:
        raise Invalid(
            "CSV header: "
            + "; ".join(
                ([f"missing {', '.join(missing)}"] if missing else [])
                + ([f"unknown column(s) {', '.join(unknown)}"] if unknown else [])
            )
        )
    entries: dict[str, dict[str, list[Any]]] = {}
    ecg: dict[str, str] = {}
    for line, row in enumerate(reader, start=2):
        cells = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if None in row:
            raise Invalid(f"line {line}: more cells than columns")
        try:
            patient = str(uuid.UUID(cells.get("patient_id", "")))
        except ValueError:
            raise Invalid(f"line {line}: patient_id: not a patient id") from None
        kind = cells.get("kind", "")
        record = entries.setdefault(patient, {})
        if kind == "ecg":
            ecg[patient] = max(ecg.get(patient, ""), cells.get("date", ""))
            if not cells.get("date"):
                raise Invalid(f"line {line}: date: an ECG needs its date")
            continue
        if kind not in _FIELDS:
            raise Invalid(f"line {line}: kind: one of {', '.join([*_FIELDS, 'ecg'])}")
        model, columns = _FIELDS[kind]
        data = {
            field: cells[column]
            for column, field in {**columns, **_SHARED}.items()
            if cells.get(column) and field in model.model_fields
        }
        try:
            record.setdefault(_LISTS[kind], []).append(model.model_validate(data))
        except ValidationError as exc:
            raise Invalid(f"line {line}: {_problem(exc.errors()[0])}") from None
    out = {}
    for patient, lists in entries.items():
        try:
            out[patient] = ClinicalRecord.model_validate({**lists, "ecg_on": ecg.get(patient)})
        except ValidationError as exc:
            raise Invalid(f"patient {patient}: {_problem(exc.errors()[0])}") from None
    return out


def _rows(record: ClinicalRecord) -> list[tuple[str, str, Any]]:
    """(kind, text, entry) for every entry, in the record's order."""
    rows: list[tuple[str, str, Any]] = [("problem", p.text, p) for p in record.problems]
    rows += [("allergy", a.substance, a) for a in record.allergies]
    rows += [("medication", m.name, m) for m in record.medications]
    rows += [("lab", lab.test, lab) for lab in record.labs]
    rows += [("risk_factor", r.text, r) for r in record.cv_risk_factors]
    if record.ecg_on is not None:
        rows.append(("ecg", "ECG", {"on": record.ecg_on.isoformat()}))
    return rows


def latest_version(session: Session, patient_id: str) -> int:
    """The newest version of a patient's record (0: none yet)."""
    found = session.exec(
        select(func.max(ClinicalEntry.record_version)).where(ClinicalEntry.patient_id == patient_id)
    ).one()
    return int(found or 0)


def put_record(
    session: Session, patient_id: str, record: ClinicalRecord, who: str, now: float
) -> int:
    """Store `record` as the patient's newest version and carry it in the summary."""
    row = session.get(Patient, patient_id)
    if row is None:
        raise NotFound("No such patient.")
    version = latest_version(session, patient_id) + 1
    for position, (kind, text, entry) in enumerate(_rows(record)):
        payload = entry if isinstance(entry, dict) else entry.model_dump(mode="json")
        session.add(
            ClinicalEntry(
                patient_id=patient_id,
                record_version=version,
                position=position,
                kind=kind,
                code_system=payload.get("code_system"),
                code=payload.get("code"),
                text=text,
                status=payload.get("status"),
                payload=canonical_text(payload),
                recorded_at=now,
                recorded_by=who,
            )
        )
    session.flush()
    if row.clinical is not None:
        clinical = json.loads(row.clinical)
        clinical["record"] = record.model_dump(mode="json")
        crud.put_patient_clinical(session, row, canonical_text(clinical), now)
    return version


def get_record(session: Session, patient_id: str) -> ClinicalRecord | None:
    """The patient's newest record, rebuilt from its entries (None: never imported)."""
    version = latest_version(session, patient_id)
    if not version:
        return None
    rows: Sequence[ClinicalEntry] = session.exec(
        select(ClinicalEntry)
        .where(ClinicalEntry.patient_id == patient_id, ClinicalEntry.record_version == version)
        .order_by(col(ClinicalEntry.position))
    ).all()
    lists: dict[str, Any] = {}
    for entry in rows:
        data = json.loads(entry.payload)
        if entry.kind == "ecg":
            lists["ecg_on"] = data["on"]
        else:
            lists.setdefault(_LISTS[entry.kind], []).append(data)
    return ClinicalRecord.model_validate(lists)


def import_csv(session: Session, text: str, who: str, now: float) -> dict[str, int]:
    """Store every record of a CSV file (all or nothing); counts of patients and entries."""
    records = parse_csv(text)
    for patient_id in records:
        if session.get(Patient, patient_id) is None:
            raise Invalid(f"patient {patient_id}: no such patient")
    entries = 0
    for patient_id, record in records.items():
        put_record(session, patient_id, record, who, now)
        entries += len(_rows(record))
    return {"patients": len(records), "entries": entries}
