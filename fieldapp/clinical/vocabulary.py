"""The vocabulary (`config/vocabulary.toml`): codes and names in the clinic's record mapped
to the inputs the readiness rules read.

A concept lists its codes (SNOMED CT, ICD-10-CM, RxNorm, LOINC), its synonyms, and what
it sets in `ReadinessInput` for each status of a problem ("history.psychosis" = "history"
when the psychosis is historical, "active" when it is active). Names are matched without
regard to case, spacing or punctuation; an ICD-10-CM code matches its whole category
("icd10cm:I21" matches I21.4). Loading refuses a path that names no readiness input, a
value that input cannot take, and a code or synonym that two concepts both claim.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_origin

from pydantic import (
    BaseModel,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from fieldapp.clinical.checklists import mapping_problem
from fieldapp.clinical.readiness_input import ReadinessInput
from fieldapp.clinical.reasons import Model
from fieldapp.config import config_dir, load_toml, validate

EntryKind = Literal["problem", "allergy", "medication", "lab", "symptom"]
DEFAULT_KINDS: tuple[EntryKind, ...] = ("problem",)
STATUSES = ("active", "history", "controlled", "resolved", "inactive", "stopped")
ONSET = "onset"
"""A value that means "the entry's onset date" (an MI's date feeds the look-back)."""
_SEPARATORS = re.compile(r"[\s,;:()\[\]/_]+")


def normalise(text: str) -> str:
    """A name as the vocabulary compares it: lower case, punctuation as single spaces."""
    text = text.lower().replace("h/o", "history of").replace("'", "").replace("\u2019", "")
    return _SEPARATORS.sub(" ", text).strip(" .-")


def code_key(coded: str) -> tuple[str, str]:
    """("icd10cm", "I214") from "icd10cm:I21.4": ICD codes compare without their dot."""
    system, _, code = coded.partition(":")
    code = code.strip().upper()
    return system.strip().lower(), code.replace(".", "") if system == "icd10cm" else code


class Concept(Model):
    """One thing the clinic's record may say, and what it means for the rules."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str = Field(min_length=1)
    kinds: list[EntryKind] = Field(default_factory=lambda: list(DEFAULT_KINDS), min_length=1)
    codes: list[str] = Field(default_factory=list)
    synonyms: list[str] = Field(default_factory=list)
    # status (or "any") -> {readiness input path: value}; "any" applies to every status, a
    # status's own table adds to it and wins where both set one input.
    sets: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # A medication: the generic name the interaction lists in protocol.toml match.
    drug: str | None = Field(None, pattern=r"^[a-z0-9 -]+$")
    # A lab test that counts as a liver function test, and which enzyme it measures.
    lab: Literal["alt", "ast", "lft"] | None = None
    # A symptom typed at the bedside: the id the protocol's symptom lists use.
    symptom: str | None = Field(None, pattern=r"^[a-z0-9_]+$")

    @field_validator("synonyms")
    @classmethod
    def _normalised(cls, names: list[str]) -> list[str]:
        return [normalise(name) for name in names]

    @field_validator("codes")
    @classmethod
    def _codes(cls, codes: list[str]) -> list[str]:
        for coded in codes:
            system, code = code_key(coded)
            if system not in ("snomed", "icd10cm", "rxnorm", "loinc") or not code:
                raise ValueError(f"code {coded!r}: write system:code, e.g. icd10cm:I21")
        return codes

    @model_validator(mode="after")
    def _sets_make_sense(self) -> Concept:
        for status, values in self.sets.items():
            if status not in (*STATUSES, "any"):
                raise ValueError(f"{self.id}: sets.{status}: not a status ({', '.join(STATUSES)})")
            for path, value in values.items():
                problem = mapping_problem(path)
                if problem:
                    raise ValueError(f"{self.id}: sets.{status}: {path!r} {problem}")
                _check_value(self.id, path, value)
        return self

    def sets_for(self, status: str) -> dict[str, Any]:
        """What this concept sets for an entry of `status` ("any", then the status's own)."""
        return {**self.sets.get("any", {}), **self.sets.get(status, {})}


def _check_value(concept: str, path: str, value: Any) -> None:
    """Refuse a value the readiness input cannot hold (a typo such as "activ")."""
    if value == ONSET:
        return
    model: type[BaseModel] = ReadinessInput
    parts = path.split(".")
    for part in parts[:-1]:
        nested = model.model_fields[part].annotation
        if not (isinstance(nested, type) and issubclass(nested, BaseModel)):
            # a dict input such as equipment or cssrs: check the value as its items
            _adapt(concept, path, nested, {parts[-1]: value})
            return
        model = nested
    field = model.model_fields[parts[-1]]
    annotation = (
        Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
    )
    is_list = get_origin(field.annotation) is list
    _adapt(concept, path, annotation, [value] if is_list else value)


def _adapt(concept: str, path: str, annotation: Any, value: Any) -> None:
    try:
        TypeAdapter(annotation).validate_python(value)
    except ValidationError as exc:
        first = exc.errors()[0]["msg"]
        raise ValueError(f"{concept}: {path} = {value!r}: {first}") from None


class Vocabulary(Model):
    """Every concept, with indexes by code and by name for each kind of entry."""

    version: str = Field(min_length=1)
    # Words that may follow a name without changing what it is (dose, route, frequency).
    detail_words: frozenset[str] = frozenset()
    concept: list[Concept] = Field(min_length=1)

    @model_validator(mode="after")
    def _each_code_and_name_once(self) -> Vocabulary:
        ids = [c.id for c in self.concept]
        if len(ids) != len(set(ids)):
            raise ValueError("concept: an id is used twice")
        seen: dict[tuple[str, str], str] = {}
        for c in self.concept:
            keys = [("code", ":".join(code_key(x))) for x in c.codes]
            keys += [("name", s) for s in c.synonyms]
            for kind in c.kinds:
                for what, key in keys:
                    other = seen.setdefault((kind, f"{what}:{key}"), c.id)
                    if other != c.id:
                        raise ValueError(f"{key!r} ({kind}) belongs to both {other} and {c.id}")
        return self

    def by_code(self, kind: str, coded: str) -> Concept | None:
        """The concept a code names for this kind of entry (ICD-10-CM by category)."""
        system, code = code_key(coded)
        best: tuple[int, Concept] | None = None
        for c in self.concept:
            if kind not in c.kinds:
                continue
            for known in c.codes:
                k_system, k_code = code_key(known)
                hit = k_system == system and (
                    code == k_code or (system == "icd10cm" and code.startswith(k_code))
                )
                if hit and (best is None or len(k_code) > best[0]):
                    best = (len(k_code), c)
        return best[1] if best else None

    def by_name(self, kind: str, name: str) -> tuple[Concept, list[str]] | None:
        """The concept a normalised name (or its longest leading words) names, and the
        words left after the match ("gabapentin 300 mg" leaves ["300", "mg"])."""
        words = name.split()
        for size in range(len(words), 0, -1):
            wanted = " ".join(words[:size])
            for c in self.concept:
                if kind in c.kinds and wanted in c.synonyms:
                    return c, words[size:]
        return None


def symptom_id(vocabulary: Vocabulary, typed: str) -> str:
    """A symptom as typed ("Chest pain", "short of breath") as the protocol's id for it;
    one the vocabulary does not know is kept, in the same form ("hiccups")."""
    name = normalise(typed)
    found = vocabulary.by_name("symptom", name)
    if found is not None and not found[1] and found[0].symptom:
        return found[0].symptom
    return name.replace(" ", "_").replace("-", "_")


def default_vocabulary_path() -> Path:
    """The shipped vocabulary file."""
    return config_dir() / "vocabulary.toml"


def load_vocabulary(path: Path | None = None) -> Vocabulary:
    """Read and validate `vocabulary.toml` (the shipped one unless `path` is given)."""
    path = path or default_vocabulary_path()
    return validate(Vocabulary, load_toml(path), path)
