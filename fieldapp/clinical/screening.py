"""Patient screening rules: contraindications, pregnancy, cardiac and hepatic look-backs, vitals.

Each function reads `ReadinessInput` and returns the `Reason`s that fire (CLINICAL.md §1.2,
§1.3, §1.8); `readiness.py` runs them with the visit, staff and mood gates.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from fieldapp.clinical.dates import add_months
from fieldapp.clinical.protocol import Protocol
from fieldapp.clinical.readiness_input import BP, ReadinessInput
from fieldapp.clinical.reasons import Reason, fmt
from fieldapp.clinical.rules import fire


def conditions(data: ReadinessInput, p: Protocol) -> list[Reason]:
    """Contraindications and relative contraindications (§1.2), age and indication."""
    h, t = data.history, data.today
    simple = [
        (
            data.age_years < p.age.minimum_years,
            "age_minor",
            f"Age {data.age_years} is under {p.age.minimum_years}: outside the service's scope",
            "protocol.age.minimum_years",
        ),
        (h.psychosis == "active", "psychosis_active", "Active psychosis", None),
        (
            h.psychosis == "history",
            "psychosis_history",
            "History of psychosis: prescriber approval needed",
            None,
        ),
        (h.hepatic == "severe", "hepatic_severe", "Severe hepatic disease", None),
        (
            h.raised_icp_iop == "uncontrolled",
            "pressure_uncontrolled",
            "Raised intracranial or intraocular pressure, active or uncontrolled",
            None,
        ),
        (
            h.raised_icp_iop == "controlled",
            "pressure_controlled",
            "Raised intracranial or intraocular pressure, controlled: prescriber decides",
            None,
        ),
        (
            h.substance_use_disorder,
            "sud_active",
            "Active substance-use disorder: prescriber review; no serial infusions without it",
            None,
        ),
        (t.intoxicated, "intoxicated", "Intoxicated at the visit", None),
        (t.substance_use_24h, "substance_use_24h", "Alcohol or drug use in the last 24 h", None),
        (
            h.aneurysm_avm_ich,
            "vascular_aneurysm_avm_ich",
            "Aneurysmal vascular disease, AVM or history of intracerebral haemorrhage",
            None,
        ),
        (
            h.ketamine_hypersensitivity,
            "ketamine_hypersensitivity",
            "Hypersensitivity to ketamine",
            None,
        ),
        (h.porphyria, "porphyria", "Porphyria: prescriber decides", None),
        (h.thyroid, "thyroid", "Thyroid disease or thyroid medication: prescriber decides", None),
        (
            t.respiratory_infection,
            "respiratory_infection",
            "Active respiratory infection: prescriber decides",
            None,
        ),
        (
            h.airway_instability,
            "airway_instability",
            "Airway instability: prescriber decides",
            None,
        ),
        (t.mania_or_hypomania, "mania", "Current mania or hypomania", None),
        (
            t.urinary_symptoms,
            "urinary_symptoms",
            "Positive urinary symptom screen: urinalysis and prescriber review",
            None,
        ),
        (
            h.unstable_angina
            or h.decompensated_heart_failure
            or h.uncontrolled_arrhythmia
            or h.uncontrolled_hypertension,
            "cardiac_poorly_controlled",
            "Poorly controlled cardiovascular disease",
            None,
        ),
        (
            h.hypertension,
            "hypertension_known",
            f"Known hypertension: BP every {p.age.bp_interval_minutes_when_flagged} min",
            "protocol.age.bp_interval_minutes_when_flagged",
        ),
    ]
    reasons = [fire(p, rule, msg, setting=setting) for hit, rule, msg, setting in simple if hit]
    if data.age_years >= p.age.older_from_years:
        reasons.append(
            fire(
                p,
                "age_older",
                f"Age {data.age_years} is {p.age.older_from_years} or over: BP every "
                f"{p.age.bp_interval_minutes_when_flagged} min",
                str(data.age_years),
                str(p.age.older_from_years),
                "protocol.age.older_from_years",
            )
        )
    if data.indication.lower() not in p.readiness.evidence_supported_indications:
        reasons.append(
            fire(
                p,
                "low_evidence_indication",
                f"Indication {data.indication!r}: off-label / low evidence",
                setting="protocol.readiness.evidence_supported_indications",
            )
        )
    return reasons


def cardiac_hepatic(data: ReadinessInput, p: Protocol) -> list[Reason]:
    """MI look-back, ECG currency, hepatic disease and raised LFTs."""
    h, today, reasons = data.history, data.visit_at.date(), []
    mi_since = add_months(today, -p.cardiac.mi_lookback_months)
    if h.mi_date is not None and h.mi_date >= mi_since:
        reasons.append(
            fire(
                p,
                "cardiac_recent_mi",
                f"Myocardial infarction on {h.mi_date}, within the "
                f"{p.cardiac.mi_lookback_months}-month look-back (since {mi_since})",
                str(h.mi_date),
                f"{p.cardiac.mi_lookback_months} months",
                "protocol.cardiac.mi_lookback_months",
            )
        )
    ecg_since = add_months(today, -p.cardiac.ecg_valid_months)
    if h.cardiovascular_risk and (h.ecg_date is None or h.ecg_date < ecg_since):
        reasons.append(
            fire(
                p,
                "cardiac_ecg_missing",
                "Suspected or high-risk cardiovascular disease and no ECG "
                f"from the last {p.cardiac.ecg_valid_months} months on file",
                str(h.ecg_date) if h.ecg_date else "none on file",
                f"{p.cardiac.ecg_valid_months} months",
                "protocol.cardiac.ecg_valid_months",
            )
        )
    lft_current = h.lft_date is not None and h.lft_date >= today - timedelta(
        days=p.hepatic.lft_current_days
    )
    if h.hepatic == "moderate":
        if lft_current:
            reasons.append(
                fire(
                    p,
                    "hepatic_moderate",
                    f"Moderate hepatic disease, LFTs current ({h.lft_date}): "
                    "prescriber approval needed",
                    str(h.lft_date),
                    f"{p.hepatic.lft_current_days} days",
                    "protocol.hepatic.lft_current_days",
                    ["Post-infusion LFTs are due."],
                )
            )
        else:
            reasons.append(
                fire(
                    p,
                    "hepatic_moderate_no_lft",
                    "Moderate hepatic disease and no LFTs from the "
                    f"last {p.hepatic.lft_current_days} days",
                    str(h.lft_date or "none on file"),
                    f"{p.hepatic.lft_current_days} days",
                    "protocol.hepatic.lft_current_days",
                )
            )
    limit = p.hepatic.lft_hold_above_uln_multiple
    for name, value in (("ALT", h.alt_x_uln), ("AST", h.ast_x_uln)):
        if value is not None and value > limit:
            reasons.append(
                fire(
                    p,
                    "lft_raised",
                    f"{name} {fmt(value)}× ULN is above {fmt(limit)}× ULN",
                    f"{fmt(value)}× ULN",
                    f"{fmt(limit)}× ULN",
                    "protocol.hepatic.lft_hold_above_uln_multiple",
                )
            )
    return reasons


def pregnancy(data: ReadinessInput, p: Protocol) -> list[Reason]:
    """Pregnancy: a hard stop when pregnant, a hold until excluded."""
    t = data.today
    if t.pregnant or t.hcg == "positive":
        return [fire(p, "pregnancy_positive", "Pregnant (known or positive hCG)")]
    if data.sex == "male" or t.childbearing_potential is False or t.hcg == "negative":
        return []
    if p.pregnancy.accept_attestation and t.attested_not_pregnant:
        return []
    needed = (
        "a negative hCG or an attestation" if p.pregnancy.accept_attestation else ("a negative hCG")
    )
    return [
        fire(
            p,
            "pregnancy_not_excluded",
            f"Pregnancy not excluded: {needed} is needed",
            setting="protocol.pregnancy.accept_attestation",
        )
    ]


def _bp_used(readings: list[BP], rule: str) -> tuple[int, int]:
    if rule == "last":
        return readings[-1].systolic, readings[-1].diastolic
    if rule == "highest":
        return max(r.systolic for r in readings), max(r.diastolic for r in readings)
    n = len(readings)
    return (
        round(sum(r.systolic for r in readings) / n),
        round(sum(r.diastolic for r in readings) / n),
    )


def vitals(data: ReadinessInput, p: Protocol) -> list[Reason]:
    """Pre-infusion vitals against the hold and hard-stop limits; emergency symptoms."""
    v, s, reasons = data.vitals, p.vitals.pre_infusion, []
    readings = list(v.bp_readings)
    if len(readings) < s.bp_readings_required or (
        len(readings) > 1 and (v.bp_minutes_apart or Decimal(0)) < s.bp_min_minutes_apart
    ):
        reasons.append(
            fire(
                p,
                "bp_readings_incomplete",
                f"BP must be measured {s.bp_readings_required} times "
                f"at least {fmt(s.bp_min_minutes_apart)} min apart",
                f"{len(readings)} reading(s), {fmt(v.bp_minutes_apart)} min apart",
                f"{s.bp_readings_required}, {fmt(s.bp_min_minutes_apart)} min",
                "protocol.vitals.pre_infusion.bp_readings_required",
            )
        )
    if readings:
        sys_, dia = _bp_used(readings, s.bp_reading_used)
        bp = f"{sys_}/{dia}"
        if s.hard_stop.met_by(sys_, dia):
            reasons.append(
                fire(
                    p,
                    "bp_hard_stop",
                    f"BP {bp} is at or above the hard-stop limit {s.hard_stop}",
                    bp,
                    str(s.hard_stop),
                    "protocol.vitals.pre_infusion.hard_stop",
                )
            )
        elif s.hold.met_by(sys_, dia):
            reasons.append(
                fire(
                    p,
                    "bp_hold",
                    f"BP {bp} is at or above the hold limit {s.hold}",
                    bp,
                    str(s.hold),
                    "protocol.vitals.pre_infusion.hold",
                )
            )
    checks: list[tuple[Any, str, str, Callable[[Any], bool], str, Decimal | int | None, str]] = [
        (
            v.heart_rate,
            "hr_hold",
            "HR",
            lambda x: x >= s.heart_rate_hold_at_or_above,
            "at or above",
            s.heart_rate_hold_at_or_above,
            "heart_rate_hold_at_or_above",
        ),
        (
            v.spo2,
            "spo2_hold",
            "SpO2",
            lambda x: x < s.spo2_hold_below,
            "below",
            s.spo2_hold_below,
            "spo2_hold_below",
        ),
        (
            v.temperature_c,
            "temperature_hold",
            "Temperature",
            lambda x: x >= s.temperature_hold_at_or_above_c,
            "at or above",
            s.temperature_hold_at_or_above_c,
            "temperature_hold_at_or_above_c",
        ),
    ]
    missing = []
    for value, rule, label, hit, words, limit, key in checks:
        if value is None:
            missing.append(label)
        elif limit is not None and hit(value):
            reasons.append(
                fire(
                    p,
                    rule,
                    f"{label} {fmt(value)} is {words} the hold limit {fmt(limit)}",
                    fmt(value),
                    fmt(limit),
                    f"protocol.vitals.pre_infusion.{key}",
                )
            )
    if missing:
        reasons.append(fire(p, "checklist_incomplete", f"Not recorded: {', '.join(missing)}"))
    symptoms = [x for x in data.today.symptoms if x in p.readiness.emergency_symptoms]
    if symptoms:
        reasons.append(
            fire(
                p,
                "emergency_symptom",
                f"Emergency symptom before the infusion: {', '.join(symptoms)}",
                setting="protocol.readiness.emergency_symptoms",
                actions=[p.monitoring.standing_orders.emergency],
            )
        )
    return reasons
