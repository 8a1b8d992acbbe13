"""Ketamine quantities in one exact unit end to end: whole hundredths of a mg (cmg).

The CSV's decimal text is read exactly (no binary float in between), the solvers' integer
loads are these numbers, and the checker sums the same integers: what the solver plans, the
checker accepts. A dose given with more than two decimals is refused, never rounded.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

CMG_PER_MG = 100
UNLIMITED_WORDS = frozenset({"unlimited"})


class QuantityError(ValueError):
    """A quantity's text is not a number of mg with at most two decimals."""


def parse_cmg(raw: str) -> int:
    """`"36.14"` → 3614; refuses negatives, non-numbers and more than two decimals."""
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise QuantityError("is not a number") from None
    if not value.is_finite() or value < 0:
        raise QuantityError("must be a number ≥ 0")
    scaled = value * CMG_PER_MG
    if scaled != scaled.to_integral_value():
        raise QuantityError("has more than two decimals (quantities are in hundredths of a mg)")
    return int(scaled)


def cmg_of(mg: float) -> int:
    """A float mg from a wire format (JSON) to whole hundredths, nearest."""
    return round(Decimal(repr(float(mg))) * CMG_PER_MG)


def mg_text(cmg: int) -> str:
    """3614 → `36.14 mg`, 6000 → `60 mg`, 6050 → `60.5 mg`."""
    whole, cents = divmod(cmg, CMG_PER_MG)
    if not cents:
        return f"{whole} mg"
    return f"{whole}.{cents:02d}".rstrip("0") + " mg"
