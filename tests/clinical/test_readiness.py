"""Readiness rules at, just below and just above each threshold."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from fieldapp.clinical.readiness import evaluate_readiness
from fieldapp.clinical.readiness_input import ReadinessInput
from tests.clinical.conftest import healthy


def decide(protocol, **changes):
    return evaluate_readiness(ReadinessInput.model_validate(healthy(**changes)), protocol)


def rules(decision):
    return {reason.rule_id for reason in decision.reasons}


def test_healthy_baseline_proceeds(protocol):
    decision = decide(protocol)
    assert decision.outcome == "proceed", [str(r) for r in decision.reasons]


@pytest.mark.parametrize(
    ("bp", "outcome"),
    [
        ("139/89", "proceed"),
        ("140/89", "hold"),
        ("139/90", "hold"),
        ("141/91", "hold"),
        ("179/109", "hold"),
        ("180/109", "hard_stop"),
        ("179/110", "hard_stop"),
        ("181/111", "hard_stop"),
    ],
)
def test_pre_infusion_bp_limits(protocol, bp, outcome):
    assert decide(protocol, vitals={"bp_readings": ["120/80", bp]}).outcome == outcome


def test_hard_stop_reason_explains_itself(protocol):
    decision = decide(protocol, vitals={"bp_readings": ["120/80", "184/112"]})
    (reason,) = [r for r in decision.reasons if r.rule_id == "bp_hard_stop"]
    assert str(reason) == (
        "BP 184/112 is at or above the hard-stop limit 180/110 "
        "(protocol.vitals.pre_infusion.hard_stop)"
    )
    assert reason.measured == "184/112" and reason.threshold == "180/110"


@pytest.mark.parametrize(("rule", "outcome"), [("last", "proceed"), ("highest", "hold")])
def test_which_bp_reading_counts_is_a_setting(with_settings, rule, outcome):
    p = with_settings({"vitals": {"pre_infusion": {"bp_reading_used": rule}}})
    assert decide(p, vitals={"bp_readings": ["150/95", "130/80"]}).outcome == outcome


@pytest.mark.parametrize(("age", "outcome"), [(17, "hard_stop"), (18, "proceed"), (19, "proceed")])
def test_minimum_age(protocol, age, outcome):
    assert decide(protocol, age_years=age).outcome == outcome


@pytest.mark.parametrize(("age", "flagged"), [(64, False), (65, True), (66, True)])
def test_older_age_flag(protocol, age, flagged):
    decision = decide(protocol, age_years=age)
    assert ("age_older" in rules(decision)) is flagged
    assert (decision.numbers.get("bp_interval_minutes") == 10) is flagged


@pytest.mark.parametrize(
    ("mi", "fires"),
    [(date(2024, 9, 11), True), (date(2024, 9, 10), True), (date(2024, 9, 9), False)],
)
def test_mi_lookback(protocol, mi, fires):
    decision = decide(protocol, history={"mi_date": mi})
    assert ("cardiac_recent_mi" in rules(decision)) is fires


@pytest.mark.parametrize(
    ("ecg", "fires"),
    [
        (date(2024, 3, 11), False),
        (date(2024, 3, 10), False),
        (date(2024, 3, 9), True),
        (None, True),
    ],
)
def test_ecg_validity(protocol, ecg, fires):
    decision = decide(protocol, history={"cardiovascular_risk": True, "ecg_date": ecg})
    assert ("cardiac_ecg_missing" in rules(decision)) is fires


@pytest.mark.parametrize(
    ("days_old", "rule"),
    [(29, "hepatic_moderate"), (30, "hepatic_moderate"), (31, "hepatic_moderate_no_lft")],
)
def test_moderate_hepatic_lft_currency(protocol, days_old, rule):
    lft = date(2025, 3, 10) - timedelta(days=days_old)
    decision = decide(protocol, history={"hepatic": "moderate", "lft_date": lft})
    assert rule in rules(decision) and decision.outcome == "hold"


def test_moderate_hepatic_hold_released_only_with_current_lfts(protocol):
    approval = [{"prescriber": "Dr Synthetic", "note": "reviewed LFTs"}]
    current = decide(
        protocol, history={"hepatic": "moderate", "lft_date": date(2025, 3, 1)}, approvals=approval
    )
    stale = decide(
        protocol, history={"hepatic": "moderate", "lft_date": date(2025, 1, 1)}, approvals=approval
    )
    assert current.outcome == "proceed_with_flags"
    assert "approved by Dr Synthetic" in next(
        r.message for r in current.reasons if r.rule_id == "hepatic_moderate"
    )
    assert current.approvals[0].prescriber == "Dr Synthetic"
    assert stale.outcome == "hold"


@pytest.mark.parametrize(("ratio", "fires"), [(2.9, False), (3.0, False), (3.1, True)])
def test_lft_above_three_times_uln(protocol, ratio, fires):
    assert ("lft_raised" in rules(decide(protocol, history={"ast_x_uln": ratio}))) is fires


@pytest.mark.parametrize(("hours", "outcome"), [(5.9, "hold"), (6, "proceed"), (6.1, "proceed")])
def test_fasting_solids(protocol, hours, outcome):
    assert decide(protocol, today={"hours_since_solids": hours}).outcome == outcome


@pytest.mark.parametrize(("hours", "outcome"), [(1.9, "hold"), (2, "proceed"), (2.1, "proceed")])
def test_fasting_clear_fluids(protocol, hours, outcome):
    assert decide(protocol, today={"hours_since_clear_fluids": hours}).outcome == outcome


def test_fasting_can_be_turned_off(with_settings):
    p = with_settings({"fasting": {"enabled": False}})
    assert decide(p, today={"hours_since_solids": 1}).outcome == "proceed"


@pytest.mark.parametrize(
    ("changes", "rule", "outcome"),
    [
        ({"history": {"psychosis": "active"}}, "psychosis_active", "hard_stop"),
        ({"history": {"psychosis": "history"}}, "psychosis_history", "hold"),
        ({"history": {"hepatic": "severe"}}, "hepatic_severe", "hard_stop"),
        ({"history": {"raised_icp_iop": "uncontrolled"}}, "pressure_uncontrolled", "hard_stop"),
        ({"history": {"raised_icp_iop": "controlled"}}, "pressure_controlled", "hold"),
        ({"history": {"substance_use_disorder": True}}, "sud_active", "hold"),
        ({"today": {"intoxicated": True}}, "intoxicated", "hard_stop"),
        ({"history": {"aneurysm_avm_ich": True}}, "vascular_aneurysm_avm_ich", "hard_stop"),
        (
            {"history": {"ketamine_hypersensitivity": True}},
            "ketamine_hypersensitivity",
            "hard_stop",
        ),
        ({"history": {"porphyria": True}}, "porphyria", "hold"),
        ({"history": {"thyroid": True}}, "thyroid", "hold"),
        ({"today": {"respiratory_infection": True}}, "respiratory_infection", "hold"),
        ({"history": {"airway_instability": True}}, "airway_instability", "hold"),
        ({"today": {"mania_or_hypomania": True}}, "mania", "hold"),
        ({"today": {"urinary_symptoms": True}}, "urinary_symptoms", "hold"),
        ({"today": {"responsible_adult": False}}, "responsible_adult_absent", "hold"),
        ({"today": {"hcg": "positive"}}, "pregnancy_positive", "hard_stop"),
        ({"today": {"hcg": "not_done"}}, "pregnancy_not_excluded", "hold"),
        ({"history": {"unstable_angina": True}}, "cardiac_poorly_controlled", "hard_stop"),
        ({"today": {"pdmp_checked": False}}, "pdmp_not_checked", "hold"),
        ({"today": {"consent_on_file": False}}, "consent_missing", "hold"),
        ({"today": {"symptoms": ["dyspnoea"]}}, "emergency_symptom", "emergency"),
        ({"personnel": {"licence_active": False}}, "personnel_licence", "hard_stop"),
        ({"personnel": {"acls_expires": date(2025, 3, 9)}}, "personnel_acls", "hard_stop"),
        ({"personnel": {"visit_state": "WA"}}, "personnel_prescriber_dea", "hard_stop"),
        ({"equipment": {"aed": False}}, "equipment_missing", "hold"),
        ({"today": {"medications": ["theophylline"]}}, "interaction_theophylline", "hold"),
        (
            {"today": {"medications": ["Oxycodone"]}},
            "interaction_cns_depressant",
            "proceed_with_flags",
        ),
    ],
)
def test_each_condition_rule(protocol, changes, rule, outcome):
    decision = decide(protocol, **changes)
    assert rule in rules(decision)
    assert decision.outcome == outcome


def test_male_needs_no_pregnancy_test(protocol):
    assert decide(protocol, sex="male", today={"hcg": None}).outcome == "proceed"


@pytest.mark.parametrize(("accept", "outcome"), [(False, "hold"), (True, "proceed")])
def test_pregnancy_attestation_is_a_setting(with_settings, accept, outcome):
    p = with_settings({"pregnancy": {"accept_attestation": accept}})
    changes = {"today": {"hcg": None, "attested_not_pregnant": True}}
    assert decide(p, **changes).outcome == outcome


@pytest.mark.parametrize(
    ("cssrs", "outcome"),
    [
        ({"q1": False, "q2": False, "q6": False}, "proceed_with_flags"),
        ({"q1": True, "q2": False, "q6": False}, "proceed_with_flags"),
        ({"q1": True, "q2": True, "q3": True, "q4": False, "q5": False, "q6": False}, "hold"),
        ({"q1": False, "q2": False, "q6": True, "q6_recent": False}, "hold"),
        ({"q1": False, "q2": False, "q6": True, "q6_recent": True}, "hard_stop"),
        ({"q1": True, "q2": True, "q3": False, "q4": False, "q5": True, "q6": False}, "hard_stop"),
    ],
)
def test_cssrs_levels_drive_readiness(protocol, cssrs, outcome):
    # Item 9 positive makes the C-SSRS required and adds a clinician-review flag.
    phq9 = [0, 0, 0, 0, 0, 0, 0, 0, 1]
    assert decide(protocol, today={"phq9_items": phq9, "cssrs": cssrs}).outcome == outcome


def test_item9_without_cssrs_holds(protocol):
    decision = decide(protocol, today={"phq9_items": [0] * 8 + [1]})
    assert decision.outcome == "hold" and "cssrs_missing" in rules(decision)


def test_approval_for_a_named_rule_leaves_other_holds(protocol):
    decision = decide(
        protocol,
        history={"porphyria": True},
        today={"urinary_symptoms": True},
        approvals=[{"prescriber": "Dr Synthetic", "rule_ids": ["porphyria"]}],
    )
    assert decision.outcome == "hold"
    outcomes = {r.rule_id: r.outcome for r in decision.reasons}
    assert outcomes == {"porphyria": "proceed_with_flags", "urinary_symptoms": "hold"}


def test_approval_never_lifts_a_hard_stop(protocol):
    decision = decide(
        protocol, history={"psychosis": "active"}, approvals=[{"prescriber": "Dr Synthetic"}]
    )
    assert decision.outcome == "hard_stop"


def test_worst_outcome_wins(protocol):
    decision = decide(
        protocol, age_years=70, history={"porphyria": True}, today={"symptoms": ["chest_pain"]}
    )
    assert decision.outcome == "emergency"


def test_decision_records_protocol_version(protocol):
    decision = decide(protocol, visit_at=datetime(2025, 3, 10, 9, 0))
    assert decision.protocol_version == protocol.version
