"""Dose arithmetic: caps at, below and above; and no dose ever above a cap (hypothesis)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldapp.clinical.dosing import DoseInput, compute_dose


def dose(protocol, **changes):
    data = {
        "weight_kg": 70,
        "height_cm": 175,
        "sex": "male",
        "vial_mg_per_ml": 10,
        "vial_ml": 20,
    } | changes
    return compute_dose(DoseInput.model_validate(data), protocol)


@pytest.mark.parametrize(("mg_per_kg", "outcome"), [(0.34, "ok"), (0.35, "ok"), (0.36, "refused")])
def test_bolus_cap(protocol, mg_per_kg, outcome):
    assert dose(protocol, order={"kind": "bolus", "mg_per_kg": mg_per_kg}).outcome == outcome


@pytest.mark.parametrize(("rate", "outcome"), [(0.99, "ok"), (1.0, "ok"), (1.01, "refused")])
def test_home_rate_cap(protocol, rate, outcome):
    order = {"kind": "infusion_rate", "mg_per_kg_per_h": rate, "duration_min": 60}
    assert dose(protocol, order=order, bag_ml=100).outcome == outcome


@pytest.mark.parametrize(
    ("weight", "outcome"), [(29.9, "refused"), (30, "ok"), (250, "ok"), (250.1, "refused")]
)
def test_weight_limits(protocol, weight, outcome):
    result = dose(protocol, weight_kg=weight, order={"kind": "bolus", "mg_per_kg": 0.1})
    assert result.outcome == outcome


@pytest.mark.parametrize(("now", "warned"), [(54.9, False), (55, False), (55.05, True)])
def test_weight_change_warning(protocol, now, warned):
    result = dose(
        protocol, weight_kg=now, previous_weight_kg=50, order={"kind": "bolus", "mg_per_kg": 0.1}
    )
    assert any(r.rule_id == "weight_changed" for r in result.reasons) is warned


def test_worked_example_7_adjusted_weight(protocol):
    result = dose(
        protocol,
        weight_kg=130,
        height_cm=170,
        order={"kind": "template", "template": "depression"},
        bag_ml=100,
    )
    n = result.numbers
    assert n["weight_policy"] == "adjusted"
    assert round(n["ideal_kg"], 1) == Decimal("65.9")
    assert round(n["adjusted_kg"], 1) == Decimal("91.6")
    assert round(n["dose_mg_exact"], 1) == Decimal("45.8")
    assert n["dose_mg"] == Decimal("46.0")
    assert [s.label for s in result.steps][:3] == [
        "BMI",
        "Ideal weight (Devine)",
        "Adjusted weight",
    ]


def test_undiluted_100_mg_per_ml_refused(protocol):
    result = dose(
        protocol, vial_mg_per_ml=100, vial_ml=5, order={"kind": "bolus", "mg_per_kg": 0.2}
    )
    assert result.outcome == "refused"
    assert result.reasons[-1].setting == "protocol.dosing.iv_refuse_at_or_above_mg_per_ml"


def test_session_override_only_when_allowed(protocol, with_settings):
    order = {"kind": "infusion_rate", "mg_per_kg_per_h": 1.0, "duration_min": 180}
    kwargs = {
        "weight_kg": 100,
        "height_cm": 190,
        "order": order,
        "bag_ml": 500,
        "session_override_by": "Dr Medical Director",
    }
    assert dose(protocol, **kwargs).outcome == "refused"
    allowed = with_settings({"dosing": {"session_cap_override_allowed": True}})
    result = dose(allowed, **kwargs)
    assert result.outcome == "ok_with_warnings"
    assert any("Dr Medical Director" in r.message for r in result.reasons)


orders = st.one_of(
    st.builds(lambda m: {"kind": "bolus", "mg_per_kg": m}, st.decimals("0.01", "1.0", places=3)),
    st.builds(
        lambda r, d: {"kind": "infusion_rate", "mg_per_kg_per_h": r, "duration_min": d},
        st.decimals("0.01", "3.0", places=3),
        st.integers(5, 600),
    ),
    st.builds(
        lambda m, d: {"kind": "infusion_total", "mg_per_kg": m, "duration_min": d},
        st.decimals("0.01", "4.0", places=3),
        st.integers(5, 600),
    ),
    st.just({"kind": "template", "template": "depression"}),
)


@settings(max_examples=400, deadline=None)
@given(
    weight=st.decimals("1", "400", places=2),
    height=st.decimals("120", "220", places=1),
    sex=st.sampled_from(["female", "male"]),
    order=orders,
    given_mg=st.decimals("0", "150", places=1),
    policy=st.sampled_from([None, "actual", "ideal", "adjusted"]),
)
def test_no_dose_ever_above_a_cap(protocol, weight, height, sex, order, given_mg, policy):
    result = dose(
        protocol,
        weight_kg=weight,
        height_cm=height,
        sex=sex,
        order=order,
        given_this_session_mg=given_mg,
        weight_policy=policy,
        bag_ml=250,
    )
    if result.outcome == "refused":
        return
    s, n = protocol.dosing, result.numbers
    w = n["dosing_weight_kg"]
    assert w <= weight  # never dosed on more than the actual weight
    assert s.weight_min_kg <= weight <= s.weight_max_kg
    total = n["dose_mg"]
    assert given_mg + total <= min(s.session_cap_mg_per_kg * w, s.session_cap_mg)
    assert total % s.dose_rounding_mg == 0
    if order["kind"] == "bolus":
        assert total <= s.bolus_cap_mg_per_kg * w
    else:
        assert n["rate_mg_per_h"] <= s.home_rate_cap_mg_per_kg_per_h * w
        assert n["rate_mg_per_h"] <= s.rate_hard_ceiling_mg_per_kg_per_h * w
