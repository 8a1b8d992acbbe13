"""The clinic's settings for records that leave it: DEA (`config/dea.toml`), FHIR codes
(`config/fhir.toml`) and retention (`config/retention.toml`).

Each file is read on its own, beside `server.toml` unless a path is given, and a bad one
raises `ServerConfigError` naming the file, the key and the problem, like every other
setting of the server.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from sync.records import DEVICE_KINDS, SERVER_KINDS
from sync.server.config import ServerConfigError, default_config_file
from sync.tomlfile import describe_validation_error, read_toml

# 21 U.S.C. 827(b): DEA records at least two years. A legal floor, not a clinic setting.
DEA_MINIMUM_YEARS = 2
DEA_KINDS = frozenset({"substance", "day_close"})

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _dea_check_digit(number: str) -> str:
    """A DEA number's check: its last digit is that of (d1+d3+d5) + 2*(d2+d4+d6)."""
    if not re.fullmatch(r"[A-Z]{2}[0-9]{7}", number):
        raise ValueError("a DEA number is two letters and seven digits")
    d = [int(c) for c in number[2:]]
    if (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 != d[6]:
        raise ValueError("the check digit does not match: a typo in the DEA number?")
    return number


DeaNumber = Annotated[str, AfterValidator(_dea_check_digit)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- DEA -----------------------------------------------------------------------------------


class Registration(_Section):
    """A DEA registration: the registered location and who administers from its stock."""

    number: DeaNumber
    name: Text
    address: Text
    clinicians: list[Text] = Field(default_factory=list)


class Supplier(_Section):
    """Who the clinic's ketamine comes from (named on each receipt)."""

    name: Text
    address: Text
    dea_number: DeaNumber


class Inventory(_Section):
    """When the biennial inventory falls due, and the reminders before it."""

    initial_on: date
    biennial_years: int = Field(ge=1, le=2)
    remind_days_before: list[int] = Field(default_factory=list, max_length=10)


class LossReporting(_Section):
    """Deadlines after a theft or significant loss is discovered (1301.76(b), Form 106)."""

    notice_business_days: int = Field(ge=1, le=10)
    form106_days: int = Field(ge=1, le=90)


class DeaSettings(_Section):
    """The registrant, the substance and the inventory calendar."""

    substance: Text
    schedule: Literal["II", "IIN", "III", "IIIN", "IV", "V"]
    dosage_form: Text
    registrations: list[Registration] = Field(min_length=1)
    supplier: Supplier
    inventory: Inventory
    loss_reporting: LossReporting

    def registration(self, number: str | None) -> Registration:
        """The registration with this number (the first when None), or `ServerConfigError`."""
        if number is None:
            return self.registrations[0]
        for registration in self.registrations:
            if registration.number == number:
                return registration
        raise ServerConfigError(f"no DEA registration {number!r} in dea.toml")


# -- FHIR ------------------------------------------------------------------------------------


class Coding(_Section):
    """A code in a code system."""

    system: Text
    code: Text
    display: Text


class ObservationCode(_Section):
    """An observation's code, its UCUM unit and its category."""

    system: Text  # "loinc", "local" or a URL
    code: Text
    display: Text
    unit: str | None = None
    category: Literal["vital-signs", "survey", "exam"]


OBSERVATIONS = (
    "blood_pressure",
    "systolic",
    "diastolic",
    "heart_rate",
    "spo2",
    "resp_rate",
    "temperature",
    "weight",
    "pain_nrs",
    "phq9",
    "cssrs",
    "cadss",
    "rass",
    "aldrete",
    "padss",
)


class FhirSettings(_Section):
    """Codes and identifier systems of the FHIR export."""

    base_url: Text
    identifier_system: Text
    local_code_system: Text
    questionnaire_base: Text
    settle_s: float = Field(ge=0, le=3600)
    medication: Coding
    route: Coding
    encounter_class: Coding
    note_type: Coding
    observations: dict[str, ObservationCode]

    @model_validator(mode="after")
    def _every_observation(self) -> FhirSettings:
        missing = [name for name in OBSERVATIONS if name not in self.observations]
        unknown = [name for name in self.observations if name not in OBSERVATIONS]
        if missing or unknown:
            raise ValueError(f"observations: missing {missing}, unknown {unknown}")
        return self

    def system_url(self, system: str) -> str:
        """The URL of an observation's code system."""
        return {"loinc": "http://loinc.org", "local": self.local_code_system}.get(system, system)


# -- retention -------------------------------------------------------------------------------


class RetentionSettings(_Section):
    """Years to keep each record kind, and from when clinical records count."""

    state: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    clinical_from: Literal["last_service", "record"]
    years: dict[str, int]

    @model_validator(mode="after")
    def _every_kind_and_the_floor(self) -> RetentionSettings:
        # Documents the clinic keeps current in place (one each), never purged by age.
        kinds = (DEVICE_KINDS | SERVER_KINDS) - {"protocol_doc", "clinician_profile"}
        missing = sorted(kinds - set(self.years))
        unknown = sorted(set(self.years) - kinds)
        if missing or unknown:
            raise ValueError(f"years: missing {missing}, unknown {unknown}")
        for kind, years in self.years.items():
            if years < 1 or years > 100:
                raise ValueError(f"years.{kind}: must be between 1 and 100")
            if kind in DEA_KINDS and years < DEA_MINIMUM_YEARS:
                raise ValueError(
                    f"years.{kind}: DEA records are kept at least {DEA_MINIMUM_YEARS} years "
                    "(21 U.S.C. 827(b))"
                )
        return self


Settings = TypeVar("Settings", bound=BaseModel)


def _load(model: type[Settings], name: str, path: Path | None) -> Settings:
    path = path or default_config_file().parent / name
    data = read_toml(path, ServerConfigError)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ServerConfigError(f"{path}: {describe_validation_error(exc)}") from None


def load_dea(path: Path | None = None) -> DeaSettings:
    """`config/dea.toml`, validated."""
    return _load(DeaSettings, "dea.toml", path)


def load_fhir(path: Path | None = None) -> FhirSettings:
    """`config/fhir.toml`, validated."""
    return _load(FhirSettings, "fhir.toml", path)


def load_retention(path: Path | None = None) -> RetentionSettings:
    """`config/retention.toml`, validated."""
    return _load(RetentionSettings, "retention.toml", path)
