"""What a visit case starts from: a healthy synthetic patient, their visit, a complete
checklist and a dose order, each laid under what the case changes.

Everything here is synthetic (the 555-01xx fiction range, an invented Seattle address).
A case file changes only what its rule needs, so a medical director reads each case as
"this patient, this answer, this decision".
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fieldapp.config import deep_merge
from fieldapp.services.infusion import DoseForm
from sync.records import PatientSummary, Visit

CLINICIAN = "case-clinician"
# The case's second checker, enrolled in the case's throwaway store with this PIN: the
# dose is signed by them, as on the road.
CASE_CHECKER = "case-checker"
CASE_CHECKER_PIN = "135790"
ADDRESS = {
    "street": "4100 Synthetic Ave N",
    "city": "Seattle",
    "state": "WA",
    "postal_code": "98103",
    "lat": 47.6588,
    "lon": -122.3436,
}
EQUIPMENT = (
    "monitor_nibp_spo2_ecg",
    "capnography",
    "aed",
    "oxygen",
    "bag_valve_mask",
    "suction",
    "airway_adjuncts",
    "infusion_pump",
    "midazolam",
    "ondansetron",
    "antihypertensive",
)


def patient(data: dict[str, Any], day: date) -> PatientSummary:
    """A healthy 45-year-old with CRPS, 70 kg, one infusion a week ago, under `data`."""
    base: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "display_name": "Case Patient",
        "date_of_birth": date(day.year - 45, 1, 15).isoformat(),
        "sex": "female",
        "phone": "(206) 555-0142",
        "address": ADDRESS,
        "diagnoses": [{"code": "G90.51", "name": "CRPS type I, right upper limb", "evidence": "B"}],
        "weight_kg": 70,
        "height_cm": 170,
        "infusions_completed": 1,
        "baseline_pain_nrs": 7,
        "past_sessions": [
            {"on": (day - timedelta(days=7)).isoformat(), "weight_kg": 70, "pain_nrs_after": 4}
        ],
    }
    return PatientSummary.model_validate(deep_merge(base, data))


def visit(patient_id: uuid.UUID, at: datetime) -> Visit:
    """The case's visit: today, two hours, at the patient's home."""
    return Visit.model_validate(
        {
            "id": str(uuid.uuid4()),
            "patient_id": str(patient_id),
            "clinician_id": CLINICIAN,
            "scheduled_on": at.date().isoformat(),
            "window_start": at.isoformat(),
            "window_end": (at + timedelta(hours=1)).isoformat(),
            "duration_min": 120,
            "address": ADDRESS,
            "course": {"number": 2, "of": 6},
        }
    )


def checklist(day: date, answers: dict[str, Any]) -> dict[str, str]:
    """Every question answered for a healthy visit, then the case's answers as typed."""
    good = {
        "bp_first": "128/82",
        "bp_second": "126/80",
        "bp_minutes_apart": "5",
        "heart_rate": "76",
        "spo2": "98",
        "rr": "14",
        "temperature_c": "36.8",
        "weight_kg": "70",
        "weight_measured_on": day.isoformat(),
        "childbearing_potential": "n",
        "intoxicated": "n",
        "substance_use_24h": "n",
        "respiratory_infection": "n",
        "mania": "n",
        "urinary_symptoms": "n",
        "chest_pain": "n",
        "severe_headache": "n",
        "neurological_deficit": "n",
        "dyspnoea": "n",
        "record_changed": "n",
        "hours_since_solids": "8",
        "hours_since_clear_fluids": "3",
        "responsible_adult": "y",
        "pdmp_checked": "y",
        "consent_on_file": "y",
        **{f"phq9_{n}": "0" for n in range(1, 10)},
        "pain_nrs": "6",
        "acls_expires": (day + timedelta(days=365)).isoformat(),
        "licence_active": "y",
        "prescriber_dea_states": "WA",
        **{item: "y" for item in EQUIPMENT},
    }
    return {**good, **{key: _text(value) for key, value in answers.items()}}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "y" if value else "n"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def dose_form(order: dict[str, Any]) -> tuple[DoseForm, dict[str, str]]:
    """The depression template for a 70 kg patient from a 10 mg/mL vial, under the case's
    order; and the vial, checker and witness the case uses."""
    data = {
        "kind": "template",
        "template": "depression",
        "weight_kg": "70",
        "height_cm": "170",
        "sex": "female",
        "vial_mg_per_ml": "10",
        "vial_ml": "20",
        "bag_ml": "100",
        "prescriber": "Dr. Case Prescriber",
        "checker": CASE_CHECKER,
        **{k: str(v) for k, v in order.items()},
    }

    def num(key: str) -> Decimal | None:
        return Decimal(data[key]) if data.get(key) else None

    form = DoseForm(
        kind=data["kind"],
        template=data.get("template") or None,
        weight_kg=Decimal(data["weight_kg"]),
        height_cm=Decimal(data["height_cm"]),
        sex=data["sex"],
        vial_mg_per_ml=Decimal(data["vial_mg_per_ml"]),
        vial_ml=Decimal(data["vial_ml"]),
        prescriber=data["prescriber"],
        mg_per_kg=num("mg_per_kg"),
        mg_per_kg_per_h=num("mg_per_kg_per_h"),
        duration_min=num("duration_min"),
        bag_ml=num("bag_ml"),
        bag_drug_mg=num("bag_drug_mg"),
        diluted_to_mg_per_ml=num("diluted_to_mg_per_ml"),
        weight_confirmed=data.get("confirm_weight", "False") == "True",
        session_override_by=data.get("override_by") or None,
    )
    return form, data
