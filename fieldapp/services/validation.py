"""Validate-as-you-type: each form field checked on every keystroke, with a plain message.

Ranges come from the record schemas (`bounds_of` reads a field's `ge`/`gt`/`le`/`lt`), so
the form and the store agree on what is plausible. The message names the field and the
range ("SpO₂ must be 50–100 %"), never the value typed and never a clinical threshold:
those are the engine's to judge after the value is saved.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from pydantic import BaseModel

Kind = Literal["int", "float", "text", "bool"]
WHOLE = re.compile(r"-?[0-9]{1,12}")
"""A whole number as a clinician types it: ASCII digits (no '1_0', no '²'), a sign."""


@dataclass(frozen=True)
class Bounds:
    """A plausible range from a schema; `low_open`/`high_open` for `gt`/`lt`."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    unit: str = ""

    def admits(self, value: float | Decimal) -> bool:
        """Whether `value` lies in the range (NaN and infinities never do)."""
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)

    def text(self) -> str:
        """The range as a person reads it: "50–100 %", "more than 0 and at most 500 kg"."""
        unit = f" {self.unit}" if self.unit else ""
        low, high = _num(self.low), _num(self.high)
        if self.low is not None and self.high is not None:
            if not (self.low_open or self.high_open):
                return f"{low}–{high}{unit}"
            above = f"more than {low}" if self.low_open else f"at least {low}"
            below = f"less than {high}" if self.high_open else f"at most {high}"
            return f"{above} and {below}{unit}"
        if self.low is not None:
            return f"{'more than' if self.low_open else 'at least'} {low}{unit}"
        return f"{'less than' if self.high_open else 'at most'} {high}{unit}"

    def with_unit(self, unit: str) -> Bounds:
        """The same range, said with `unit`."""
        return Bounds(self.low, self.high, self.low_open, self.high_open, unit)


def bounds_of(model: type[BaseModel], name: str, unit: str = "") -> Bounds:
    """The plausible range the schema `model` gives field `name` (unbounded when none)."""
    low = high = None
    low_open = high_open = False
    for meta in model.model_fields[name].metadata:
        for attr, is_low, is_open in (("ge", 1, 0), ("gt", 1, 1), ("le", 0, 0), ("lt", 0, 1)):
            value = getattr(meta, attr, None)
            if value is None:
                continue
            if is_low:
                low, low_open = float(value), bool(is_open)
            else:
                high, high_open = float(value), bool(is_open)
    return Bounds(low, high, low_open, high_open, unit)


def read_whole(raw: str) -> int | None:
    """`raw` as a whole number, or None when it is not one."""
    return int(raw) if WHOLE.fullmatch(raw) else None


def read_number(raw: str) -> Decimal | None:
    """`raw` as a finite decimal number, or None ('nan', 'inf', '1e999999' are not)."""
    try:
        number = Decimal(raw)
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or not math.isfinite(float(number)):
        return None
    return number


@dataclass(frozen=True)
class FieldSpec:
    """One form field: its record field, label, type and plausible range."""

    name: str
    label: str
    kind: Kind = "int"
    bounds: Bounds = Bounds()
    required: bool = True
    max_length: int = 200

    def check(self, text: str) -> tuple[object | None, str | None]:
        """Parse `text`; return (value, None) when valid or (None, message) when not."""
        raw = text.strip()
        if not raw:
            return (None, f"{self.label} is required" if self.required else None)
        if self.kind == "text":
            if len(raw) > self.max_length:
                return None, f"{self.label} must be at most {self.max_length} characters"
            return raw, None
        if self.kind == "bool":
            lowered = raw.lower()
            if lowered in ("y", "yes", "true", "1"):
                return True, None
            if lowered in ("n", "no", "false", "0"):
                return False, None
            return None, f"{self.label} must be yes or no"
        value: int | float | None
        if self.kind == "int":
            value = read_whole(raw)
        else:
            number = read_number(raw)
            value = None if number is None else float(number)
        if value is None:
            noun = "a whole number" if self.kind == "int" else "a number"
            return None, f"{self.label} must be {noun}"
        if not self.bounds.admits(value):
            return None, f"{self.label} must be {self.bounds.text()}"
        return value, None

    def problem(self, text: str) -> str | None:
        """Only the message of `check` (None when the text is valid)."""
        return self.check(text)[1]


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else str(value)


def spec_for(
    model: type[BaseModel],
    name: str,
    label: str,
    unit: str = "",
    kind: Kind = "int",
    required: bool = True,
) -> FieldSpec:
    """A `FieldSpec` for `model.name` with the schema's plausible range."""
    return FieldSpec(name, label, kind, bounds_of(model, name, unit), required)


def check_all(specs: list[FieldSpec], texts: dict[str, str]) -> tuple[dict[str, object], list[str]]:
    """Check every field; return the parsed values and every problem, in form order."""
    values: dict[str, object] = {}
    problems: list[str] = []
    for spec in specs:
        value, problem = spec.check(texts.get(spec.name, ""))
        if problem:
            problems.append(problem)
        elif value is not None:
            values[spec.name] = value
    return values, problems
