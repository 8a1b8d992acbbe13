"""The patient's structured clinical record, as the clinic keeps it and the laptop carries it.

The clinic owns it (imported from its CSV or sent through the API) and it travels inside
the patient summary. Problems are coded in SNOMED CT or ICD-10-CM, with a status and
dates; allergies name the substance, the reaction and its severity; labs carry their date
and upper limit of normal. What each entry means for the protocol is not decided here: the
laptop's vocabulary (`config/vocabulary.toml`) maps codes and names to the engine's inputs,
and an entry it does not know is shown to the clinician, never ignored.

A date may be partial ("2026-10", "2026") where the clinic knows no more: the laptop then
reads it as the latest day it can mean, so a look-back window errs towards caution.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from sync.text import Text

EntryText = Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9.\-]{1,20}$")]
PartialDate = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$")]

CodeSystem = Literal["snomed", "icd10cm", "rxnorm", "loinc"]
ProblemStatus = Literal["active", "history", "controlled", "resolved"]
ENTRY_KINDS = ("problem", "allergy", "medication", "lab", "ecg", "risk_factor")
_PARTIAL = re.compile(r"^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?$")


class Part(BaseModel):
    """A frozen part of the record: unknown fields and NaN refused, as in every record."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def check_partial_date(value: str | None) -> str | None:
    """Refuse a partial date that names no real month or day ("2026-13", "2026-02-30")."""
    if value is not None:
        latest_day(value)
    return value


def latest_day(value: str) -> date:
    """The last day a (partial) date can mean: "2026-10" is 2026-10-31, "2026" 2026-12-31."""
    match = _PARTIAL.match(value)
    if match is None:
        raise ValueError("write a date as YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = (int(part) if part else None for part in match.groups())
    assert year is not None
    if month is None:
        return date(year, 12, 31)
    if not 1 <= month <= 12:
        raise ValueError("month must be 01-12")
    if day is not None:
        return date(year, month, day)
    following = date(year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


class Coded(Part):
    """An entry's optional code, in the system the clinic chose."""

    code_system: CodeSystem | None = None
    code: Code | None = None

    @field_validator("code")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value

    def coded_as(self) -> str | None:
        """`system:CODE`, or None when the entry carries no code."""
        if self.code_system is None or self.code is None:
            return None
        return f"{self.code_system}:{self.code}"


class Problem(Coded):
    """A problem on the clinic's list: what, its code, its status and dates."""

    text: EntryText
    status: ProblemStatus = "active"
    onset: PartialDate | None = None
    resolved_on: PartialDate | None = None

    _dates = field_validator("onset", "resolved_on")(check_partial_date)


class Allergy(Coded):
    """An allergy or intolerance: the substance, what it does, how badly."""

    substance: EntryText
    reaction: Text | None = Field(None, max_length=200)
    severity: Literal["mild", "moderate", "severe", "unknown"] = "unknown"
    status: Literal["active", "inactive"] = "active"


class Medication(Coded):
    """A medication the patient takes (or took)."""

    name: EntryText
    dose: Text | None = Field(None, max_length=200)
    status: Literal["active", "stopped"] = "active"
    started_on: date | None = None
    stopped_on: date | None = None


class LabResult(Coded):
    """One lab result with its date; liver enzymes need the upper limit of normal."""

    test: EntryText
    value: float | None = Field(None, ge=0, le=100_000)
    unit: Text | None = Field(None, max_length=30)
    upper_limit_normal: float | None = Field(None, gt=0, le=100_000)
    taken_on: date


class RiskFactor(Coded):
    """A cardiovascular risk factor the clinic recorded (smoking, diabetes, family history)."""

    text: EntryText


class ClinicalRecord(Part):
    """Everything the clinic records that the protocol's rules may read."""

    problems: list[Problem] = Field(default_factory=list, max_length=200)
    allergies: list[Allergy] = Field(default_factory=list, max_length=100)
    medications: list[Medication] = Field(default_factory=list, max_length=200)
    labs: list[LabResult] = Field(default_factory=list, max_length=500)
    ecg_on: date | None = None
    cv_risk_factors: list[RiskFactor] = Field(default_factory=list, max_length=50)
