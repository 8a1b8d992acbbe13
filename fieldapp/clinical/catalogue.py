"""Every rule the engine has, by family, with the engine inputs it reads.

`fieldapp protocol coverage` reads this to show, for each rule, the app inputs that feed
it and the visit cases that make it fire. A rule the app cannot produce by design (the
service refuses the input before the engine sees it) names the test proving the refusal.
Inputs are dotted names: `history.psychosis` (the readiness input), `reading.spo2` (a
reading during the infusion), `dose.weight_kg`, `recovery.aldrete`, `ledger.waste`.
"""

from __future__ import annotations

from fieldapp.clinical.protocol import Protocol

READINESS: dict[str, tuple[str, ...]] = {
    "age_minor": ("age_years",),
    "age_older": ("age_years",),
    "hypertension_known": ("history.hypertension",),
    "cardiac_poorly_controlled": (
        "history.unstable_angina",
        "history.decompensated_heart_failure",
        "history.uncontrolled_arrhythmia",
        "history.uncontrolled_hypertension",
    ),
    "cardiac_recent_mi": ("history.mi_date",),
    "cardiac_ecg_missing": ("history.cardiovascular_risk", "history.ecg_date"),
    "pregnancy_positive": ("today.pregnant", "today.hcg"),
    "pregnancy_not_excluded": (
        "sex",
        "today.childbearing_potential",
        "today.hcg",
        "today.attested_not_pregnant",
    ),
    "psychosis_active": ("history.psychosis",),
    "psychosis_history": ("history.psychosis",),
    "hepatic_severe": ("history.hepatic",),
    "hepatic_moderate": ("history.hepatic", "history.lft_date"),
    "hepatic_moderate_no_lft": ("history.hepatic", "history.lft_date"),
    "lft_raised": ("history.alt_x_uln", "history.ast_x_uln"),
    "lft_due": ("course.previous_infusions", "course.last_lft_date", "course.liver_risk"),
    "pressure_uncontrolled": ("history.raised_icp_iop",),
    "pressure_controlled": ("history.raised_icp_iop",),
    "sud_active": ("history.substance_use_disorder",),
    "intoxicated": ("today.intoxicated",),
    "substance_use_24h": ("today.substance_use_24h",),
    "vascular_aneurysm_avm_ich": ("history.aneurysm_avm_ich",),
    "ketamine_hypersensitivity": ("history.ketamine_hypersensitivity",),
    "porphyria": ("history.porphyria",),
    "thyroid": ("history.thyroid",),
    "respiratory_infection": ("today.respiratory_infection",),
    "airway_instability": ("history.airway_instability",),
    "mania": ("today.mania_or_hypomania",),
    "urinary_symptoms": ("today.urinary_symptoms",),
    "responsible_adult_absent": ("today.responsible_adult",),
    "fasting_solids": ("today.hours_since_solids",),
    "fasting_clear_fluids": ("today.hours_since_clear_fluids",),
    "interval_too_short": ("course.previous_infusions",),
    "nonresponder": ("course.nrs_baseline", "course.nrs_after"),
    "home_registration": ("course.visits_at_address", "course.address_registered"),
    "personnel_acls": ("personnel.acls_expires",),
    "personnel_licence": ("personnel.licence_active", "personnel.licence_expires"),
    "personnel_prescriber_dea": ("personnel.prescriber_dea_states", "personnel.visit_state"),
    "equipment_missing": ("equipment",),
    "checklist_incomplete": ("checklists",),
    "weight_stale": ("today.weight_measured_on",),
    "pdmp_not_checked": ("today.pdmp_checked",),
    "consent_missing": ("today.consent_on_file",),
    "low_evidence_indication": ("indication",),
    "bp_readings_incomplete": ("vitals.bp_readings", "vitals.bp_minutes_apart"),
    "bp_hold": ("vitals.bp_readings",),
    "bp_hard_stop": ("vitals.bp_readings",),
    "hr_hold": ("vitals.heart_rate",),
    "spo2_hold": ("vitals.spo2",),
    "temperature_hold": ("vitals.temperature_c",),
    "emergency_symptom": ("today.symptoms",),
    "phq9_missing": ("today.phq9_items",),
    "phq9_item9_positive": ("today.phq9_items",),
    "cssrs_missing": ("today.cssrs",),
    "cssrs_low": ("today.cssrs",),
    "cssrs_moderate": ("today.cssrs",),
    "cssrs_high": ("today.cssrs",),
    "record_unrecognised": ("record_review",),
    "record_changed": ("today.record_changed",),
}

_BP = ("reading.systolic", "reading.diastolic")
MONITORING: dict[str, tuple[str, ...]] = {
    "bp_emergency": _BP,
    "bp_pause": _BP,
    "bp_pause_persisting": _BP,
    "hr_pause": ("reading.heart_rate",),
    "hr_pause_persisting": ("reading.heart_rate",),
    "symptom_emergency": ("reading.symptoms",),
    "spo2_emergency": ("reading.spo2",),
    "spo2_stop": ("reading.spo2", "reading.spo2_below_seconds"),
    "spo2_watch": ("reading.spo2", "reading.spo2_below_seconds"),
    "respiratory_emergency": ("reading.rr", "reading.apnoea"),
    "rass_sedation_pause": ("reading.rass",),
    "rass_sedation_pause_persisting": ("reading.rass",),
    "rass_sedation_stop": ("reading.rass",),
    "rass_agitation_pause": ("reading.rass",),
    "rass_agitation_pause_persisting": ("reading.rass",),
    "rass_agitation_stop": ("reading.rass",),
    "pause_held": ("reading.minute",),
    "pause_resolved": ("reading.minute",),
    "no_restart": ("reading.minute",),
}

_WEIGHT = ("dose.weight_kg",)
DOSE: dict[str, tuple[str, ...]] = {
    "weight_out_of_range": _WEIGHT,
    "weight_changed": ("dose.weight_kg", "dose.previous_weight_kg"),
    "weight_differs_today": ("dose.weight_kg", "dose.checklist_weight_kg"),
    "weight_unconfirmed": ("dose.weight_confirmed",),
    "weight_policy_capped_at_actual": ("dose.weight_kg", "dose.height_cm", "dose.sex"),
    "rounded_down_to_cap": ("dose.order",),
    "bolus_cap": ("dose.order",),
    "session_cap": ("dose.order", "dose.given_this_session_mg"),
    "session_cap_override": ("dose.order", "dose.session_override_by"),
    "dose_below_rounding": ("dose.order",),
    "unknown_template": ("dose.order",),
    "order_incomplete": ("dose.order",),
    "rate_hard_ceiling": ("dose.order",),
    "home_rate_cap": ("dose.order",),
    "bag_short": ("dose.bag_drug_mg",),
    "several_vials": ("dose.vial_ml",),
    "undiluted_iv": ("dose.vial_mg_per_ml", "dose.diluted_to_mg_per_ml"),
}

RECOVERY: dict[str, tuple[str, ...]] = {
    "discharge_score": ("recovery.aldrete", "recovery.padss"),
    "observation_time": ("recovery.minutes_since_end",),
    "vitals_baseline": ("recovery.current", "recovery.baseline"),
    "nausea": ("recovery.nausea",),
    "oriented_x3": ("recovery.oriented_x3",),
    "gait_steady": ("recovery.gait_steady",),
    "responsible_adult": ("recovery.responsible_adult",),
    "written_instructions": ("recovery.written_instructions",),
    "next_day_call": ("recovery.next_day_call",),
    "fall_risk_handover": ("recovery.fall_risk_handover",),
}

FOLLOW_UPS: dict[str, tuple[str, ...]] = {
    "vitals_interval": ("reading.minute",),
    "after_stop_escalation": ("recovery.current",),
    "recovery_rescore": ("recovery.minutes_since_end",),
    "recovery_escalation": ("recovery.minutes_since_end",),
}

LEDGER: dict[str, tuple[str, ...]] = {
    "no_receipt": ("ledger.carry",),
    "waste_unwitnessed": ("ledger.waste",),
    "overage_unexplained": ("ledger.overage",),
    "breakage_unwitnessed": ("ledger.breakage",),
    "resolution_invalid": ("ledger.resolve",),
    "count_empty": ("ledger.count",),
    "count_short": ("ledger.count",),
    "count_over": ("ledger.count",),
    "draw_mismatch": ("ledger.draw", "ledger.administer"),
    "overdrawn": ("ledger.draw",),
    "not_counted": ("ledger.count",),
    "checked_out": ("ledger.return",),
    "entry_mismatch": ("ledger.draw",),
}

# Rules the app cannot produce by design: the service refuses the input first. Each names
# the test (file::function) that proves the refusal.
GUARDS = "tests/services/test_coverage_guards.py::"
GUARDED: dict[str, str] = {
    "no_receipt": GUARDS + "test_a_carried_vial_always_has_its_receipt",
    "count_empty": GUARDS + "test_a_count_always_has_its_volume",
    "resolution_invalid": GUARDS + "test_a_resolution_needs_an_open_discrepancy",
    "overdrawn": GUARDS + "test_a_draw_beyond_the_vial_is_refused",
    "entry_mismatch": GUARDS + "test_entries_are_written_in_agreement",
    "overage_unexplained": GUARDS + "test_an_overage_needs_its_reason",
    "waste_unwitnessed": GUARDS + "test_waste_needs_the_witnesses_the_protocol_asks",
    "breakage_unwitnessed": GUARDS + "test_breakage_needs_the_witnesses_the_protocol_asks",
    "no_restart": GUARDS + "test_no_reading_after_the_infusion_stopped",
}


# Settings of rules whose decisions are timers rather than reasons (the reasons of the
# other rules name their settings themselves).
TIMER_SETTINGS: dict[str, tuple[str, ...]] = {
    "vitals_interval": (
        "protocol.monitoring.vitals_interval_minutes.nibp_during",
        "protocol.age.bp_interval_minutes_when_flagged",
        "protocol.interactions.*.bp_interval_minutes",
    ),
    "after_stop_escalation": (
        "protocol.monitoring.after_stop.escalate_after_minutes",
        "protocol.monitoring.after_stop.escalate_actions",
    ),
    "recovery_rescore": ("protocol.recovery.rescore_minutes",),
    "recovery_escalation": (
        "protocol.recovery.escalate_not_cleared_after_minutes",
        "protocol.recovery.escalate_actions",
    ),
}


def lone_worker_rules(protocol: Protocol) -> dict[str, tuple[str, ...]]:
    """One rule per step of the clinic's ladder, fed by check-in and the clock."""
    return {
        f"lone_worker_{step.id}": ("lone_worker.check_in", "lone_worker.clock")
        for step in protocol.lone_worker.steps
    }


def every_rule(protocol: Protocol) -> dict[str, tuple[str, tuple[str, ...]]]:
    """rule id -> (family, engine inputs), for every rule the clinic's protocol has."""
    found: dict[str, tuple[str, tuple[str, ...]]] = {}
    families: list[tuple[str, dict[str, tuple[str, ...]]]] = [
        ("readiness", READINESS),
        (
            "interaction",
            {
                f"interaction_{i.id}": (
                    "today.medications_today" if i.when == "today" else "today.medications",
                )
                for i in protocol.interactions
            },
        ),
        ("dose", DOSE),
        ("monitoring", MONITORING),
        ("recovery", RECOVERY),
        ("follow-up", FOLLOW_UPS),
        ("ledger", LEDGER),
        ("lone worker", lone_worker_rules(protocol)),
    ]
    for family, rules in families:
        for rule, inputs in rules.items():
            found[rule] = (family, inputs)
    return found
