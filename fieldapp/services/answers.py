"""A checklist answer as typed: its question, how it is read, and its plausible range.

Every number a checklist asks has a range from one definition, never a copy here: the
record schema that holds the same measurement elsewhere (the monitor's vitals, the dose's
weight, a session's pain score), the scale's own definition (PHQ-9 items), or else the
engine's input schema. A message names the question and the range, never what was typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel

from fieldapp.clinical.readiness_input import ReadinessInput
from fieldapp.clinical.scales import PHQ9_ITEM_MAX
from fieldapp.services.validation import Bounds, bounds_of, read_number, read_whole
from sync.records import DoseOrder, PastSession, VitalsReading

ItemKind = Literal["bp", "int", "number", "bool", "date", "text", "choice", "list"]
NUMBER_KINDS = ("int", "number")

# The readiness input an item fills -> the record field holding the same measurement.
RECORD_BOUNDS: dict[str, tuple[type[BaseModel], str, str]] = {
    "vitals.heart_rate": (VitalsReading, "heart_rate_bpm", "beats/min"),
    "vitals.spo2": (VitalsReading, "spo2_pct", "%"),
    "vitals.rr": (VitalsReading, "resp_rate_per_min", "breaths/min"),
    "vitals.temperature_c": (VitalsReading, "temperature_c", "°C"),
    "weight": (DoseOrder, "weight_kg", "kg"),
    "pain_nrs": (PastSession, "pain_nrs_before", ""),
}
SCALE_BOUNDS = {"today.phq9_items": Bounds(0, PHQ9_ITEM_MAX)}
BP_PARTS = (
    ("systolic", bounds_of(VitalsReading, "systolic_mmhg", "mmHg")),
    ("diastolic", bounds_of(VitalsReading, "diastolic_mmhg", "mmHg")),
)


@dataclass(frozen=True)
class Item:
    """One checklist question: its id, label, answer type, where it goes, its range."""

    id: str
    label: str
    kind: ItemKind
    path: str
    required: bool = True
    hint: str = ""
    options: tuple[str, ...] = ()
    template: str | None = None
    bounds: Bounds | None = field(default=None)
    scope: str = "visit"
    """Who answers it: each "visit", once a "shift", or the clinic's "profile"."""


def bounds_for(kind: str, path: str) -> Bounds | None:
    """The plausible range of a number answer that fills `path` (None: not a number)."""
    if kind not in NUMBER_KINDS:
        return None
    if path in RECORD_BOUNDS:
        model, name, unit = RECORD_BOUNDS[path]
        return bounds_of(model, name, unit)
    if path in SCALE_BOUNDS:
        return SCALE_BOUNDS[path]
    return _engine_bounds(path)


def _engine_bounds(path: str) -> Bounds:
    """The engine input's own constraint on `path` (unbounded when it has none)."""
    model: type[BaseModel] = ReadinessInput
    *groups, name = path.split(".")
    for group in groups:
        annotation = model.model_fields[group].annotation if group in model.model_fields else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return Bounds()
        model = annotation
    return bounds_of(model, name) if name in model.model_fields else Bounds()


def parse_answer(item: Item, text: str) -> tuple[Any, str | None]:
    """Parse one answer as typed: (value, None) or (None, a message naming the problem)."""
    raw = text.strip()
    if not raw:
        return None, (f"{item.label} is required" if item.required else None)
    try:
        return _parse(item, raw), None
    except ValueError as exc:
        return None, f"{item.label}: {exc}"


def _parse(item: Item, raw: str) -> Any:
    if item.kind == "bp":
        return _bp(raw)
    if item.kind in NUMBER_KINDS:
        value: int | float | None
        if item.kind == "int":
            value = read_whole(raw)
            noun = "a whole number"
        else:
            number = read_number(raw)
            value = None if number is None else float(number)
            noun = "a number"
        if value is None:
            raise ValueError(f"must be {noun}")
        bounds = item.bounds or Bounds()
        if not bounds.admits(value):
            raise ValueError(f"must be {bounds.text()}")
        return value
    if item.kind == "bool":
        if raw.lower() in ("y", "yes"):
            return True
        if raw.lower() in ("n", "no"):
            return False
        raise ValueError("answer y or n")
    if item.kind == "date":
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise ValueError("write a date as YYYY-MM-DD") from None
    if item.kind == "choice":
        if raw not in item.options:
            raise ValueError(f"one of {', '.join(item.options)}")
        return raw
    if item.kind == "list":
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def _bp(raw: str) -> str:
    parts = raw.replace(" ", "").split("/")
    numbers = [read_whole(part) if not part.startswith("-") else None for part in parts]
    if len(parts) != len(BP_PARTS) or None in numbers:
        raise ValueError("write it as systolic/diastolic, e.g. 128/82")
    for (name, bounds), number in zip(BP_PARTS, numbers, strict=True):
        assert number is not None
        if not bounds.admits(number):
            raise ValueError(f"{name} must be {bounds.text()}")
    return "/".join(str(n) for n in numbers)
