"""Reasons and outcome ladders: how every decision of the engine explains itself.

Each engine answers with an outcome from a ladder (worst wins) and the list of
`Reason`s that produced it. A reason names the rule, what was measured, the limit it
met and the setting in `config/protocol.toml` that holds that limit, so a screen can
say "BP 184/112 is at or above the hard-stop limit 180/110
(protocol.vitals.pre_infusion.hard_stop)".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict

READINESS_LADDER = ("proceed", "proceed_with_flags", "hold", "hard_stop", "emergency")
MONITORING_LADDER = ("continue", "pause", "stop", "emergency")
RECOVERY_LADDER = ("cleared", "not_cleared")
LEDGER_LADDER = ("balanced", "overage", "incomplete", "discrepancy")
DOSE_LADDER = ("ok", "ok_with_warnings", "refused")


class Model(BaseModel):
    """Base of every engine model: unknown keys are mistakes, values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Reason(Model):
    """Why a decision came out as it did: rule, measured value, threshold and setting."""

    rule_id: str
    outcome: str
    message: str
    measured: str | None = None
    threshold: str | None = None
    setting: str | None = None
    approvable: bool = False
    actions: tuple[str, ...] = ()
    # Follow-up actions (ids of protocol.toml [actions]) this reason starts.
    action_ids: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.message} ({self.setting})" if self.setting else self.message


def worst(outcomes: Iterable[str], ladder: Sequence[str]) -> str:
    """The most severe outcome on `ladder` among `outcomes` (the ladder's first if none)."""
    rank = {name: i for i, name in enumerate(ladder)}
    best = 0
    for outcome in outcomes:
        best = max(best, rank[outcome])
    return ladder[best]


def at_least(outcome: str, floor: str, ladder: Sequence[str]) -> bool:
    """Whether `outcome` is as severe as `floor` or worse."""
    return ladder.index(outcome) >= ladder.index(floor)


def dec(value: float | int | str | Decimal) -> Decimal:
    """An exact decimal from a number as a person wrote it (0.35 stays 0.35)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def round_to(value: Decimal, step: Decimal) -> Decimal:
    """`value` rounded to the nearest multiple of `step`, halves away from zero."""
    return (value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    """`value` rounded down to a multiple of `step` (used so rounding never crosses a cap)."""
    return (value / step).quantize(Decimal(1), rounding=ROUND_FLOOR) * step


def fmt(value: Decimal | float | int | None) -> str:
    """A number as a clinician would read it: at most 3 decimals, no trailing zeros."""
    if value is None:
        return "none"
    d = dec(value)
    if d != d.to_integral_value():
        d = d.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    text = format(d.normalize(), "f") if d == d.to_integral_value() else format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
