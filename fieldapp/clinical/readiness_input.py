"""What the pre-visit readiness rules read: the patient, today's answers, staff, equipment.

Conditions default to "absent": the pre-visit checklist is what proves each was asked
(a required checklist item left unanswered holds the visit). Answers that must be
measured today (BP, PHQ-9, fasting, responsible adult) have no default: missing means hold.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, field_validator

from fieldapp.clinical.course import CourseInput
from fieldapp.clinical.reasons import Model


class BP(Model):
    """A blood-pressure reading; also accepts the text "128/82"."""

    systolic: int = Field(gt=0, lt=400)
    diastolic: int = Field(gt=0, lt=300)

    @classmethod
    def parse(cls, value: Any) -> Any:
        """Turn "128/82" into a mapping; leave anything else for pydantic."""
        if isinstance(value, str):
            parts = value.replace(" ", "").split("/")
            if len(parts) != 2 or not all(part.isdigit() for part in parts):
                raise ValueError("write a BP as systolic/diastolic, e.g. 128/82")
            return {"systolic": int(parts[0]), "diastolic": int(parts[1])}
        return value

    def __str__(self) -> str:
        return f"{self.systolic}/{self.diastolic}"


class PreVitals(Model):
    """Vitals taken before the infusion."""

    bp_readings: list[BP] = Field(default_factory=list)
    bp_minutes_apart: Decimal | None = Field(None, ge=0)
    heart_rate: int | None = Field(None, gt=0, lt=300)
    spo2: int | None = Field(None, ge=0, le=100)
    rr: int | None = Field(None, ge=0, lt=100)
    temperature_c: Decimal | None = Field(None, gt=25, lt=45)

    @field_validator("bp_readings", mode="before")
    @classmethod
    def _bp_text(cls, value: Any) -> Any:
        return [BP.parse(item) for item in value] if isinstance(value, list) else value


class History(Model):
    """Standing conditions from the patient's record and history."""

    unstable_angina: bool = False
    decompensated_heart_failure: bool = False
    uncontrolled_arrhythmia: bool = False
    uncontrolled_hypertension: bool = False
    mi_date: date | None = None
    cardiovascular_risk: bool = False
    ecg_date: date | None = None
    hypertension: bool = False
    psychosis: Literal["none", "history", "active"] = "none"
    hepatic: Literal["none", "moderate", "severe"] = "none"
    lft_date: date | None = None
    alt_x_uln: Decimal | None = Field(None, ge=0)
    ast_x_uln: Decimal | None = Field(None, ge=0)
    raised_icp_iop: Literal["none", "controlled", "uncontrolled"] = "none"
    substance_use_disorder: bool = False
    aneurysm_avm_ich: bool = False
    ketamine_hypersensitivity: bool = False
    porphyria: bool = False
    thyroid: bool = False
    airway_instability: bool = False
    mania: bool = False


class Today(Model):
    """Answers collected at this visit."""

    childbearing_potential: bool | None = None
    pregnant: bool = False
    hcg: Literal["negative", "positive", "not_done"] | None = None
    attested_not_pregnant: bool = False
    intoxicated: bool = False
    substance_use_24h: bool = False
    respiratory_infection: bool = False
    mania_or_hypomania: bool = False
    urinary_symptoms: bool = False
    responsible_adult: bool | None = None
    hours_since_solids: Decimal | None = Field(None, ge=0)
    hours_since_clear_fluids: Decimal | None = Field(None, ge=0)
    symptoms: list[str] = Field(default_factory=list)
    medications: list[str] = Field(default_factory=list)
    medications_today: list[str] = Field(default_factory=list)
    weight_measured_on: date | None = None
    pdmp_checked: bool | None = None
    consent_on_file: bool | None = None
    phq9_items: list[int] | None = None
    cssrs: dict[str, bool] | None = None
    # A new diagnosis, hospital stay or medication since the clinic's record, as reported.
    record_changed: bool = False


class Personnel(Model):
    """The clinician and the prescriber for this visit."""

    acls_expires: date | None = None
    licence_active: bool = False
    licence_expires: date | None = None
    prescriber_dea_states: list[str] = Field(default_factory=list)
    visit_state: str | None = None


class Approval(Model):
    """A named prescriber's approval releasing holds (all approvable ones, or those named)."""

    prescriber: str = Field(min_length=1)
    note: str = ""
    approved_at: datetime | None = None
    rule_ids: list[str] | None = None


class ChecklistAnswered(Model):
    """Which checklist version was answered, and its required items left blank."""

    template: str
    missing: list[str] = Field(default_factory=list)


class ReadinessInput(Model):
    """Everything the pre-visit readiness decision reads."""

    visit_at: datetime
    age_years: int = Field(ge=0, lt=130)
    sex: Literal["female", "male"]
    indication: str = "crps"
    vitals: PreVitals = Field(default_factory=PreVitals)
    history: History = Field(default_factory=History)
    today: Today = Field(default_factory=Today)
    personnel: Personnel = Field(default_factory=Personnel)
    equipment: dict[str, bool] = Field(default_factory=dict)
    course: CourseInput = Field(default_factory=CourseInput)
    approvals: list[Approval] = Field(default_factory=list)
    checklists: list[ChecklistAnswered] = Field(default_factory=list)
    # Entries of the clinical record the vocabulary cannot read, each as shown to the
    # clinician ("problem 'Foo' (icd10cm:X99): not in the vocabulary").
    record_review: list[str] = Field(default_factory=list)
