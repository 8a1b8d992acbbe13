"""Validate-as-you-type: each form field checked on every keystroke, with a plain message.

Ranges come from the record schemas (`field_ranges`), so the form and the store agree on
what is plausible. The message names the field and the problem ("SpO₂ must be 50–100 %"),
never a clinical threshold: those are the engine's to judge after the value is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from sync.records import field_ranges

Kind = Literal["int", "float", "text", "bool"]


@dataclass(frozen=True)
class FieldSpec:
    """One form field: its record field, label, unit, type and plausible range."""

    name: str
    label: str
    kind: Kind = "int"
    unit: str = ""
    low: float | None = None
    high: float | None = None
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
        try:
            value: float | int = int(raw) if self.kind == "int" else float(raw)
        except ValueError:
            noun = "a whole number" if self.kind == "int" else "a number"
            return None, f"{self.label} must be {noun}"
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            return None, f"{self.label} must be {self.range_text()}"
        return value, None

    def problem(self, text: str) -> str | None:
        """Only the message of `check` (None when the text is valid)."""
        return self.check(text)[1]

    def range_text(self) -> str:
        """The plausible range as a person reads it: "50–100 %"."""
        unit = f" {self.unit}" if self.unit else ""
        if self.low is not None and self.high is not None:
            return f"{_num(self.low)}–{_num(self.high)}{unit}"
        if self.low is not None:
            return f"at least {_num(self.low)}{unit}"
        return f"at most {_num(self.high)}{unit}"


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
    low, high = field_ranges(model).get(name, (None, None))
    return FieldSpec(name, label, kind, unit, low, high, required)


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
