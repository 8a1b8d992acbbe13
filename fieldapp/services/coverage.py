"""`fieldapp protocol coverage`: for every rule, the app inputs that feed it and the visit
cases that make it fire through the app.

The app inputs come from what the app really asks: the checklist templates (each item's
`maps_to`), the checklist's own extra questions, the vocabulary's concepts (what a record
entry sets), and the forms of the dose, infusion, recovery and ledger screens. A rule
passes when every input it reads has an app input and a visit case fired it (or, for a
rule the app refuses to produce, the named test exists).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldapp.clinical.cases import CaseResult
from fieldapp.clinical.catalogue import GUARDED, TIMER_SETTINGS, every_rule
from fieldapp.clinical.protocol import Protocol
from fieldapp.clinical.vocabulary import Vocabulary
from fieldapp.services.checklist import EXTRA_ITEMS, items

RECORD = "clinical record"
# Inputs the services fill from the record, the visit, the clock or a form other than the
# checklist (screen: field).
DERIVED: dict[str, tuple[str, ...]] = {
    "age_years": (f"{RECORD}: date of birth", "clock"),
    "sex": (f"{RECORD}: sex",),
    "indication": (f"{RECORD}: diagnoses",),
    "personnel.visit_state": ("visit: address",),
    "course.previous_infusions": (f"{RECORD}: past sessions", "this laptop: doses given"),
    "course.nrs_baseline": (f"{RECORD}: baseline pain NRS",),
    "course.nrs_after": (f"{RECORD}: past sessions' pain NRS",),
    "course.visits_at_address": (f"{RECORD}: past sessions", "this laptop: doses given"),
    "course.last_lft_date": (f"{RECORD}: labs (LFTs)",),
    "history.lft_date": (f"{RECORD}: labs (LFTs)",),
    "history.alt_x_uln": (f"{RECORD}: labs (ALT with its upper limit of normal)",),
    "history.ast_x_uln": (f"{RECORD}: labs (AST with its upper limit of normal)",),
    "history.ecg_date": (f"{RECORD}: ECG date",),
    "history.cardiovascular_risk": (f"{RECORD}: cardiovascular risk factors",),
    "today.medications": (f"{RECORD}: medications",),
    "record_review": (f"{RECORD}: any entry the vocabulary does not know",),
    "approvals": (
        "checklist: Ask prescriber (ctrl+a), a signed remote answer",
        "checklist: Phone order (ctrl+t), read back",
    ),
    "checklists": ("checklist: every required question",),
    "dose.weight_kg": ("dose: Weight (kg)",),
    "dose.height_cm": ("dose: Height (cm)",),
    "dose.sex": ("dose: Sex for dosing",),
    "dose.order": ("dose: Order kind, Template, Dose, Rate, Duration",),
    "dose.previous_weight_kg": (f"{RECORD}: past sessions' weight", "this laptop: last dose"),
    "dose.checklist_weight_kg": ("checklist: Weight today (kg)",),
    "dose.weight_confirmed": ("dose: I re-weighed the patient (tick)",),
    "dose.given_this_session_mg": ("this laptop: doses given in the visit",),
    "dose.session_override_by": ("dose: the prescriber's signed override (ctrl+o)",),
    "dose.bag_drug_mg": ("dose: Drug into bag (mg)",),
    "dose.vial_ml": ("dose: Vial volume (mL)",),
    "dose.vial_mg_per_ml": ("dose: Vial strength (mg/mL)",),
    "dose.diluted_to_mg_per_ml": ("dose: Diluted to (mg/mL)",),
    "reading.systolic": ("infusion: Systolic",),
    "reading.diastolic": ("infusion: Diastolic",),
    "reading.heart_rate": ("infusion: Heart rate",),
    "reading.spo2": ("infusion: SpO₂",),
    "reading.spo2_below_seconds": ("infusion: SpO₂ low for (s)", "infusion: consecutive readings"),
    "reading.rr": ("infusion: Resp. rate",),
    "reading.apnoea": ("infusion: Side effects (apnoea)", "infusion: Resp. rate 0"),
    "reading.rass": ("infusion: RASS",),
    "reading.symptoms": ("infusion: Side effects",),
    "reading.minute": ("clock: time since the start",),
    "recovery.aldrete": ("recovery: Aldrete total",),
    "recovery.padss": ("recovery: PADSS total",),
    "recovery.minutes_since_end": ("clock: time since the end",),
    "recovery.current": ("recovery: Systolic, Diastolic, Heart rate, SpO₂, RASS now",),
    "recovery.baseline": ("checklist: BP and heart rate",),
    "recovery.nausea": ("recovery: Nausea",),
    **{
        f"recovery.{item}": (f"recovery: {item.replace('_', ' ')} (tick)",)
        for item in (
            "oriented_x3",
            "gait_steady",
            "responsible_adult",
            "written_instructions",
            "next_day_call",
            "fall_risk_handover",
        )
    },
    **{
        f"ledger.{act}": (f"ledger: {act}",)
        for act in ("carry", "waste", "breakage", "count", "overage", "return", "resolve")
    },
    "ledger.draw": ("dose: Confirm dose (the draw)",),
    "ledger.administer": ("infusion: End infusion (the dose given)",),
    "lone_worker.check_in": ("check-in: arrival",),
    "lone_worker.clock": ("clock: time past the expected check-out",),
}


def app_inputs(vocabulary: Vocabulary) -> dict[str, list[str]]:
    """Engine input -> the app inputs that fill it (screen: field)."""
    found: dict[str, list[str]] = {k: list(v) for k, v in DERIVED.items()}
    for item in [*items(), *EXTRA_ITEMS]:
        found.setdefault(item.path, []).append(f"checklist: {item.label}")
    for concept in vocabulary.concept:
        kinds = "/".join(concept.kinds)
        for values in concept.sets.values():
            for path in values:
                entry = f"{RECORD}: {kinds} ({concept.id})"
                if entry not in found.setdefault(path, []):
                    found[path].append(entry)
    return found


def _fed(path: str, inputs: dict[str, list[str]]) -> list[str]:
    """The app inputs of one engine input (a group such as `equipment` by its members)."""
    return inputs.get(path, []) + [
        x for key, xs in inputs.items() if key.startswith(f"{path}.") for x in xs
    ]


@dataclass
class RuleCoverage:
    """One row of the table."""

    rule: str
    family: str
    settings: list[str] = field(default_factory=list)
    inputs: dict[str, list[str]] = field(default_factory=dict)
    cases: list[str] = field(default_factory=list)
    guarded_by: str | None = None

    @property
    def unfed(self) -> list[str]:
        """Engine inputs no app input fills."""
        return [path for path, fed in self.inputs.items() if not fed]

    @property
    def ok(self) -> bool:
        """Fed by the app, and fired by a visit case (or refused by the app, with its test)."""
        return not self.unfed and (bool(self.cases) or self.guarded_by is not None)


def coverage(
    protocol: Protocol,
    vocabulary: Vocabulary,
    results: Iterable[CaseResult],
    root: Path,
) -> list[RuleCoverage]:
    """The coverage table from the visit cases' results (`root`: where tests/ lives)."""
    inputs = app_inputs(vocabulary)
    rows = []
    visits = [r for r in results if r.kind == "visit" and r.passed]
    for rule, (family, paths) in every_rule(protocol).items():
        row = RuleCoverage(rule, family, inputs={p: _fed(p, inputs) for p in paths})
        row.cases = [f"{r.file}: {r.name}" for r in visits if rule in r.reasons]
        settings = {s for r in visits for s in r.rule_settings.get(rule, [])}
        settings.update(TIMER_SETTINGS.get(rule, ()))
        if family == "lone worker":
            settings.add("protocol.lone_worker.steps")
        if rule in protocol.readiness.rules:
            settings.add(f"protocol.readiness.rules.{rule}")
        row.settings = sorted(settings)
        guard = GUARDED.get(rule)
        if guard is not None and _test_exists(root, guard):
            row.guarded_by = guard
        rows.append(row)
    return rows


def _test_exists(root: Path, test: str) -> bool:
    path, _, name = test.partition("::")
    file = root / path
    return file.is_file() and f"def {name}(" in file.read_text(encoding="utf-8")


def render(rows: list[RuleCoverage]) -> list[str]:
    """The table as lines: one block per rule, its verdict first."""
    lines = []
    for row in rows:
        mark = "OK  " if row.ok else "GAP "
        lines.append(f"{mark} {row.rule} [{row.family}]")
        if row.settings:
            lines.append(f"      settings: {', '.join(row.settings)}")
        for path, fed in row.inputs.items():
            shown = "; ".join(fed[:4]) + (f"; +{len(fed) - 4} more" if len(fed) > 4 else "")
            lines.append(f"      {path} <- {shown or 'NO APP INPUT'}")
        if row.guarded_by:
            lines.append(f"      the app refuses the input first: {row.guarded_by}")
        shown_cases = row.cases[:3] + (
            [f"+{len(row.cases) - 3} more"] if len(row.cases) > 3 else []
        )
        lines.append(f"      fired by: {' | '.join(shown_cases) or 'NO VISIT CASE'}")
    return lines


def summary(rows: list[RuleCoverage]) -> dict[str, Any]:
    """Counts for the last line."""
    gaps = [row.rule for row in rows if not row.ok]
    return {"rules": len(rows), "covered": len(rows) - len(gaps), "gaps": gaps}
