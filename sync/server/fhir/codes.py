"""The FHIR export's fixed parts, built once from `config/fhir.toml`: codings, categories,
identifier systems and references, so that mapping a record is a few dict literals.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sync.server.records_config import FhirSettings

UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
DERIVED = uuid.UUID("b7e0c2a4-7f1d-4d0e-9c3b-5a6f8e2d1c90")


def derived_id(record_id: str, part: str) -> str:
    """A stable id (a UUID) for a resource made from free text of a record, such as a flag
    (re-exports upsert, not add). Parts with an id-safe name just append it."""
    return str(uuid.uuid5(DERIVED, f"{record_id}/{part}"))


def ref(kind: str, rid: str) -> dict[str, str]:
    """A relative reference."""
    return {"reference": f"{kind}/{rid}"}


@dataclass(frozen=True)
class Observed:
    """One observation's fixed parts: its code, category and unit."""

    code: dict[str, Any]
    category: list[dict[str, Any]]
    unit: str | None
    suffix: str  # of the id: the record's id and this, stable across re-exports

    def quantity(self, value: float | int) -> dict[str, Any]:
        """A UCUM quantity of this observation's unit."""
        return {"value": value, "unit": self.unit, "system": UCUM, "code": self.unit}


class Codes:
    """Everything constant in the exported resources, prepared from the settings."""

    def __init__(self, settings: FhirSettings, names: dict[str, str | None] | None = None) -> None:
        self.settings = settings
        self.names = names or {}
        self._people: dict[str, dict[str, Any]] = {}
        self.base_url = settings.base_url.rstrip("/")
        ids = settings.identifier_system.rstrip("/")
        self.patient_system = f"{ids}/patient"
        self.record_system = f"{ids}/record"
        self.user_system = f"{ids}/user"
        self.device_system = f"{ids}/device"
        self.local = settings.local_code_system
        self.questionnaire_base = settings.questionnaire_base.rstrip("/")
        self.medication = {
            "coding": [settings.medication.model_dump()],
            "text": settings.medication.display,
        }
        self.route = {"coding": [settings.route.model_dump()], "text": settings.route.display}
        self.encounter_class = settings.encounter_class.model_dump()
        self.note_type = {"coding": [settings.note_type.model_dump()]}
        self.observed = {
            name: Observed(
                code={
                    "coding": [
                        {
                            "system": settings.system_url(code.system),
                            "code": code.code,
                            "display": code.display,
                        }
                    ],
                    "text": code.display,
                },
                category=[
                    {
                        "coding": [
                            {
                                "system": OBSERVATION_CATEGORY,
                                "code": code.category,
                            }
                        ]
                    }
                ],
                unit=code.unit,
                suffix="." + name.replace("_", "-"),
            )
            for name, code in settings.observations.items()
        }

    def named(self, names: dict[str, str | None]) -> Codes:
        """These codes, naming clinicians by their enrolled display names."""
        return Codes(self.settings, names)

    def person(self, user: str) -> dict[str, Any]:
        """A reference to a clinician by their enrolled user id, with their name if known
        (one shared dict per clinician: resources are written, never changed)."""
        found = self._people.get(user)
        if found is None:
            found = self._people[user] = {
                "identifier": {"system": self.user_system, "value": user},
                "display": self.names.get(user) or user,
            }
        return found

    def record_identifier(self, record_id: str) -> list[dict[str, str]]:
        """The identifier naming the clinic record a resource was made from."""
        return [{"system": self.record_system, "value": record_id}]
