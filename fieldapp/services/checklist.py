"""The pre-visit safety checklist: form items in, the engine's readiness decision out.

The form's items say where each answer goes in the engine's `ReadinessInput`; the rules
and their limits are all the engine's and the protocol file's. The patient's standing
history comes from the clinic's summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from fieldapp.clinical.course import CourseInput
from fieldapp.clinical.readiness import ReadinessDecision, evaluate_readiness
from fieldapp.clinical.readiness_input import Approval, ChecklistAnswered, ReadinessInput
from fieldapp.services import engine
from fieldapp.services.visit import StepRefused, VisitSession
from sync.records import Approval as RecordApproval
from sync.records import ChecklistSubmission, PatientSummary
from sync.records import Reason as RecordReason

TEMPLATE = "previsit@1"
ItemKind = Literal["bp", "int", "decimal", "yesno", "date", "text", "list", "digits", "cssrs"]


@dataclass(frozen=True)
class Item:
    """One checklist question: its id, label, answer type and where it goes."""

    id: str
    label: str
    kind: ItemKind
    path: str
    required: bool = True
    hint: str = ""


ITEMS: tuple[Item, ...] = (
    Item("bp_first", "BP, first reading", "bp", "vitals.bp_first", hint="128/82"),
    Item("bp_second", "BP, second reading", "bp", "vitals.bp_second", hint="126/80"),
    Item("bp_minutes_apart", "Minutes between BP readings", "decimal", "vitals.bp_minutes_apart"),
    Item("heart_rate", "Heart rate (bpm)", "int", "vitals.heart_rate"),
    Item("spo2", "SpO₂ (%)", "int", "vitals.spo2"),
    Item("rr", "Respiratory rate (/min)", "int", "vitals.rr"),
    Item("temperature_c", "Temperature (°C)", "decimal", "vitals.temperature_c"),
    Item("weight_kg", "Weight measured today (kg)", "decimal", "weight"),
    Item(
        "responsible_adult", "Responsible adult present (y/n)", "yesno", "today.responsible_adult"
    ),
    Item("hours_since_solids", "Hours since solids", "decimal", "today.hours_since_solids"),
    Item(
        "hours_since_clear_fluids",
        "Hours since clear fluids",
        "decimal",
        "today.hours_since_clear_fluids",
    ),
    Item("pdmp_checked", "PDMP checked (y/n)", "yesno", "today.pdmp_checked"),
    Item("consent_on_file", "Informed consent on file (y/n)", "yesno", "today.consent_on_file"),
    Item(
        "childbearing_potential",
        "Child-bearing potential (y/n)",
        "yesno",
        "today.childbearing_potential",
    ),
    Item("hcg", "Urine hCG (negative/positive)", "text", "today.hcg", required=False),
    Item("intoxicated", "Intoxicated now (y/n)", "yesno", "today.intoxicated"),
    Item("substance_use_24h", "Alcohol/drugs in 24 h (y/n)", "yesno", "today.substance_use_24h"),
    Item("urinary_symptoms", "Urinary symptoms (y/n)", "yesno", "today.urinary_symptoms"),
    Item(
        "respiratory_infection",
        "Respiratory infection (y/n)",
        "yesno",
        "today.respiratory_infection",
    ),
    Item("mania", "Mania or hypomania now (y/n)", "yesno", "today.mania_or_hypomania"),
    Item("symptoms", "Symptoms now (comma list)", "list", "today.symptoms", required=False),
    Item("phq9", "PHQ-9 items (9 digits 0–3)", "digits", "today.phq9_items", hint="101000000"),
    Item("cssrs", "C-SSRS Q1–Q6 (y/n/-)", "cssrs", "today.cssrs", required=False, hint="nn---n"),
    Item("pain_nrs", "Pain NRS now (0–10)", "int", "pain_nrs"),
    Item("acls_expires", "Your ACLS expires (YYYY-MM-DD)", "date", "personnel.acls_expires"),
    Item("licence_active", "Your licence active (y/n)", "yesno", "personnel.licence_active"),
    Item(
        "prescriber_dea_states",
        "Prescriber DEA states (comma list)",
        "list",
        "personnel.prescriber_dea_states",
    ),
    Item("equipment_all", "All equipment checked (y/n)", "yesno", "equipment"),
)
ITEM_BY_ID = {item.id: item for item in ITEMS}
CSSRS_KEYS = ("q1", "q2", "q3", "q4", "q5", "q6")
# The clinic summary's condition phrases, as the engine's history fields.
CONDITION_FIELDS: dict[str, tuple[str, Any]] = {
    "hypertension": ("hypertension", True),
    "hypothyroidism": ("thyroid", True),
    "controlled glaucoma": ("raised_icp_iop", "controlled"),
    "history of psychosis": ("psychosis", "history"),
    "moderate hepatic disease": ("hepatic", "moderate"),
}


def parse_answer(item: Item, text: str) -> tuple[Any, str | None]:
    """Parse one answer as typed: (value, None) or (None, a message naming the problem)."""
    raw = text.strip()
    if not raw:
        return None, (f"{item.label} is required" if item.required else None)
    try:
        return _parse(item, raw), None
    except ValueError as exc:
        return None, f"{item.label}: {exc}"


def _parse(item: Item, raw: str) -> Any:
    if item.kind == "bp":
        parts = raw.replace(" ", "").split("/")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise ValueError("write it as systolic/diastolic, e.g. 128/82")
        return {"systolic": int(parts[0]), "diastolic": int(parts[1])}
    if item.kind == "int":
        if not raw.lstrip("-").isdigit():
            raise ValueError("must be a whole number")
        return int(raw)
    if item.kind == "decimal":
        try:
            return Decimal(raw)
        except ArithmeticError:
            raise ValueError("must be a number") from None
    if item.kind == "yesno":
        if raw.lower() in ("y", "yes"):
            return True
        if raw.lower() in ("n", "no"):
            return False
        raise ValueError("answer y or n")
    if item.kind == "date":
        return date.fromisoformat(raw)
    if item.kind == "list":
        return [part.strip() for part in raw.split(",") if part.strip()]
    if item.kind == "digits":
        if len(raw) != 9 or any(c not in "0123" for c in raw):
            raise ValueError("type nine digits, each 0 to 3")
        return [int(c) for c in raw]
    if item.kind == "cssrs":
        if len(raw) != 6 or any(c not in "yn-" for c in raw.lower()):
            raise ValueError("type six of y, n or - (not asked), for Q1 to Q6")
        return {k: c == "y" for k, c in zip(CSSRS_KEYS, raw.lower(), strict=True) if c != "-"}
    if item.kind == "text" and item.id == "hcg" and raw.lower() not in ("negative", "positive"):
        raise ValueError("answer negative or positive")
    return raw.lower()


def _history(patient: PatientSummary) -> dict[str, Any]:
    history: dict[str, Any] = {"ecg_date": patient.last_ecg_on, "lft_date": patient.last_lft_on}
    for condition in patient.conditions:
        field = CONDITION_FIELDS.get(condition.lower())
        if field is not None:
            history[field[0]] = field[1]
    return history


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class ChecklistRun:
    """The checklist of one visit: answers as typed, the live decision, the submission."""

    def __init__(self, session: VisitSession) -> None:
        self.session = session
        self.texts: dict[str, str] = {}
        self.approval: Approval | None = None

    def problems(self) -> dict[str, str]:
        """Every answer that does not parse, by item id."""
        found = {}
        for item in ITEMS:
            _, problem = parse_answer(item, self.texts.get(item.id, ""))
            if problem and self.texts.get(item.id, "").strip():
                found[item.id] = problem
        return found

    def readiness_input(self) -> ReadinessInput:
        """The engine's input from the answers given so far (unanswered stays missing)."""
        s, patient = self.session, self.session.patient
        now = s.services.clock.now()
        data: dict[str, Any] = {
            "visit_at": now,
            "age_years": _age(patient.date_of_birth, now.date()),
            "sex": patient.sex if patient.sex in ("female", "male") else "female",
            "indication": _indication(patient),
            "history": _history(patient),
            "vitals": {},
            "today": {"medications": [m.split()[0].lower() for m in patient.medications]},
            "personnel": {"visit_state": s.visit.address.state},
            "course": _course(s),
        }
        missing = []
        for item in ITEMS:
            value, problem = parse_answer(item, self.texts.get(item.id, ""))
            if value is None:
                if problem and item.required:
                    missing.append(item.id)
                continue
            if item.path == "equipment":
                data["equipment"] = dict.fromkeys(engine.protocol().equipment.required, value)
            elif item.path == "weight":
                data["today"]["weight_measured_on"] = now.date()
            elif "." in item.path:
                section, key = item.path.split(".", 1)
                data[section][key] = value
        data["checklists"] = [ChecklistAnswered(template=TEMPLATE, missing=missing)]
        if self.approval is not None:
            data["approvals"] = [self.approval]
        return ReadinessInput.model_validate(data)

    def decide(self) -> ReadinessDecision:
        """The engine's decision on the answers so far."""
        return evaluate_readiness(self.readiness_input(), engine.protocol())

    def approve(self, prescriber: str, note: str) -> ReadinessDecision:
        """A named prescriber releases the approvable holds; the decision is re-run."""
        if not prescriber.strip() or not note.strip():
            raise StepRefused("An approval needs the prescriber's name and a note.")
        self.approval = Approval(
            prescriber=prescriber.strip(),
            note=note.strip(),
            approved_at=self.session.services.clock.now(),
        )
        return self.decide()

    def submit(self) -> tuple[ChecklistSubmission, ReadinessDecision]:
        """Save the answers and the decision as a checklist submission."""
        decision = self.decide()
        answers: dict[str, Any] = {k: v for k, v in self.texts.items() if v.strip()}
        approval = None
        if self.approval is not None and decision.outcome in ("proceed", "proceed_with_flags"):
            approval = RecordApproval(
                prescriber=self.approval.prescriber,
                note=self.approval.note or "approved",
                approved_at=self.approval.approved_at or self.session.services.clock.now(),
            )
        record = self.session.new(
            ChecklistSubmission,
            template=TEMPLATE,
            answers=answers,
            decision=decision.outcome,
            reasons=[to_record_reason(r) for r in decision.reasons],
            approval=approval,
        )
        self.session.save(record)
        return record, decision

    def weight_kg(self) -> Decimal | None:
        """The weight measured today, for the dose step."""
        value, _ = parse_answer(ITEM_BY_ID["weight_kg"], self.texts.get("weight_kg", ""))
        return value


def to_record_reason(reason: Any) -> RecordReason:
    """The engine's reason as the record schema keeps it."""
    return RecordReason(
        rule_id=reason.rule_id,
        outcome=reason.outcome,
        message=reason.message[:1000],
        measured=reason.measured,
        threshold=reason.threshold,
        setting=reason.setting,
    )


def _indication(patient: PatientSummary) -> str:
    supported = engine.protocol().readiness.evidence_supported_indications
    for diagnosis in patient.diagnoses:
        if "crps" in supported and diagnosis.name.lower().startswith("crps"):
            return "crps"
    return patient.diagnoses[0].name.lower() if patient.diagnoses else "unknown"


def _course(session: VisitSession) -> CourseInput:
    patient = session.patient
    tz = session.services.clock.now().tzinfo
    from datetime import datetime, time

    return CourseInput(
        previous_infusions=[datetime.combine(p.on, time(12), tz) for p in patient.past_sessions],
        nrs_baseline=patient.baseline_pain_nrs,
        nrs_after=[p.pain_nrs_after for p in patient.past_sessions if p.pain_nrs_after is not None],
        last_lft_date=patient.last_lft_on,
    )
