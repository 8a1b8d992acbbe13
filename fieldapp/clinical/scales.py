"""Rating scales (CLINICAL.md §2): pain NRS, PHQ-9, CADSS, RASS, modified Aldrete, PADSS.

Scores are validated item by item (a PHQ-9 with an item missing has no total: nothing
is imputed). Bands and variants come from `protocol.scales`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from pydantic import Field

from fieldapp.clinical.protocol import (
    AldreteScale,
    Band,
    CadssScale,
    NrsScale,
    PadssScale,
    Phq9Scale,
)
from fieldapp.clinical.reasons import Model, dec

RASS_DESCRIPTIONS = {
    4: "Combative",
    3: "Very agitated: pulls at lines, aggressive",
    2: "Agitated: frequent non-purposeful movement",
    1: "Restless",
    0: "Alert and calm",
    -1: "Drowsy: awakens to voice with eye contact >10 s",
    -2: "Light sedation: awakens briefly to voice, eye contact <10 s",
    -3: "Moderate sedation: movement or eye opening to voice, no eye contact",
    -4: "Deep sedation: no response to voice; movement or eye opening to physical stimulation",
    -5: "Unarousable",
}
NAUSEA_SCORE = {"none": 2, "minimal": 2, "moderate": 1, "severe": 0}


PHQ9_ITEMS = 9
PHQ9_ITEM_MAX = 3
"""Each PHQ-9 item is scored 0 to 3 (the scale's definition, read by the forms too)."""


class ScaleError(ValueError):
    """A scale was given answers it cannot score (missing, extra or out of range)."""


def _check_items(items: Sequence[int], count: int, low: int, high: int, name: str) -> None:
    if len(items) != count:
        raise ScaleError(f"{name} needs all {count} items; got {len(items)}")
    for number, value in enumerate(items, start=1):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ScaleError(f"{name} item {number} must be a whole number {low}-{high}")


def band_for(score: int, bands: Sequence[Band]) -> str:
    """The name of the band a score falls in (bands end at their inclusive `max`)."""
    for band in bands:
        if score <= band.max:
            return band.name
    raise ScaleError(f"score {score} is above every band")


class NrsChange(Model):
    """Pain change from baseline, with the IMMPACT responder band."""

    baseline: int
    current: int
    pct_change: Decimal | None
    responder: str | None


def nrs_band(score: int, scale: NrsScale) -> str:
    """The band of a pain NRS score 0-10."""
    _check_items([score], 1, 0, 10, "pain NRS")
    return band_for(score, scale.bands)


def nrs_change(baseline: int, current: int, scale: NrsScale) -> NrsChange:
    """%change = (baseline - current) / baseline x 100; null when the baseline is 0."""
    _check_items([baseline, current], 2, 0, 10, "pain NRS")
    if baseline == 0:
        return NrsChange(baseline=baseline, current=current, pct_change=None, responder=None)
    pct = (Decimal(baseline - current) / Decimal(baseline)) * 100
    responder = "none"
    for band in scale.responder_bands:
        if pct >= band.min_pct:
            responder = band.name
            break
    return NrsChange(baseline=baseline, current=current, pct_change=pct, responder=responder)


class Phq9Result(Model):
    """A scored PHQ-9."""

    total: int
    band: str
    item9: int
    item9_positive: bool
    item10: int | None = None


def phq9(
    items: Sequence[int], scale: Phq9Scale, item9_trigger: int, item10: int | None = None
) -> Phq9Result:
    """Score the 9 items (each 0-3); item 10 is recorded, never scored."""
    _check_items(items, PHQ9_ITEMS, 0, PHQ9_ITEM_MAX, "PHQ-9")
    if item10 is not None:
        _check_items([item10], 1, 0, PHQ9_ITEM_MAX, "PHQ-9 item 10")
    total = sum(items)
    return Phq9Result(
        total=total,
        band=band_for(total, scale.bands),
        item9=items[8],
        item9_positive=items[8] >= item9_trigger,
        item10=item10,
    )


class Phq9Response(Model):
    """Depression response and remission against a baseline PHQ-9 total."""

    pct_drop: Decimal | None
    response: bool
    remission: bool


def phq9_response(baseline_total: int, current_total: int, scale: Phq9Scale) -> Phq9Response:
    """Response is a fall of at least `response_drop_pct`; remission is below the cut-off."""
    _check_items([baseline_total, current_total], 2, 0, 27, "PHQ-9 total")
    pct = None
    if baseline_total:
        pct = Decimal(baseline_total - current_total) / Decimal(baseline_total) * 100
    return Phq9Response(
        pct_drop=pct,
        response=pct is not None and pct >= scale.response_drop_pct,
        remission=current_total < scale.remission_below,
    )


CADSS_ITEMS = 23  # subjective items (Bremner 1998)
CADSS_OBSERVER_ITEMS = 5
CADSS_ITEM_MAX = 4
CADSS_TOTAL_MAX = CADSS_ITEMS * CADSS_ITEM_MAX


class CadssResult(Model):
    """CADSS subjective total, short-form total and the separate observer total."""

    total: int
    cadss6: int
    observer_total: int | None = None


def cadss(
    items: Sequence[int], scale: CadssScale, observer: Sequence[int] | None = None
) -> CadssResult:
    """Score the 23 subjective items (0-4 each) and the CADSS-6 short form."""
    _check_items(items, CADSS_ITEMS, 0, CADSS_ITEM_MAX, "CADSS")
    observer_total = None
    if observer is not None:
        _check_items(observer, CADSS_OBSERVER_ITEMS, 0, CADSS_ITEM_MAX, "CADSS observer")
        observer_total = sum(observer)
    short = sum(items[number - 1] for number in scale.short_form_items)
    return CadssResult(total=sum(items), cadss6=short, observer_total=observer_total)


def cadss6(items: Mapping[int, int], scale: CadssScale) -> int:
    """Score the short form alone, given only its items by item number."""
    if sorted(items) != sorted(scale.short_form_items):
        raise ScaleError(f"CADSS-6 needs exactly items {scale.short_form_items}")
    _check_items(list(items.values()), len(items), 0, CADSS_ITEM_MAX, "CADSS-6")
    return sum(items.values())


def rass(score: int) -> str:
    """The RASS description of a score -5..+4."""
    _check_items([score], 1, -5, 4, "RASS")
    return RASS_DESCRIPTIONS[score]


def aldrete_circulation(systolic_now: int, systolic_before: int, scale: AldreteScale) -> int:
    """Circulation item from the systolic BP against the pre-procedure value."""
    difference = Decimal(abs(systolic_now - systolic_before))
    if scale.circulation_variant == "mmhg":
        if difference <= scale.mmhg.full_within:
            return 2
        return 1 if difference <= scale.mmhg.zero_beyond else 0
    pct = difference / Decimal(systolic_before) * 100
    if pct <= scale.percent.full_within:
        return 2
    return 1 if pct < scale.percent.zero_at_or_above else 0


class AldreteItems(Model):
    """The five modified-Aldrete items; circulation may come from BP instead."""

    activity: int = Field(ge=0, le=2)
    respiration: int = Field(ge=0, le=2)
    circulation: int | None = Field(None, ge=0, le=2)
    consciousness: int = Field(ge=0, le=2)
    spo2: int = Field(ge=0, le=2)
    systolic_now: int | None = Field(None, gt=0)
    systolic_before: int | None = Field(None, gt=0)


def aldrete(items: AldreteItems, scale: AldreteScale) -> tuple[int, int]:
    """The total (0-10) and the circulation item used."""
    circulation = items.circulation
    if circulation is None:
        if items.systolic_now is None or items.systolic_before is None:
            raise ScaleError("Aldrete circulation needs a score or both systolic readings")
        circulation = aldrete_circulation(items.systolic_now, items.systolic_before, scale)
    total = items.activity + items.respiration + circulation + items.consciousness + items.spo2
    return total, circulation


def max_deviation_pct(
    now: Mapping[str, float], baseline: Mapping[str, float], names: Sequence[str]
) -> Decimal:
    """The largest |now - baseline| / baseline x 100 over the named vitals."""
    worst = Decimal(0)
    for name in names:
        if name not in now or name not in baseline:
            raise ScaleError(f"vitals: {name} needed now and at baseline")
        before = dec(baseline[name])
        if before <= 0:
            raise ScaleError(f"vitals: baseline {name} must be above 0")
        worst = max(worst, abs(dec(now[name]) - before) / before * 100)
    return worst


class PadssItems(Model):
    """The five PADSS items; vitals and pain may come from measurements instead."""

    vital_signs: int | None = Field(None, ge=0, le=2)
    ambulation: int = Field(ge=0, le=2)
    nausea: int | None = Field(None, ge=0, le=2)
    nausea_level: str | None = Field(None, pattern="^(none|minimal|moderate|severe)$")
    pain: int | None = Field(None, ge=0, le=2)
    pain_nrs: int | None = Field(None, ge=0, le=10)
    pain_baseline_nrs: int | None = Field(None, ge=0, le=10)
    bleeding: int = Field(ge=0, le=2)
    vitals_deviation_pct: Decimal | None = Field(None, ge=0)


def padss_pain(nrs: int, baseline: int | None, scale: PadssScale) -> int:
    """Pain item: NRS bands, or (chronic-pain variant) 2 when at or below the baseline."""
    if scale.pain_variant == "chronic_baseline" and baseline is not None and nrs <= baseline:
        return 2
    if nrs <= scale.pain_full_at_most:
        return 2
    return 1 if nrs <= scale.pain_partial_at_most else 0


def padss_vitals(deviation_pct: Decimal, scale: PadssScale) -> int:
    """Vital-signs item from the largest % deviation from baseline."""
    if deviation_pct <= scale.vitals_full_within_pct:
        return 2
    return 1 if deviation_pct <= scale.vitals_zero_above_pct else 0


def padss(items: PadssItems, scale: PadssScale) -> int:
    """The PADSS total (0-10)."""
    vitals = items.vital_signs
    if vitals is None:
        if items.vitals_deviation_pct is None:
            raise ScaleError("PADSS vital signs need a score or a % deviation")
        vitals = padss_vitals(items.vitals_deviation_pct, scale)
    nausea = items.nausea
    if nausea is None:
        if items.nausea_level is None:
            raise ScaleError("PADSS nausea needs a score or a level")
        nausea = NAUSEA_SCORE[items.nausea_level]
    pain = items.pain
    if pain is None:
        if items.pain_nrs is None:
            raise ScaleError("PADSS pain needs a score or an NRS")
        pain = padss_pain(items.pain_nrs, items.pain_baseline_nrs, scale)
    return vitals + items.ambulation + nausea + pain + items.bleeding
