"""A normal visit's answers, shared by service and TUI tests (synthetic values only)."""

from __future__ import annotations

from decimal import Decimal

from fieldapp.services.infusion import DoseForm

GOOD_CHECKLIST = {
    "bp_first": "128/82",
    "bp_second": "126/80",
    "bp_minutes_apart": "5",
    "heart_rate": "76",
    "spo2": "98",
    "rr": "14",
    "temperature_c": "36.8",
    "weight_kg": "105",
    "weight_measured_on": "2026-03-10",
    "chest_pain": "n",
    "severe_headache": "n",
    "neurological_deficit": "n",
    "dyspnoea": "n",
    "record_changed": "n",
    "responsible_adult": "y",
    "hours_since_solids": "8",
    "hours_since_clear_fluids": "3",
    "pdmp_checked": "y",
    "consent_on_file": "y",
    "childbearing_potential": "n",
    "intoxicated": "n",
    "substance_use_24h": "n",
    "urinary_symptoms": "n",
    "respiratory_infection": "n",
    "mania": "n",
    **{f"phq9_{n}": digit for n, digit in enumerate("101000000", start=1)},
    "pain_nrs": "6",
    "acls_expires": "2027-01-31",
    "licence_active": "y",
    "prescriber_dea_states": "WA",
    **{
        item: "y"
        for item in (
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
    },
}

GOOD_VITALS = {
    "systolic_mmhg": 134,
    "diastolic_mmhg": 84,
    "heart_rate_bpm": 80,
    "spo2_pct": 98,
    "resp_rate_per_min": 14,
    "rass": 0,
}

GOOD_RECOVERY = {
    "aldrete": 10,
    "padss": 10,
    "systolic": 128,
    "diastolic": 80,
    "heart_rate": 76,
    "nausea": "none",
    "oriented_x3": True,
    "gait_steady": True,
    "responsible_adult": True,
    "responsible_adult_name": "spouse",
    "written_instructions": True,
    "next_day_call": True,
    "fall_risk_handover": True,
}


def dose_form(weight: str = "105", height: str = "170", sex: str = "female") -> DoseForm:
    """The depression template from a 10 mg/mL, 20 mL vial into a 100 mL bag."""
    return DoseForm(
        kind="template",
        template="depression",
        weight_kg=Decimal(weight),
        height_cm=Decimal(height),
        sex=sex,
        vial_mg_per_ml=Decimal(10),
        vial_ml=Decimal(20),
        bag_ml=Decimal(100),
        prescriber="Dr. Test Prescriber",
    )
