"""Recovery and clinician departure (CLINICAL.md §1.7): cleared, or what is still missing.

Scores come from `scales` (modified Aldrete, PADSS with its variants); the criteria,
minimum observation times and required hand-over items come from `protocol.recovery`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field

from fieldapp.clinical import scales
from fieldapp.clinical.protocol import NAUSEA_ORDER, Protocol
from fieldapp.clinical.reasons import Model, Reason, fmt

LABELS = {
    "oriented_x3": "oriented ×3",
    "gait_steady": "gait steady or at baseline",
    "responsible_adult": "a responsible adult present for the rest of the day",
    "written_instructions": "written instructions and the 24-h phone number given",
    "next_day_call": "next-day phone call scheduled",
    "fall_risk_handover": "fall-risk hand-over to the responsible adult",
}


class RecoveryInput(Model):
    """Observations and hand-over items at the departure check."""

    minutes_since_end: Decimal = Field(ge=0)
    first_infusion: bool
    aldrete: scales.AldreteItems | None = None
    aldrete_total: int | None = Field(None, ge=0, le=10)
    padss_checks: list[scales.PadssItems] = Field(default_factory=list)
    padss_totals: list[int] = Field(default_factory=list)
    baseline: dict[str, float] = Field(default_factory=dict)
    current: dict[str, float] = Field(default_factory=dict)
    nausea: Literal["none", "minimal", "moderate", "severe"] = "none"
    oriented_x3: bool = False
    gait_steady: bool = False
    responsible_adult: bool = False
    written_instructions: bool = False
    next_day_call: bool = False
    fall_risk_handover: bool = False


class RecoveryDecision(Model):
    """Cleared to leave, or not, with every missing criterion."""

    outcome: Literal["cleared", "not_cleared"]
    missing: list[str]
    reasons: list[Reason]
    numbers: dict[str, Decimal | int | None]


def _miss(rule: str, message: str, measured: str | None, limit: str | None, key: str) -> Reason:
    return Reason(
        rule_id=rule,
        outcome="not_cleared",
        message=message,
        measured=measured,
        threshold=limit,
        setting=f"protocol.recovery.{key}",
    )


def _scores(
    data: RecoveryInput, p: Protocol, numbers: dict[str, Decimal | int | None]
) -> list[Reason]:
    s = p.recovery
    aldrete = data.aldrete_total
    if aldrete is None and data.aldrete is not None:
        aldrete = scales.aldrete(data.aldrete, p.scales.aldrete)[0]
    padss = list(data.padss_totals) or [scales.padss(c, p.scales.padss) for c in data.padss_checks]
    numbers["aldrete"] = aldrete
    numbers["padss"] = padss[-1] if padss else None
    need = p.scales.padss.consecutive_checks
    recent = padss[-need:]
    padss_ok = len(recent) == need and all(total >= s.padss_min for total in recent)
    aldrete_ok = aldrete is not None and aldrete >= s.aldrete_min
    recorded = {"aldrete": aldrete is not None, "padss": bool(padss)}
    passed = {"aldrete": aldrete_ok, "padss": padss_ok}
    mode = s.score_mode
    if mode == "all_recorded":
        ok = any(recorded.values()) and all(passed[k] for k, seen in recorded.items() if seen)
    elif mode == "either":
        ok = aldrete_ok or padss_ok
    elif mode == "both":
        ok = aldrete_ok and padss_ok
    else:
        ok = passed[mode]
    if ok:
        return []
    shown = f"Aldrete {fmt(aldrete)}, PADSS {', '.join(map(str, padss)) or 'none'}"
    limit = f"Aldrete ≥{s.aldrete_min} / PADSS ≥{s.padss_min}"
    if need > 1:
        limit += f" on {need} consecutive checks"
    return [
        _miss(
            "discharge_score",
            f"Discharge score not met ({mode}): {shown}; needs {limit}",
            shown,
            limit,
            "score_mode",
        )
    ]


def evaluate_recovery(data: RecoveryInput, protocol: Protocol) -> RecoveryDecision:
    """Decide whether the clinician may leave, listing everything still missing."""
    s = protocol.recovery
    numbers: dict[str, Decimal | int | None] = {}
    reasons = _scores(data, protocol, numbers)
    minimum = (
        s.min_observation_first_minutes if data.first_infusion else s.min_observation_later_minutes
    )
    numbers["min_observation_minutes"] = minimum
    if data.minutes_since_end < minimum:
        key = (
            "min_observation_first_minutes"
            if data.first_infusion
            else "min_observation_later_minutes"
        )
        reasons.append(
            _miss(
                "observation_time",
                f"Observed {int(data.minutes_since_end)} min "
                f"since the end; at least {minimum} min needed",
                f"{int(data.minutes_since_end)} min",
                f"{minimum} min",
                key,
            )
        )
    if data.current or data.baseline:
        try:
            deviation = scales.max_deviation_pct(data.current, data.baseline, s.vitals_compared)
        except scales.ScaleError as exc:
            reasons.append(_miss("vitals_baseline", str(exc), None, None, "vitals_compared"))
        else:
            numbers["vitals_deviation_pct"] = deviation
            if deviation > s.vitals_within_pct:
                reasons.append(
                    _miss(
                        "vitals_baseline",
                        f"Vitals {fmt(deviation)}% from baseline, "
                        f"more than {fmt(s.vitals_within_pct)}%",
                        f"{fmt(deviation)}%",
                        f"{fmt(s.vitals_within_pct)}%",
                        "vitals_within_pct",
                    )
                )
    else:
        reasons.append(
            _miss(
                "vitals_baseline",
                "Vitals against baseline not recorded",
                None,
                None,
                "vitals_compared",
            )
        )
    if NAUSEA_ORDER.index(data.nausea) > NAUSEA_ORDER.index(s.max_nausea):
        reasons.append(
            _miss(
                "nausea",
                f"Nausea {data.nausea}; at most {s.max_nausea} allowed",
                data.nausea,
                s.max_nausea,
                "max_nausea",
            )
        )
    for item in s.required:
        if not getattr(data, item):
            reasons.append(_miss(item, f"Not done: {LABELS[item]}", "no", "yes", "required"))
    return RecoveryDecision(
        outcome="not_cleared" if reasons else "cleared",
        missing=[reason.rule_id for reason in reasons],
        reasons=reasons,
        numbers=numbers,
    )
