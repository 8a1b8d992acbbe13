"""Case files: a medical director's worked examples, run against the protocol.

A case file is TOML with `[[case]]` tables (name, kind, inputs, expect) and optional
`[defaults.<kind>]` tables laid under every case of that kind. `[case.settings]` lays
protocol overrides over protocol.toml for that case alone. See README-clinical.md.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from fieldapp.clinical import cssrs, scales
from fieldapp.clinical.checklists import ChecklistResponse, ChecklistTemplate, apply_responses
from fieldapp.clinical.course import CourseInput, evaluate_course
from fieldapp.clinical.dosing import DoseInput, compute_dose
from fieldapp.clinical.ledger import LedgerEvent, evaluate_day, inventory_due
from fieldapp.clinical.lone_worker import LoneWorkerInput, evaluate_ladder
from fieldapp.clinical.monitoring import Reading, evaluate_series
from fieldapp.clinical.protocol import Protocol, protocol_from_data
from fieldapp.clinical.readiness import evaluate_readiness
from fieldapp.clinical.readiness_input import ReadinessInput
from fieldapp.clinical.reasons import Model
from fieldapp.clinical.recovery import RecoveryInput, evaluate_recovery
from fieldapp.config import deep_merge, describe_validation_error, load_toml
from fieldapp.errors import ConfigError

KINDS = (
    "readiness",
    "dose",
    "monitoring",
    "recovery",
    "lone_worker",
    "ledger",
    "scale",
    "course",
    "visit",
)
SPECIAL = {"outcome", "reasons", "absent", "tolerance", "actions", "sequence", "error"}


class Outcome(Model):
    """What an engine said about a case, flattened for comparison."""

    outcome: str
    numbers: dict[str, Any] = Field(default_factory=dict)
    reasons: list[str] = Field(default_factory=list)
    actions: list[str] = Field(default_factory=list)
    sequence: list[str] = Field(default_factory=list)
    settings: list[str] = Field(default_factory=list)


class CaseResult(Model):
    """One case's verdict."""

    file: str
    name: str
    kind: str
    passed: bool
    problems: list[str]
    reasons: list[str] = Field(default_factory=list)
    settings_used: list[str] = Field(default_factory=list)
    # rule id -> the settings its reasons named (visit cases fill it for the coverage table)
    rule_settings: dict[str, list[str]] = Field(default_factory=dict)


Runner = Callable[[dict[str, Any], Protocol, dict[str, ChecklistTemplate]], Outcome]
# Runs a `visit` case through the app's services (they live outside the pure engine).
VisitRunner = Callable[[dict[str, Any], dict[str, Any], str], CaseResult]


def _readiness(inputs: dict[str, Any], p: Protocol, t: dict[str, ChecklistTemplate]) -> Outcome:
    data = dict(inputs)
    responses = [ChecklistResponse.model_validate(r) for r in data.pop("checklist_responses", [])]
    data = apply_responses(data, responses, t)
    decision = evaluate_readiness(ReadinessInput.model_validate(data), p)
    return _out(decision.outcome, decision.numbers, decision.reasons)


def _course(inputs: dict[str, Any], p: Protocol, t: dict[str, ChecklistTemplate]) -> Outcome:
    data = dict(inputs)
    visit_at = datetime.fromisoformat(str(data.pop("visit_at")))
    decision = evaluate_course(CourseInput.model_validate(data), visit_at, p)
    return _out(decision.outcome, decision.numbers, decision.reasons)


def _dose(inputs: dict[str, Any], p: Protocol, t: dict[str, ChecklistTemplate]) -> Outcome:
    result = compute_dose(DoseInput.model_validate(inputs), p)
    return _out(result.outcome, result.numbers, result.reasons)


def _monitoring(inputs: dict[str, Any], p: Protocol, t: dict[str, ChecklistTemplate]) -> Outcome:
    readings = [Reading.model_validate(r) for r in inputs.get("readings", [])]
    if not readings:
        raise ValueError("inputs.readings: at least one reading is needed")
    decisions = evaluate_series(readings, p)
    last = decisions[-1]
    numbers = {"recheck_minutes": last.recheck_minutes, "recheck_at_minute": last.recheck_at_minute}
    out = _out(last.action, numbers, last.reasons)
    return out.model_copy(
        update={"actions": last.actions, "sequence": [d.action for d in decisions]}
    )


def _recovery(inputs: dict[str, Any], p: Protocol, t: dict[str, ChecklistTemplate]) -> Outcome:
    decision = evaluate_recovery(RecoveryInput.model_validate(inputs), p)
    return _out(decision.outcome, decision.numbers, decision.reasons)


def _lone_worker(inputs: dict[str, Any], p: Protocol, t: dict[str, ChecklistTemplate]) -> Outcome:
    decision = evaluate_ladder(LoneWorkerInput.model_validate(inputs), p)
    numbers = {"minutes_overdue": decision.minutes_overdue, "due_steps": decision.due_steps}
    return _out(decision.step, numbers, decision.reasons).model_copy(
        update={"actions": decision.actions}
    )


def _ledger(inputs: dict[str, Any], p: Protocol, t: dict[str, ChecklistTemplate]) -> Outcome:
    day = date.fromisoformat(str(inputs["day"]))
    events = [LedgerEvent.model_validate(e) for e in inputs.get("events", [])]
    result = evaluate_day(day, events, p)
    numbers: dict[str, Any] = {"may_close": result.may_close, "purge_after": result.purge_after}
    for name, vial in result.vials.items():
        numbers[f"{name}.status"] = vial.status
        numbers[f"{name}.locked"] = vial.locked
        numbers[f"{name}.incident_open"] = vial.incident_open
        for key, value in vial.numbers.items():
            numbers[f"{name}.{key}"] = value
    for obligation in result.obligations:
        numbers[obligation.kind] = obligation.due
    if "last_inventory" in inputs:
        due, earliest = inventory_due(date.fromisoformat(str(inputs["last_inventory"])), p)
        numbers["inventory_due"], numbers["inventory_earliest"] = due, earliest
    return _out(result.status, numbers, result.reasons)


def _scale(inputs: dict[str, Any], p: Protocol, t: dict[str, ChecklistTemplate]) -> Outcome:
    name, s = inputs.get("scale"), p.scales
    if name == "nrs":
        return Outcome(outcome=scales.nrs_band(inputs["score"], s.nrs))
    if name == "nrs_change":
        change = scales.nrs_change(inputs["baseline"], inputs["current"], s.nrs)
        return Outcome(outcome=str(change.responder), numbers={"pct_change": change.pct_change})
    if name == "phq9":
        result = scales.phq9(
            inputs["items"], s.phq9, p.cssrs.phq9_item9_trigger, inputs.get("item10")
        )
        numbers = {"total": result.total, "item9_positive": result.item9_positive}
        return Outcome(outcome=result.band, numbers=numbers)
    if name == "phq9_response":
        r = scales.phq9_response(inputs["baseline"], inputs["current"], s.phq9)
        outcome = "remission" if r.remission else "response" if r.response else "no_response"
        return Outcome(outcome=outcome, numbers={"pct_drop": r.pct_drop})
    if name == "cssrs":
        answers = inputs.get("answers", {})
        if inputs.get("partial"):
            return Outcome(outcome=str(cssrs.next_question(answers)))
        return Outcome(outcome=cssrs.risk(answers))
    if name == "cadss":
        c = scales.cadss(inputs["items"], s.cadss, inputs.get("observer"))
        return Outcome(outcome="scored", numbers={"total": c.total, "cadss6": c.cadss6})
    if name == "rass":
        return Outcome(outcome=scales.rass(inputs["score"]))
    if name == "aldrete":
        total, circulation = scales.aldrete(
            scales.AldreteItems.model_validate(inputs["items"]), s.aldrete
        )
        return Outcome(outcome="scored", numbers={"total": total, "circulation": circulation})
    if name == "padss":
        total = scales.padss(scales.PadssItems.model_validate(inputs["items"]), s.padss)
        return Outcome(outcome="scored", numbers={"total": total})
    raise ValueError(f"inputs.scale: unknown scale {name!r}")


RUNNERS: dict[str, Runner] = {
    "readiness": _readiness,
    "dose": _dose,
    "monitoring": _monitoring,
    "recovery": _recovery,
    "lone_worker": _lone_worker,
    "ledger": _ledger,
    "scale": _scale,
    "course": _course,
}


def _out(outcome: str, numbers: dict[str, Any], reasons: list[Any]) -> Outcome:
    return Outcome(
        outcome=outcome,
        numbers=dict(numbers),
        reasons=[r.rule_id for r in reasons],
        actions=[a for r in reasons for a in r.actions],
        settings=[r.setting for r in reasons if r.setting],
    )


def compare(expect: dict[str, Any], got: Outcome) -> list[str]:
    """Every way `got` differs from `expect` (empty when the case passes)."""
    problems = []
    tolerance = Decimal(str(expect.get("tolerance", "0.000001")))
    if "outcome" in expect and str(expect["outcome"]) != got.outcome:
        problems.append(f"outcome: expected {expect['outcome']}, got {got.outcome}")
    for rule in expect.get("reasons", []):
        if rule not in got.reasons:
            problems.append(f"reasons: expected {rule} among {got.reasons or 'none'}")
    for rule in expect.get("absent", []):
        if rule in got.reasons:
            problems.append(f"reasons: {rule} should not fire")
    if "sequence" in expect and list(expect["sequence"]) != got.sequence:
        problems.append(f"sequence: expected {expect['sequence']}, got {got.sequence}")
    for text in expect.get("actions", []):
        if not any(text.lower() in action.lower() for action in got.actions):
            problems.append(f"actions: none mentions {text!r}")
    for key, wanted in expect.items():
        if key in SPECIAL:
            continue
        if key not in got.numbers:
            problems.append(f"{key}: not computed (have {', '.join(sorted(got.numbers))})")
            continue
        problems += _compare_value(key, wanted, got.numbers[key], tolerance)
    return problems


def _compare_value(key: str, wanted: Any, actual: Any, tolerance: Decimal) -> list[str]:
    if isinstance(wanted, bool) or isinstance(actual, bool) or actual is None:
        if wanted != actual:
            return [f"{key}: expected {wanted}, got {actual}"]
        return []
    if isinstance(wanted, int | float) and isinstance(actual, int | float | Decimal):
        if abs(Decimal(str(wanted)) - Decimal(str(actual))) > tolerance:
            return [f"{key}: expected {wanted} ±{tolerance}, got {actual}"]
        return []
    if isinstance(actual, date | datetime):
        actual = actual.isoformat()
    if isinstance(wanted, date | datetime):
        wanted = wanted.isoformat()
    if isinstance(actual, list) or isinstance(wanted, list):
        return [] if list(wanted) == list(actual) else [f"{key}: expected {wanted}, got {actual}"]
    return [] if str(wanted) == str(actual) else [f"{key}: expected {wanted}, got {actual}"]


class CaseFile:
    """The cases of one file, with the protocol each needs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        data = load_toml(path)
        self.defaults: dict[str, Any] = data.get("defaults", {})
        self.cases: list[dict[str, Any]] = data.get("case", [])
        unknown = set(data) - {"defaults", "case"}
        if unknown:
            raise ConfigError(f"{path}: unknown table(s) {', '.join(sorted(unknown))}")


def run_case(
    case: dict[str, Any],
    defaults: dict[str, Any],
    base: dict[str, Any],
    source: str,
    templates: dict[str, ChecklistTemplate],
) -> CaseResult:
    """Run one case table and compare it with its expectation."""
    name = str(case.get("name", "(unnamed)"))
    kind = str(case.get("kind", ""))
    result = {"file": source, "name": name, "kind": kind}
    if kind not in RUNNERS:
        return CaseResult(**result, passed=False, problems=[f"kind must be one of {KINDS}"])
    expect = case.get("expect")
    if not isinstance(expect, dict) or not expect:
        return CaseResult(**result, passed=False, problems=["[case.expect] is missing"])
    inputs = copy.deepcopy(deep_merge(defaults.get(kind, {}), case.get("inputs", {})))
    try:
        settings = case.get("settings")
        protocol = protocol_from_data(deep_merge(base, settings) if settings else base, source)
        got = RUNNERS[kind](inputs, protocol, templates)
    except ValidationError as exc:
        problem = f"inputs: {describe_validation_error(exc)}"
        return _expected_error(result, expect, problem)
    except (ValueError, KeyError, ConfigError, TypeError) as exc:
        return _expected_error(result, expect, f"inputs: {exc}")
    if "error" in expect:
        return CaseResult(**result, passed=False, problems=["expected an error, got none"])
    problems = compare(expect, got)
    return CaseResult(
        **result,
        passed=not problems,
        problems=problems,
        reasons=got.reasons,
        settings_used=got.settings,
    )


def _expected_error(result: dict[str, str], expect: dict[str, Any], problem: str) -> CaseResult:
    wanted = expect.get("error")
    if wanted is not None and str(wanted).lower() in problem.lower():
        return CaseResult(**result, passed=True, problems=[])
    return CaseResult(**result, passed=False, problems=[problem])


def run_folder(
    folder: Path,
    base: dict[str, Any],
    templates: dict[str, ChecklistTemplate],
    visit: VisitRunner | None = None,
) -> list[CaseResult]:
    """Run every case of every `*.toml` file in `folder`, file by file; `visit` cases go to
    `visit` (without it they fail, saying they need the app)."""
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise ConfigError(f"{folder}: no case files (*.toml)")
    results = []
    for path in files:
        case_file = CaseFile(path)
        for case in case_file.cases:
            if case.get("kind") == "visit":
                results.append(_visit(case, case_file.defaults, path.name, visit))
            else:
                results.append(run_case(case, case_file.defaults, base, path.name, templates))
    return results


def _visit(
    case: dict[str, Any], defaults: dict[str, Any], source: str, visit: VisitRunner | None
) -> CaseResult:
    if visit is None:
        name = str(case.get("name", "(unnamed)"))
        problem = "a visit case runs through the app: use `fieldapp protocol check`"
        return CaseResult(file=source, name=name, kind="visit", passed=False, problems=[problem])
    return visit(case, defaults, source)
