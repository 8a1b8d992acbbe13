"""Reading the patient's clinical record into the readiness rules' inputs.

Every entry (problem, allergy, medication, lab, ECG, risk factor, and the summary's older
free-text conditions, allergies and medications) is looked up in the vocabulary. A known
entry sets the inputs its concept names for its status; one the vocabulary cannot read is
kept as a finding for review, and the readiness rule `record_unrecognised` holds the visit
on it. Nothing in the record is dropped: each entry gives exactly one `Finding`.

Where entries meet on one input the worse wins: any true flag stays true, the most severe
level of a condition stands ("active" psychosis over "history"), and the newest date.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any, get_args

from pydantic import BaseModel, Field

from fieldapp.clinical.readiness_input import ReadinessInput
from fieldapp.clinical.reasons import Model, fmt
from fieldapp.clinical.vocabulary import ONSET, Concept, Vocabulary, normalise
from sync.clinical_record import ClinicalRecord, Coded, latest_day
from sync.records import PatientSummary

_DATE = re.compile(r"\b([0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?)\b")
_QUALIFIERS: tuple[tuple[str, str], ...] = (
    ("history of ", "history"),
    ("hx of ", "history"),
    ("past ", "history"),
    ("previous ", "history"),
    ("prior ", "history"),
    ("remote ", "history"),
    ("well controlled ", "controlled"),
    ("controlled ", "controlled"),
    ("stable ", "controlled"),
    ("resolved ", "resolved"),
    ("active ", "active"),
    ("current ", "active"),
)


class Finding(Model):
    """One entry of the record and what the app made of it."""

    kind: str
    entry: str
    status: str | None = None
    concept: str | None = None
    label: str | None = None
    sets: dict[str, str] = Field(default_factory=dict)
    review: str | None = None

    def shown(self) -> str:
        """The entry as a line of the checklist's record panel."""
        what = f"{self.kind} {self.entry!r}" + (f" ({self.status})" if self.status else "")
        if self.review:
            return f"{what}: {self.review}"
        sets = "; ".join(f"{k} = {v}" for k, v in self.sets.items())
        return f"{what}: {self.label}" + (f"; {sets}" if sets else "")


class RecordReading(Model):
    """The inputs the record sets, the generic names of current medications, and why."""

    inputs: dict[str, Any] = Field(default_factory=dict)
    medications: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)

    def review(self) -> list[str]:
        """The findings a prescriber must review, as the readiness input lists them."""
        return [f"{f.kind} {f.entry!r}: {f.review}" for f in self.findings if f.review]


def _field(path: str) -> Any:
    """The annotation of a readiness input, by its dotted path."""
    model: type[BaseModel] = ReadinessInput
    parts = path.split(".")
    for part in parts[:-1]:
        model = model.model_fields[part].annotation  # type: ignore[assignment]
    return model.model_fields[parts[-1]].annotation


def _worse(path: str, old: Any, new: Any) -> Any:
    """The worse of two values for one input: true, the later level, the newest date."""
    if old is None:
        return new
    if isinstance(new, bool):
        return bool(old) or new
    if isinstance(new, date):
        return max(old, new)
    levels = [a for a in get_args(_field(path)) if isinstance(a, str)] or [
        a for arg in get_args(_field(path)) for a in get_args(arg) if isinstance(a, str)
    ]
    if new in levels and old in levels:
        return new if levels.index(new) > levels.index(old) else old
    return new


def lay_over(data: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    """`data` (readiness input in the making) with the record's inputs, the worse winning."""
    merged = {key: dict(value) if isinstance(value, dict) else value for key, value in data.items()}
    for section, values in inputs.items():
        node = merged.setdefault(section, {})
        for key, value in values.items():
            node[key] = _worse(f"{section}.{key}", node.get(key), value)
    return merged


def _split(text: str) -> tuple[str, str | None, str | None]:
    """(name, status word, date) from free text such as "history of MI 2026-10"."""
    found = _DATE.search(text)
    on = found.group(1) if found else None
    name = normalise(_DATE.sub(" ", text))
    status = None
    for prefix, meaning in _QUALIFIERS:
        if name.startswith(prefix):
            name, status = name[len(prefix) :], meaning
            break
    for suffix in ("controlled", "resolved", "history"):
        if name.endswith(f" {suffix}"):
            name, status = name[: -len(suffix) - 1], status or suffix
    return name.strip(), status, on


def _lookup(vocabulary: Vocabulary, kind: str, name: str, coded: str | None) -> Concept | None:
    """The concept of an entry: by its code, else by its name followed only by detail."""
    concept = vocabulary.by_code(kind, coded) if coded else None
    if concept is not None:
        return concept
    found = vocabulary.by_name(kind, name)
    if found is None:
        return None
    concept, rest = found
    detail = vocabulary.detail_words
    if any(word not in detail and not re.search(r"[0-9]", word) for word in rest):
        return None  # "penicillin and ketamine" is not penicillin
    return concept


class _Reader:
    """Accumulates inputs and findings over every entry of one record."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self.inputs: dict[str, dict[str, Any]] = {}
        self.medications: list[str] = []
        self.findings: list[Finding] = []
        self.labs: dict[str, tuple[date, Decimal]] = {}

    def set(self, path: str, value: Any) -> None:
        section, key = path.split(".", 1)
        node = self.inputs.setdefault(section, {})
        node[key] = _worse(path, node.get(key), value)

    def entry(
        self, kind: str, text: str, status: str, coded: str | None, onset: str | None = None
    ) -> Concept | None:
        """Look one entry up and apply what its concept sets; None when it is unknown."""
        name, said, in_text = _split(text)
        if said is not None and status == "active":
            status = said
        onset = onset or in_text
        shown = text + (f" [{coded}]" if coded else "")
        concept = _lookup(self.vocabulary, kind, name, coded)
        if concept is None:
            self.findings.append(
                Finding(kind=kind, entry=shown, status=status, review="not in the vocabulary")
            )
            return None
        values = concept.sets_for(status)
        if any(value == ONSET for value in values.values()) and onset is None:
            self.findings.append(
                Finding(
                    kind=kind,
                    entry=shown,
                    status=status,
                    concept=concept.id,
                    label=concept.label,
                    review=f"{concept.label} without its date: the look-back cannot be applied",
                )
            )
            return concept
        shown_sets = {}
        if concept.drug and kind == "medication" and status == "active":
            shown_sets["interactions"] = concept.drug
        for path, value in values.items():
            if value == ONSET:
                assert onset is not None
                value = latest_day(onset)
            self.set(path, value)
            shown_sets[path] = str(value)
        self.findings.append(
            Finding(
                kind=kind,
                entry=shown,
                status=status,
                concept=concept.id,
                label=concept.label,
                sets=shown_sets,
            )
        )
        return concept

    def medication(self, text: str, status: str, coded: str | None) -> None:
        concept = self.entry("medication", text, status, coded)
        if concept is not None and concept.drug and status == "active":
            self.medications.append(concept.drug)

    def lab(self, entry: Any) -> None:
        coded = entry.coded_as()
        concept = _lookup(self.vocabulary, "lab", normalise(entry.test), coded)
        shown = f"{entry.test} on {entry.taken_on}" + (f" [{coded}]" if coded else "")
        if concept is None:
            self.findings.append(Finding(kind="lab", entry=shown, review="not in the vocabulary"))
            return
        sets = {}
        if concept.lab is not None:
            self.set("history.lft_date", entry.taken_on)
            self.set("course.last_lft_date", entry.taken_on)
            sets["history.lft_date"] = str(entry.taken_on)
        if concept.lab in ("alt", "ast"):
            if entry.value is None or entry.upper_limit_normal is None:
                self.findings.append(
                    Finding(
                        kind="lab",
                        entry=shown,
                        concept=concept.id,
                        label=concept.label,
                        review=f"{concept.label} without its value and upper limit of normal",
                    )
                )
                return
            times = Decimal(str(entry.value)) / Decimal(str(entry.upper_limit_normal))
            known = self.labs.get(concept.lab)
            if known is None or entry.taken_on >= known[0]:
                self.labs[concept.lab] = (entry.taken_on, times)
            sets[f"history.{concept.lab}_x_uln"] = fmt(times)
        self.findings.append(
            Finding(kind="lab", entry=shown, concept=concept.id, label=concept.label, sets=sets)
        )

    def reading(self) -> RecordReading:
        for enzyme, (_, times) in self.labs.items():
            self.inputs.setdefault("history", {})[f"{enzyme}_x_uln"] = times
        return RecordReading(
            inputs=self.inputs, medications=sorted(set(self.medications)), findings=self.findings
        )


def _coded(entry: Coded) -> str | None:
    return entry.coded_as()


def read_record(patient: PatientSummary, vocabulary: Vocabulary) -> RecordReading:
    """Every entry of the patient's record, read into readiness inputs and findings."""
    reader = _Reader(vocabulary)
    record = patient.record or ClinicalRecord()
    for problem in record.problems:
        reader.entry("problem", problem.text, problem.status, _coded(problem), problem.onset)
    for text in patient.conditions:
        reader.entry("problem", text, "active", None)
    for allergy in record.allergies:
        reader.entry("allergy", allergy.substance, allergy.status, _coded(allergy))
    for text in patient.allergies:
        reader.entry("allergy", text, "active", None)
    for medication in record.medications:
        reader.medication(medication.name, medication.status, _coded(medication))
    for text in patient.medications:
        reader.medication(text, "active", None)
    for lab in record.labs:
        reader.lab(lab)
    for factor in record.cv_risk_factors:
        reader.set("history.cardiovascular_risk", True)
        reader.findings.append(
            Finding(
                kind="risk_factor",
                entry=factor.text,
                label="Cardiovascular risk factor",
                sets={"history.cardiovascular_risk": "True"},
            )
        )
    for on in (record.ecg_on, patient.last_ecg_on):
        if on is not None:
            reader.set("history.ecg_date", on)
    if patient.last_lft_on is not None:
        reader.set("history.lft_date", patient.last_lft_on)
        reader.set("course.last_lft_date", patient.last_lft_on)
    return reader.reading()
