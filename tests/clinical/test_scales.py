"""Scales exactly as specified: bands at their edges, refusals, variants."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fieldapp.clinical import scales


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately_severe"),
        (19, "moderately_severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_bands(protocol, total, band):
    items = [min(3, max(0, total - 3 * i)) for i in range(9)]
    result = scales.phq9(items, protocol.scales.phq9, 1)
    assert result.total == total and result.band == band


@pytest.mark.parametrize("items", [[1] * 8, [1] * 10, [1] * 8 + [4], [1] * 8 + [-1]])
def test_phq9_refuses_incomplete_or_out_of_range(protocol, items):
    with pytest.raises(scales.ScaleError):
        scales.phq9(items, protocol.scales.phq9, 1)


def test_phq9_item9_and_item10(protocol):
    result = scales.phq9([0] * 8 + [1], protocol.scales.phq9, 1, item10=3)
    assert result.item9_positive and result.total == 1 and result.item10 == 3


@pytest.mark.parametrize(
    ("baseline", "current", "pct", "band"),
    [
        (10, 8, 20, "minimal"),
        (10, 7, 30, "moderate"),
        (10, 6, 40, "moderate"),
        (10, 5, 50, "substantial"),
        (10, 10, 0, "none"),
        (5, 6, -20, "none"),
    ],
)
def test_nrs_change_and_immpact_bands(protocol, baseline, current, pct, band):
    change = scales.nrs_change(baseline, current, protocol.scales.nrs)
    assert change.pct_change == Decimal(pct) and change.responder == band


def test_nrs_change_null_when_baseline_zero(protocol):
    change = scales.nrs_change(0, 3, protocol.scales.nrs)
    assert change.pct_change is None and change.responder is None


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0, "none"),
        (1, "mild"),
        (3, "mild"),
        (4, "moderate"),
        (6, "moderate"),
        (7, "severe"),
        (10, "severe"),
    ],
)
def test_nrs_bands(protocol, score, band):
    assert scales.nrs_band(score, protocol.scales.nrs) == band


def test_cadss_and_short_form(protocol):
    items = list(range(23))
    items = [i % 5 for i in items]
    result = scales.cadss(items, protocol.scales.cadss, observer=[1, 1, 1, 1, 1])
    assert result.total == sum(items)
    assert result.cadss6 == sum(items[i - 1] for i in (1, 2, 6, 7, 15, 22))
    assert result.observer_total == 5
    with pytest.raises(scales.ScaleError):
        scales.cadss(items[:22], protocol.scales.cadss)
    with pytest.raises(scales.ScaleError):
        scales.cadss([*items[:22], 5], protocol.scales.cadss)


def test_rass_range():
    assert scales.rass(0) == "Alert and calm"
    with pytest.raises(scales.ScaleError):
        scales.rass(5)


@pytest.mark.parametrize(
    ("now", "score"), [(140, 2), (141, 1), (170, 1), (171, 0), (100, 2), (99, 1), (69, 0)]
)
def test_aldrete_circulation_mmhg(protocol, now, score):
    assert scales.aldrete_circulation(now, 120, protocol.scales.aldrete) == score


@pytest.mark.parametrize(("now", "score"), [(144, 2), (145, 1), (179, 1), (180, 0)])
def test_aldrete_circulation_percent(with_settings, now, score):
    p = with_settings({"scales": {"aldrete": {"circulation_variant": "percent"}}})
    assert scales.aldrete_circulation(now, 120, p.scales.aldrete) == score


@pytest.mark.parametrize(("pct", "score"), [(20, 2), (Decimal("20.1"), 1), (40, 1), (41, 0)])
def test_padss_vitals_item(protocol, pct, score):
    assert scales.padss_vitals(Decimal(pct), protocol.scales.padss) == score


@pytest.mark.parametrize(
    ("nrs", "standard", "chronic"), [(3, 2, 2), (4, 1, 2), (6, 1, 2), (7, 0, 0)]
)
def test_padss_pain_variants(protocol, with_settings, nrs, standard, chronic):
    chronic_p = with_settings({"scales": {"padss": {"pain_variant": "chronic_baseline"}}})
    assert scales.padss_pain(nrs, 6, protocol.scales.padss) == standard
    assert scales.padss_pain(nrs, 6, chronic_p.scales.padss) == chronic
