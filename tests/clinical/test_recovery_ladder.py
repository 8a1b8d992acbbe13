"""Recovery departure criteria and the lone-worker ladder, at their thresholds."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from fieldapp.clinical.lone_worker import LoneWorkerInput, evaluate_ladder
from fieldapp.clinical.recovery import RecoveryInput, evaluate_recovery

READY = {
    "minutes_since_end": 45,
    "first_infusion": False,
    "aldrete_total": 10,
    "padss_totals": [10],
    "baseline": {"systolic": 120, "diastolic": 80, "heart_rate": 70},
    "current": {"systolic": 120, "diastolic": 80, "heart_rate": 70},
    "nausea": "none",
    "oriented_x3": True,
    "gait_steady": True,
    "responsible_adult": True,
    "written_instructions": True,
    "next_day_call": True,
    "fall_risk_handover": True,
}


def recover(protocol, **changes):
    return evaluate_recovery(RecoveryInput.model_validate(READY | changes), protocol)


@pytest.mark.parametrize(
    ("first", "minutes", "outcome"),
    [
        (True, 59, "not_cleared"),
        (True, 60, "cleared"),
        (False, 29, "not_cleared"),
        (False, 30, "cleared"),
        (False, 31, "cleared"),
    ],
)
def test_minimum_observation(protocol, first, minutes, outcome):
    assert recover(protocol, first_infusion=first, minutes_since_end=minutes).outcome == outcome


@pytest.mark.parametrize(
    ("score", "outcome"), [(8, "not_cleared"), (9, "cleared"), (10, "cleared")]
)
def test_aldrete_threshold(protocol, score, outcome):
    assert recover(protocol, aldrete_total=score).outcome == outcome


@pytest.mark.parametrize(
    ("systolic", "outcome"),
    [(96, "cleared"), (95, "not_cleared"), (144, "cleared"), (145, "not_cleared")],
)
def test_vitals_within_20_percent(protocol, systolic, outcome):
    current = {"systolic": systolic, "diastolic": 80, "heart_rate": 70}
    assert recover(protocol, current=current).outcome == outcome


def test_missing_items_all_listed(protocol):
    decision = recover(protocol, responsible_adult=False, next_day_call=False, gait_steady=False)
    assert decision.outcome == "not_cleared"
    assert set(decision.missing) == {"responsible_adult", "next_day_call", "gait_steady"}


def test_worked_example_37_item_level_padss(protocol):
    padss = {
        "vital_signs": 2,
        "ambulation": 2,
        "nausea_level": "moderate",
        "pain": 2,
        "bleeding": 2,
    }
    decision = recover(
        protocol, minutes_since_end=30, padss_totals=[], padss_checks=[padss], nausea="moderate"
    )
    assert decision.outcome == "cleared" and decision.numbers["padss"] == 9


PLANNED = datetime(2025, 3, 10, 12, 0)


@pytest.mark.parametrize(
    ("minutes", "step"),
    [
        (0, "none"),
        (14, "none"),
        (15, "prompt"),
        (16, "prompt"),
        (29, "prompt"),
        (30, "dispatcher_call"),
        (44, "dispatcher_call"),
        (45, "supervisor"),
        (59, "supervisor"),
        (60, "police_welfare_check"),
        (240, "police_welfare_check"),
    ],
)
def test_ladder_steps(protocol, minutes, step):
    data = LoneWorkerInput(planned_end=PLANNED, now=PLANNED + timedelta(minutes=minutes))
    assert evaluate_ladder(data, protocol).step == step


def test_duress_is_emergency_at_once(protocol):
    data = LoneWorkerInput(
        planned_end=PLANNED,
        now=PLANNED - timedelta(hours=2),
        check_ins=[{"at": PLANNED - timedelta(hours=2), "kind": "duress"}],
    )
    decision = evaluate_ladder(data, protocol)
    assert decision.step == "emergency" and "911" in decision.actions[0]


def test_ladder_times_are_settings(with_settings):
    steps = [
        {"after_minutes": 5, "id": "prompt", "action": "Prompt."},
        {"after_minutes": 10, "id": "police_welfare_check", "action": "Police."},
    ]
    p = with_settings({"lone_worker": {"steps": steps}})
    data = LoneWorkerInput(planned_end=PLANNED, now=PLANNED + timedelta(minutes=10))
    assert evaluate_ladder(data, p).step == "police_welfare_check"
