"""Clinical resources (FHIR R4, US Core where a profile exists) from device records:
Observations (vitals with LOINC codes, pain NRS, PHQ-9, C-SSRS, CADSS, RASS, Aldrete,
PADSS), MedicationAdministration, QuestionnaireResponse, DocumentReference for the signed
note and its addenda, and Provenance for each signature.

Each function takes a record's stored JSON (a dict) and returns resources as dicts: no
model objects on the way, so 100,000 records export in seconds. Tests validate the output
resource by resource with a FHIR model library.
"""

from __future__ import annotations

import base64
from typing import Any

from sync.server.fhir.codes import US_CORE, Codes, Observed, ref

NOTE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
SIGNATURE_TYPE = {
    "system": "urn:iso-astm:E1762-95:2013",
    "code": "1.2.840.10065.1.12.1.1",
    "display": "Author's Signature",
}
PHQ9_ITEMS = tuple(f"phq9_{n}" for n in range(1, 10))
CSSRS_LEVELS = ("high", "moderate", "low")
# Vitals fields exported one Observation each, by the name of their code in fhir.toml.
_VITALS = (
    ("heart_rate", "heart_rate_bpm"),
    ("spo2", "spo2_pct"),
    ("resp_rate", "resp_rate_per_min"),
    ("temperature", "temperature_c"),
)


def _about(codes: Codes, record: dict[str, Any]) -> dict[str, Any]:
    """What every Observation made from one record shares: its source, patient, visit and
    who recorded it (built once per record: a reading makes up to seven)."""
    base = {
        "identifier": codes.record_identifier(record["id"]),
        "subject": ref("Patient", record["patient_id"]),
        "performer": [codes.person(record["recorded_by"])],
    }
    if record.get("visit_id"):
        base["encounter"] = ref("Encounter", record["visit_id"])
    return base


def _observation(
    codes: Codes, name: str, about: dict[str, Any], rid: str, when: str, value: dict[str, Any]
) -> dict[str, Any]:
    observed: Observed = codes.observed[name]
    return {
        "resourceType": "Observation",
        "id": rid + observed.suffix,
        "status": "final",
        "category": observed.category,
        "code": observed.code,
        **about,
        "effectiveDateTime": when,
        **value,
    }


def _quantity(codes: Codes, name: str, value: float | int) -> dict[str, Any]:
    return {"valueQuantity": codes.observed[name].quantity(value)}


def vitals(codes: Codes, record: dict[str, Any]) -> list[dict[str, Any]]:
    """One reading's Observations: the BP panel, HR, SpO2, RR, temperature, RASS, CADSS."""
    when, rid, about = record["taken_at"], record["id"], _about(codes, record)
    found = []
    systolic, diastolic = record.get("systolic_mmhg"), record.get("diastolic_mmhg")
    if systolic is not None and diastolic is not None:
        components = [
            {"code": codes.observed[part].code, **_quantity(codes, part, value)}
            for part, value in (("systolic", systolic), ("diastolic", diastolic))
        ]
        bp = _observation(codes, "blood_pressure", about, rid, when, {"component": components})
        bp["meta"] = {"profile": [US_CORE + "us-core-blood-pressure"]}
        found.append(bp)
    for name, field in _VITALS:
        value = record.get(field)
        if value is not None:
            quantity = _quantity(codes, name, value)
            found.append(_observation(codes, name, about, rid, when, quantity))
    for name, field in (("rass", "rass"), ("cadss", "cadss_total")):
        value = record.get(field)
        if value is not None:
            found.append(_observation(codes, name, about, rid, when, {"valueInteger": value}))
    return found


def checklist_observations(codes: Codes, record: dict[str, Any]) -> list[dict[str, Any]]:
    """Pain NRS, PHQ-9 total, C-SSRS risk and today's weight, from a checklist submission."""
    answers, when, found = record["answers"], record["recorded_at"], []
    rid, about = record["id"], _about(codes, record)
    pain = answers.get("pain_nrs")
    if isinstance(pain, int | float) and not isinstance(pain, bool):
        found.append(_observation(codes, "pain_nrs", about, rid, when, {"valueInteger": int(pain)}))
    items = [answers.get(item) for item in PHQ9_ITEMS]
    if all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        total = sum(int(v) for v in items if v is not None)
        found.append(_observation(codes, "phq9", about, rid, when, {"valueInteger": total}))
    rules = {reason["rule_id"] for reason in record.get("reasons", [])}
    level = next((lvl for lvl in CSSRS_LEVELS if f"cssrs_{lvl}" in rules), None)
    if level is not None:
        risk = {"coding": [{"system": codes.local, "code": f"cssrs-{level}"}], "text": level}
        found.append(_observation(codes, "cssrs", about, rid, when, {"valueCodeableConcept": risk}))
    weight = answers.get("weight_kg")
    if isinstance(weight, int | float) and not isinstance(weight, bool):
        found.append(
            _observation(codes, "weight", about, rid, when, _quantity(codes, "weight", weight))
        )
    return found


def recovery_observations(codes: Codes, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The modified Aldrete and PADSS scores of a recovery assessment, and the pain NRS
    after the infusion when it was scored."""
    when, rid, about = record["assessed_at"], record["id"], _about(codes, record)
    found = [
        _observation(codes, name, about, rid, when, {"valueInteger": record[name]})
        for name in ("aldrete", "padss")
    ]
    pain = record.get("pain_nrs_after")
    if isinstance(pain, int) and not isinstance(pain, bool):
        found.append(_observation(codes, "pain_nrs", about, rid, when, {"valueInteger": pain}))
    return found


def medication_administration(
    codes: Codes, record: dict[str, Any], order: dict[str, Any] | None
) -> dict[str, Any]:
    """The ketamine given: RxNorm coded, dose, route, rate, period, and whether it stopped
    early (and why)."""
    status = "in-progress" if record.get("ended_at") is None else "completed"
    dosage: dict[str, Any] = {
        "route": codes.route,
        "dose": {
            "value": record["dose_mg"],
            "unit": "mg",
            "system": "http://unitsofmeasure.org",
            "code": "mg",
        },
    }
    if order is not None and order.get("rate_mg_per_h") is not None:
        dosage["rateQuantity"] = {
            "value": order["rate_mg_per_h"],
            "unit": "mg/h",
            "system": "http://unitsofmeasure.org",
            "code": "mg/h",
        }
    period = {"start": record["started_at"]}
    if record.get("ended_at"):
        period["end"] = record["ended_at"]
    resource: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "id": record["id"],
        "identifier": codes.record_identifier(record["id"]),
        "status": "stopped" if record.get("stopped_early") else status,
        "medicationCodeableConcept": codes.medication,
        "subject": ref("Patient", record["patient_id"]),
        "effectivePeriod": period,
        "performer": [{"actor": codes.person(record["recorded_by"])}],
        "note": [{"text": f"From vial {record['vial_id']}: {record['volume_ml']} mL."}],
        "dosage": dosage,
    }
    if record.get("visit_id"):
        resource["context"] = ref("Encounter", record["visit_id"])
    if record.get("stopped_early"):
        resource["statusReason"] = [{"text": record.get("stop_reason") or "stopped early"}]
    return resource


def _answer(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int):
        return {"valueInteger": value}
    if isinstance(value, float):
        return {"valueDecimal": value}
    return {"valueString": str(value)}


def questionnaire_response(codes: Codes, record: dict[str, Any]) -> dict[str, Any]:
    """A checklist submission: the template version it answered and every answer given."""
    template, _, version = record["template"].partition("@")
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": record["id"],
        "identifier": codes.record_identifier(record["id"])[0],
        "questionnaire": f"{codes.questionnaire_base}/{template}|{version}",
        "status": "completed",
        "subject": ref("Patient", record["patient_id"]),
        "authored": record["recorded_at"],
        "author": codes.person(record["recorded_by"]),
        "item": [
            {"linkId": key, "answer": [_answer(value)]}
            for key, value in sorted(record["answers"].items())
            if value is not None and value != ""
        ],
    }
    if record.get("visit_id"):
        resource["encounter"] = ref("Encounter", record["visit_id"])
    return resource


def _note_text(record: dict[str, Any]) -> str:
    if record.get("text") is not None:  # an addendum
        return str(record["text"])
    parts = ("subjective", "objective", "assessment", "plan")
    return "\n\n".join(f"{p.upper()}\n{record.get(p, '')}" for p in parts)


def document(codes: Codes, record: dict[str, Any]) -> dict[str, Any]:
    """A signed note, or an addendum appending to one, as a US Core DocumentReference."""
    when = record.get("signed_at") or record["recorded_at"]
    author = codes.person(record.get("signed_by") or record["recorded_by"])
    data = base64.b64encode(_note_text(record).encode()).decode()
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": record["id"],
        "meta": {"profile": [US_CORE + "us-core-documentreference"]},
        "identifier": codes.record_identifier(record["id"]),
        "status": "current",
        "docStatus": "final",
        "type": codes.note_type,
        "category": [{"coding": [{"system": NOTE_CATEGORY, "code": "clinical-note"}]}],
        "subject": ref("Patient", record["patient_id"]),
        "date": when,
        "author": [author],
        "authenticator": author,
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": data,
                    "title": "Addendum" if "note_id" in record else "Session note",
                    "creation": when,
                }
            }
        ],
    }
    if record.get("note_id"):
        target = ref("DocumentReference", record["note_id"])
        resource["relatesTo"] = [{"code": "appends", "target": target}]
    if record.get("visit_id"):
        resource["context"] = {"encounter": [ref("Encounter", record["visit_id"])]}
    return resource


def provenance(codes: Codes, record: dict[str, Any], device_id: str) -> dict[str, Any]:
    """Who signed a note or an addendum, when, and from which enrolled device."""
    when = record.get("signed_at") or record["recorded_at"]
    who = codes.person(record.get("signed_by") or record["recorded_by"])
    device = {
        "identifier": {"system": codes.device_system, "value": device_id},
        "display": "enrolled device",
    }
    return {
        "resourceType": "Provenance",
        "id": record["id"] + ".provenance",
        "target": [ref("DocumentReference", record["id"])],
        "recorded": when,
        "agent": [
            {"type": {"coding": [{"system": PARTICIPANT_TYPE, "code": "author"}]}, "who": who},
            {"type": {"coding": [{"system": PARTICIPANT_TYPE, "code": "enterer"}]}, "who": device},
        ],
        "signature": [{"type": [SIGNATURE_TYPE], "when": when, "who": who}],
    }
