"""Visit cases and `fieldapp protocol coverage`: the shipped cases cover every rule through
the app; a missing case, a wrong expectation or a bad case is reported, never passed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from fieldapp.cli import main
from fieldapp.clinical.protocol import protocol_data
from fieldapp.config import config_dir
from fieldapp.services.visit_cases import VisitCaseRunner

CASES = config_dir() / "protocol-cases"


def run(capsys: Any, *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    status = main(list(argv))
    return status, capsys.readouterr().out


def test_the_shipped_cases_cover_every_rule_through_the_app(capsys: Any) -> None:
    status, out = run(capsys, "protocol", "coverage")
    assert status == 0, out[-2000:]
    last = out.strip().splitlines()[-1]
    rules, visits = int(last.split()[2]), int(last.split()[-3])
    assert last.startswith(f"{rules} of {rules} rules") and visits >= 60
    assert "GAP" not in out and "NO APP INPUT" not in out
    assert "OK   psychosis_active [readiness]" in out
    assert "history.psychosis <- " in out and "checklist:" in out and "clinical record:" in out


def test_the_shipped_visit_cases_reach_every_contraindication_row_through_the_record() -> None:
    text = (CASES / "90-visit-record.toml").read_text()
    for rule in (
        "cardiac_poorly_controlled",
        "cardiac_recent_mi",
        "cardiac_ecg_missing",
        "pregnancy_positive",
        "psychosis_active",
        "psychosis_history",
        "hepatic_severe",
        "hepatic_moderate",
        "pressure_uncontrolled",
        "pressure_controlled",
        "sud_active",
        "vascular_aneurysm_avm_ich",
        "ketamine_hypersensitivity",
        "porphyria",
        "thyroid",
        "respiratory_infection",
        "airway_instability",
        "age_minor",
        "age_older",
        "hypertension_known",
        "mania",
        "record_unrecognised",
    ):
        assert f'"{rule}"' in text, rule
    assert 'code_system = "icd10cm"' in text and 'code_system = "snomed"' in text


def test_a_rule_no_visit_case_fires_is_a_gap(tmp_path: Path, capsys: Any) -> None:
    shutil.copy(CASES / "90-visit-record.toml", tmp_path)
    status, out = run(capsys, "protocol", "coverage", "--cases", str(tmp_path))
    assert status == 1
    assert "GAP  bp_pause [monitoring]" in out and "fired by: NO VISIT CASE" in out
    assert out.strip().splitlines()[-1].startswith("not covered:")


def _run(case: dict[str, Any]) -> Any:
    runner = VisitCaseRunner(protocol_data())
    try:
        return runner.run({"name": "t", "kind": "visit", **case}, {}, "t.toml")
    finally:
        runner.close()


def test_a_visit_that_does_not_decide_as_expected_fails_saying_how() -> None:
    result = _run({"patient": {"conditions": ["Cirrhosis"]}, "expect": {"checklist": "proceed"}})
    assert not result.passed
    assert result.problems == ["checklist: expected proceed, got hard_stop"]


def test_a_bad_case_fails_with_its_problem() -> None:
    assert _run({"expect": {"checklst": "proceed"}}).problems == ["expect: unknown ['checklst']"]
    result = _run({"dose": {}, "ledger": [{"do": "juggle"}], "expect": {"vial": "balanced"}})
    assert not result.passed and "unknown step 'juggle'" in result.problems[0]
    bad_settings = {"settings": {"dosing": {"bolus_cap_mg_per_kg": -1}}, "expect": {"step": "x"}}
    result = _run(bad_settings)
    assert not result.passed and "bolus_cap_mg_per_kg" in result.problems[0]


def test_a_case_expecting_an_error_passes_only_on_that_error() -> None:
    case = {"dose": {}, "ledger": [{"do": "overage", "ml": 0.5, "reason": ""}]}
    assert _run({**case, "expect": {"error": "needs its reason"}}).passed
    assert not _run({**case, "expect": {"error": "something else"}}).passed
    assert not _run({"expect": {"error": "needs its reason"}}).passed
