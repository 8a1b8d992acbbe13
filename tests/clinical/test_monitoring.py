"""In-infusion rules at, below and above each limit, and the pause -> stop sequence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldapp.clinical.monitoring import Reading, evaluate_reading, evaluate_series


def actions(protocol, *readings):
    return [d.action for d in evaluate_series([Reading(**r) for r in readings], protocol)]


@pytest.mark.parametrize(
    ("fields", "action"),
    [
        ({"systolic": 179, "diastolic": 99}, "continue"),
        ({"systolic": 180, "diastolic": 99}, "pause"),
        ({"systolic": 179, "diastolic": 100}, "pause"),
        ({"systolic": 199, "diastolic": 119}, "pause"),
        ({"systolic": 200, "diastolic": 119}, "emergency"),
        ({"systolic": 150, "diastolic": 120}, "emergency"),
        ({"heart_rate": 109}, "continue"),
        ({"heart_rate": 110}, "pause"),
        ({"spo2": 92, "spo2_below_seconds": 100}, "continue"),
        ({"spo2": 91, "spo2_below_seconds": 29}, "continue"),
        ({"spo2": 91, "spo2_below_seconds": 30}, "stop"),
        ({"spo2": 88, "spo2_below_seconds": 31}, "stop"),
        ({"spo2": 87}, "emergency"),
        ({"rr": 8}, "continue"),
        ({"rr": 7}, "emergency"),
        ({"apnoea": True}, "emergency"),
        ({"rass": -1}, "continue"),
        ({"rass": -2}, "pause"),
        ({"rass": -3}, "stop"),
        ({"rass": 1}, "continue"),
        ({"rass": 2}, "pause"),
        ({"rass": 3}, "stop"),
        ({"symptoms": ["anaphylaxis"]}, "emergency"),
        ({"symptoms": ["mild_nausea"]}, "continue"),
        ({"cadss": 80, "rass": 0, "systolic": 130, "diastolic": 80}, "continue"),
    ],
)
def test_single_reading_limits(protocol, fields, action):
    assert actions(protocol, {"minute": 10, **fields}) == [action]


def test_worked_example_32(protocol):
    decisions = evaluate_series(
        [
            Reading(minute=20, systolic=186, diastolic=104),
            Reading(minute=25, systolic=182, diastolic=102),
            Reading(minute=40, systolic=120, diastolic=70),
        ],
        protocol,
    )
    assert [d.action for d in decisions] == ["pause", "stop", "stop"]
    assert decisions[0].recheck_minutes == 5
    assert any("prescriber" in a and "antihypertensive" in a for a in decisions[1].actions)
    assert not decisions[2].restart_allowed


@pytest.mark.parametrize(("minute", "action"), [(24, "pause"), (25, "stop"), (26, "stop")])
def test_persisting_only_counts_at_the_recheck(protocol, minute, action):
    earlier = [Reading(minute=20, systolic=186, diastolic=104)]
    decision = evaluate_reading(
        Reading(minute=minute, systolic=182, diastolic=102), earlier, protocol
    )
    assert decision.action == action


def test_recheck_minutes_is_a_setting(with_settings):
    p = with_settings({"monitoring": {"recheck_minutes": 3}})
    earlier = [Reading(minute=20, systolic=186, diastolic=104)]
    assert evaluate_reading(Reading(minute=23, systolic=182, diastolic=102), earlier, p).action == (
        "stop"
    )


readings = st.builds(
    Reading,
    minute=st.integers(0, 120),
    systolic=st.integers(80, 230),
    diastolic=st.integers(40, 140),
    heart_rate=st.integers(40, 150),
    spo2=st.integers(80, 100),
    spo2_below_seconds=st.integers(0, 90),
    rr=st.integers(4, 30),
    rass=st.integers(-5, 4),
)


@given(st.lists(readings, min_size=1, max_size=12))
def test_never_restarts_after_a_stop(protocol, series):
    decisions = evaluate_series(series, protocol)
    stopped = False
    for decision in decisions:
        if stopped:
            assert decision.action in ("stop", "emergency")
        stopped = stopped or decision.action in ("stop", "emergency")
