"""The clinic's record read through the vocabulary: names in any case or spelling, codes by
category, statuses and dates in free text, unknown entries kept, bad vocabularies refused."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldapp.clinical.record import lay_over, read_record
from fieldapp.clinical.vocabulary import Vocabulary, load_vocabulary, normalise
from fieldapp.config import config_dir
from fieldapp.errors import ConfigError
from sync.clinical_record import ClinicalRecord, LabResult, Problem, latest_day
from sync.records import PatientSummary

VOCABULARY = load_vocabulary()


def patient(**fields: Any) -> PatientSummary:
    """A synthetic patient with only what a test gives."""
    return PatientSummary.model_validate(
        {
            "id": "00000000-0000-4000-8000-000000000001",
            "display_name": "Record Test",
            "date_of_birth": "1980-01-01",
            "sex": "female",
            "phone": "(206) 555-0199",
            "address": {
                "street": "1 Synthetic Way",
                "city": "Seattle",
                "state": "WA",
                "postal_code": "98103",
            },
            **fields,
        }
    )


def history(*conditions: str) -> dict[str, Any]:
    return read_record(patient(conditions=list(conditions)), VOCABULARY).inputs.get("history", {})


# Problem synonyms and what one of them must set, across the §1.2 rows.
SYNONYMS = [
    ("cirrhosis", "history.hepatic", "severe"),
    ("schizophrenia", "history.psychosis", "active"),
    ("unstable angina", "history.unstable_angina", True),
    ("abdominal aortic aneurysm", "history.aneurysm_avm_ich", True),
    ("acute intermittent porphyria", "history.porphyria", True),
    ("opioid use disorder", "history.substance_use_disorder", True),
    ("tracheomalacia", "history.airway_instability", True),
]


def _respell(draw: Any, name: str) -> str:
    """The same name as a person might type it: any case, extra spaces, trailing marks."""
    cased = "".join(c.upper() if draw(st.booleans()) else c.lower() for c in name)
    spaced = re.sub(" ", lambda _: " " * draw(st.integers(1, 3)), cased)
    return draw(st.sampled_from(["", " ", "  "])) + spaced + draw(st.sampled_from(["", ".", " ;"]))


@settings(max_examples=150, deadline=None)
@given(data=st.data(), row=st.sampled_from(SYNONYMS))
def test_a_name_in_any_case_or_spacing_is_recognised(data: Any, row: tuple[str, str, Any]) -> None:
    name, path, value = row
    typed = _respell(data.draw, name)
    reading = read_record(patient(conditions=[typed]), VOCABULARY)
    section, key = path.split(".")
    assert reading.inputs[section][key] == value, typed
    assert reading.review() == []


@pytest.mark.parametrize(
    ("typed", "key", "value"),
    [
        ("history of psychosis", "psychosis", "history"),
        ("H/O psychosis", "psychosis", "history"),
        ("Psychosis (history)", "psychosis", "history"),
        ("controlled glaucoma", "raised_icp_iop", "controlled"),
        ("Glaucoma, controlled", "raised_icp_iop", "controlled"),
        ("glaucoma", "raised_icp_iop", "uncontrolled"),
        ("MI 2026-10", "mi_date", date(2026, 10, 31)),
        ("heart attack 2025", "mi_date", date(2025, 12, 31)),
        ("old MI 2024-02-03", "mi_date", date(2024, 2, 3)),
    ],
)
def test_status_and_date_written_in_the_text(typed: str, key: str, value: Any) -> None:
    assert history(typed)[key] == value


@pytest.mark.parametrize(
    "typed", ["no history of MI", "suspected psychosis", "penicillin and ketamine", "Zebra"]
)
def test_what_is_not_plainly_a_known_entry_is_held_for_review(typed: str) -> None:
    reading = read_record(patient(conditions=[typed], allergies=[typed]), VOCABULARY)
    assert len(reading.review()) == 2 and all(typed in line for line in reading.review())
    assert "history" not in reading.inputs or not reading.inputs["history"]


def test_an_icd_code_matches_its_category_and_the_most_specific_concept_wins() -> None:
    def coded(code: str, status: str = "active") -> dict[str, Any]:
        problem = Problem(text="as coded", code_system="icd10cm", code=code, status=status)  # type: ignore[arg-type]
        reading = read_record(patient(record=ClinicalRecord(problems=[problem])), VOCABULARY)
        return reading.inputs.get("history", {})

    assert coded("K74.60") == {"hepatic": "severe"}
    assert coded("k7469") == {"hepatic": "severe"}  # case and dot do not matter
    assert coded("F10.20")["substance_use_disorder"] is True
    assert "substance_use_disorder" not in coded("F10.21")  # in remission
    assert coded("I50.23")["decompensated_heart_failure"] is True
    assert "decompensated_heart_failure" not in coded("I50.9")


def test_an_mi_without_a_date_is_reviewed_not_guessed() -> None:
    problem = Problem(text="STEMI", code_system="icd10cm", code="I21.4")
    reading = read_record(patient(record=ClinicalRecord(problems=[problem])), VOCABULARY)
    assert "mi_date" not in reading.inputs.get("history", {})
    assert reading.review() == [
        "problem 'STEMI [icd10cm:I21.4]': Myocardial infarction without its date: "
        "the look-back cannot be applied"
    ]


def test_the_newest_liver_enzyme_sets_its_multiple_of_the_upper_limit() -> None:
    labs = [
        LabResult(test="ALT", value=200, upper_limit_normal=40, taken_on=date(2026, 1, 1)),
        LabResult(
            test="alanine aminotransferase",
            value=60,
            upper_limit_normal=40,
            taken_on=date(2026, 3, 1),
        ),
        LabResult(
            test="AST",
            code_system="loinc",
            code="1920-8",
            value=30,
            upper_limit_normal=40,
            taken_on=date(2026, 2, 1),
        ),
    ]
    reading = read_record(patient(record=ClinicalRecord(labs=labs)), VOCABULARY)
    h = reading.inputs["history"]
    assert (h["alt_x_uln"], h["ast_x_uln"], h["lft_date"]) == (1.5, 0.75, date(2026, 3, 1))


ENTRIES = st.lists(
    st.sampled_from(["Cirrhosis", "HTN", "Zebra", "asthma", "MI", "Glaucoma, controlled", "x"]),
    max_size=8,
)


@settings(max_examples=100, deadline=None)
@given(conditions=ENTRIES, allergies=ENTRIES, medications=ENTRIES)
def test_every_entry_gives_exactly_one_finding(
    conditions: list[str], allergies: list[str], medications: list[str]
) -> None:
    p = patient(conditions=conditions, allergies=allergies, medications=medications)
    reading = read_record(p, VOCABULARY)
    assert len(reading.findings) == len(conditions) + len(allergies) + len(medications)


def test_the_worse_value_wins_where_the_record_and_today_meet() -> None:
    data = {"history": {"psychosis": "active"}, "today": {"respiratory_infection": False}}
    merged = lay_over(
        data,
        {"history": {"psychosis": "history"}, "today": {"respiratory_infection": True}},
    )
    assert merged["history"]["psychosis"] == "active"
    assert merged["today"]["respiratory_infection"] is True
    assert data["today"]["respiratory_infection"] is False  # the caller's data is not changed


@pytest.mark.parametrize(
    ("partial", "day"),
    [("2026-10", date(2026, 10, 31)), ("2024-02", date(2024, 2, 29)), ("2026", date(2026, 12, 31))],
)
def test_a_partial_date_means_its_last_day(partial: str, day: date) -> None:
    assert latest_day(partial) == day


@pytest.mark.parametrize("bad", ["2026-13", "2026-02-30", "26-10"])
def test_an_impossible_partial_date_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        Problem(text="x", onset=bad)


def _copy_with(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "vocabulary.toml"
    text = (config_dir() / "vocabulary.toml").read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"history.psychosis" = "active"', '"history.psychotic" = "active"', "names no readiness"),
        ('"history.psychosis" = "active"', '"history.psychosis" = "activ"', "history.psychosis"),
        (
            'synonyms = ["hypertension",',
            'synonyms = ["cirrhosis", "hypertension",',
            "belongs to both",
        ),
        ('codes = ["icd10cm:I10"', 'codes = ["icd:I10"', "write system:code"),
        (
            'sets.any = { "history.hypertension" = true }\n\n[[concept]]\nid = "coronary',
            'sets.sometimes = { "history.hypertension" = true }\n\n[[concept]]\nid = "coronary',
            "not a status",
        ),
    ],
)
def test_a_bad_vocabulary_is_refused_naming_the_file_and_the_problem(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_vocabulary(_copy_with(tmp_path, old, new))
    assert "vocabulary.toml" in str(raised.value) and message in str(raised.value)


def test_the_shipped_vocabulary_copied_elsewhere_still_loads(tmp_path: Path) -> None:
    shutil.copy(config_dir() / "vocabulary.toml", tmp_path / "vocabulary.toml")
    assert isinstance(load_vocabulary(tmp_path / "vocabulary.toml"), Vocabulary)


def test_every_medication_the_interactions_name_is_in_the_vocabulary(protocol: Any) -> None:
    drugs = {c.drug for c in VOCABULARY.concept if c.drug}
    named = {d for i in protocol.interactions for d in i.drugs} - {"alcohol"}
    assert named <= drugs, named - drugs
    assert normalise("  Hashimoto's  Thyroiditis ") == "hashimotos thyroiditis"
