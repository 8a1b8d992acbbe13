"""Checklist templates (`config/checklists/*.toml`) and how their answers feed readiness.

A template is versioned `id@version`; each item names the readiness input it fills
(`maps_to`, a dotted path into `ReadinessInput`, e.g. `today.responsible_adult` or
`equipment.aed`). A response always records the template version it answered, and
required items left blank are reported so the readiness decision holds the visit.
"""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from fieldapp.clinical.protocol import Protocol
from fieldapp.clinical.readiness_input import ReadinessInput
from fieldapp.clinical.reasons import Model
from fieldapp.config import load_toml, validate
from fieldapp.errors import ConfigError

Answer = bool | int | float | str | date | None
Scope = Literal["visit", "shift", "profile"]
PROFILE_ANSWERS: dict[str, str] = {
    "personnel.acls_expires": "acls_expires",
    "personnel.licence_active": "licence_active",
    "personnel.licence_expires": "licence_expires",
    "personnel.prescriber_dea_states": "prescriber_dea_states",
}
"""The readiness inputs the clinician's profile answers (`ClinicianProfile` field names):
an item of scope "profile" must fill one of these."""


class ChecklistItem(Model):
    """One question of a checklist."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    text: str = Field(min_length=1)
    type: Literal["bool", "int", "number", "text", "date", "bp", "choice"]
    maps_to: str
    required: bool = True
    options: list[str] = Field(default_factory=list)
    # For bool items feeding a list input (symptoms, medications): the value added when yes.
    adds: str | None = None
    # The answer is appended to a list input (e.g. each BP reading to vitals.bp_readings).
    append: bool = False
    # Who answers it, and how often: "visit" (each visit's checklist), "shift" (once, at
    # the start-of-shift check: the kit, the vehicle, the stock) or "profile" (the
    # clinic's clinician profile: credentials). Shift and profile items are shown as
    # answered on each visit's checklist, by whom and when; asked there only when not yet.
    scope: Scope = "visit"

    @model_validator(mode="after")
    def _choice_has_options(self) -> ChecklistItem:
        if self.type == "choice" and not self.options:
            raise ValueError(f"item {self.id}: a choice item needs options")
        if self.scope == "profile" and self.maps_to not in PROFILE_ANSWERS:
            raise ValueError(
                f'item {self.id}: scope "profile" but the clinician\'s profile holds no '
                f"answer for {self.maps_to!r} (it answers {', '.join(sorted(PROFILE_ANSWERS))})"
            )
        return self


class ChecklistTemplate(Model):
    """A versioned checklist."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    version: int = Field(ge=1)
    title: str
    items: list[ChecklistItem] = Field(min_length=1)

    @property
    def ref(self) -> str:
        """`id@version`, as recorded with every response."""
        return f"{self.id}@{self.version}"

    @model_validator(mode="after")
    def _unique_and_mapped(self) -> ChecklistTemplate:
        ids = [item.id for item in self.items]
        if len(ids) != len(set(ids)):
            raise ValueError("items: an item id is used twice")
        for item in self.items:
            problem = mapping_problem(item.maps_to)
            if problem:
                raise ValueError(f"item {item.id}: maps_to {item.maps_to!r} {problem}")
        return self


class ChecklistResponse(Model):
    """Answers to one template version."""

    template: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*@[0-9]+$")
    answers: dict[str, Answer] = Field(default_factory=dict)


def mapping_problem(path: str) -> str | None:
    """Why `path` is not a readiness input, or None when it is."""
    model: type[BaseModel] | None = ReadinessInput
    parts = path.split(".")
    for index, part in enumerate(parts):
        if model is None:
            return "goes deeper than the input allows"
        field = model.model_fields.get(part)
        if field is None:
            return f"names no readiness input ({part!r})"
        annotation = field.annotation
        nested = _model_of(annotation)
        if nested is None:
            is_dict = "dict[" in str(annotation)
            rest = len(parts) - index - 1
            if is_dict and rest == 1:
                return None
            return None if rest == 0 else "goes deeper than the input allows"
        model = nested
    return "names a group, not a single input"


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def load_templates(folder: Path) -> dict[str, ChecklistTemplate]:
    """Every template in `folder`, keyed by `id@version`."""
    templates: dict[str, ChecklistTemplate] = {}
    for path in sorted(folder.glob("*.toml")):
        template = validate(ChecklistTemplate, load_toml(path), path)
        if template.ref in templates:
            raise ConfigError(f"{path}: template {template.ref} is defined twice")
        templates[template.ref] = template
    return templates


def _set(data: dict[str, Any], path: str, value: Any, adds: str | None, append: bool) -> None:
    parts = path.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    if append:
        node.setdefault(parts[-1], []).append(value)
    elif adds is not None:
        if value:
            node.setdefault(parts[-1], []).append(adds)
    else:
        node[parts[-1]] = value


def apply_responses(
    base: dict[str, Any],
    responses: list[ChecklistResponse],
    templates: dict[str, ChecklistTemplate],
) -> dict[str, Any]:
    """Readiness input data: `base` with every answer laid over it at its `maps_to` path."""
    data = copy.deepcopy(base)  # answers are written in place: never into the caller's dict
    answered = list(data.get("checklists", []))
    for response in responses:
        template = templates.get(response.template)
        if template is None:
            raise ConfigError(f"no checklist template {response.template}")
        known = {item.id for item in template.items}
        unknown = sorted(set(response.answers) - known)
        if unknown:
            raise ConfigError(f"{response.template}: unknown item(s) {', '.join(unknown)}")
        missing = []
        for item in template.items:
            value = response.answers.get(item.id)
            if value is None:
                if item.required:
                    missing.append(item.id)
                continue
            if item.type == "choice" and value not in item.options:
                raise ConfigError(f"{response.template}: {item.id} must be one of {item.options}")
            _set(data, item.maps_to, value, item.adds, item.append)
        answered.append({"template": template.ref, "missing": missing})
    data["checklists"] = answered
    return data


def check_templates(
    templates: dict[str, ChecklistTemplate], protocol: Protocol, folder: Path
) -> None:
    """Refuse templates that leave a protocol-required equipment item unasked."""
    asked = {
        item.maps_to.split(".", 1)[1]
        for template in templates.values()
        for item in template.items
        if item.maps_to.startswith("equipment.")
    }
    missing = [item for item in protocol.equipment.required if item not in asked]
    if missing:
        raise ConfigError(
            f"{folder}: no checklist item asks for required equipment {', '.join(missing)} "
            "(protocol.equipment.required)"
        )
