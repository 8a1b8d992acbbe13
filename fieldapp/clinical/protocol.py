"""The clinic's protocol settings (`config/protocol.toml`) as validated, frozen models.

Every threshold the engine applies lives here, loaded from TOML; the engine modules
take a `Protocol` and hold no clinical number of their own. Loading refuses values that
make no sense together (a hold limit at or above the hard-stop limit, a home rate cap
above the hard ceiling) with the file, the key and the problem.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from fieldapp.clinical.actions import ActionSpec, setting_value, unknown_actions
from fieldapp.clinical.reasons import Model
from fieldapp.config import config_dir, load_toml, validate
from fieldapp.errors import ConfigError

ReadinessOutcome = Literal["proceed", "proceed_with_flags", "hold", "hard_stop", "emergency"]
WeightPolicy = Literal["actual", "ideal", "adjusted"]
Positive = Field(gt=0)

#: Every readiness rule the engine knows; protocol.toml must give each an outcome.
READINESS_RULES: tuple[str, ...] = (
    "age_minor",
    "age_older",
    "hypertension_known",
    "cardiac_poorly_controlled",
    "cardiac_recent_mi",
    "cardiac_ecg_missing",
    "pregnancy_positive",
    "pregnancy_not_excluded",
    "psychosis_active",
    "psychosis_history",
    "hepatic_severe",
    "hepatic_moderate",
    "hepatic_moderate_no_lft",
    "lft_raised",
    "lft_due",
    "pressure_uncontrolled",
    "pressure_controlled",
    "sud_active",
    "intoxicated",
    "substance_use_24h",
    "vascular_aneurysm_avm_ich",
    "ketamine_hypersensitivity",
    "porphyria",
    "thyroid",
    "respiratory_infection",
    "airway_instability",
    "mania",
    "urinary_symptoms",
    "responsible_adult_absent",
    "fasting_solids",
    "fasting_clear_fluids",
    "interval_too_short",
    "nonresponder",
    "home_registration",
    "personnel_acls",
    "personnel_licence",
    "personnel_prescriber_dea",
    "equipment_missing",
    "checklist_incomplete",
    "weight_stale",
    "pdmp_not_checked",
    "consent_missing",
    "low_evidence_indication",
    "bp_readings_incomplete",
    "bp_hold",
    "bp_hard_stop",
    "hr_hold",
    "spo2_hold",
    "temperature_hold",
    "emergency_symptom",
    "phq9_missing",
    "phq9_item9_positive",
    "cssrs_missing",
    "cssrs_low",
    "cssrs_moderate",
    "cssrs_high",
    "record_unrecognised",
    "record_changed",
)


class RuleOutcome(Model):
    """What one readiness rule does when it fires."""

    outcome: ReadinessOutcome
    approvable: bool = False
    # A telephone order read back and recorded may release this hold when the laptop has
    # no data to reach the prescriber (it is co-signed later); the clinic's choice per rule.
    verbal_order: bool = False
    # Follow-up actions (protocol.toml [actions]) the rule starts when it fires.
    actions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _only_holds_are_approvable(self) -> RuleOutcome:
        if self.approvable and self.outcome != "hold":
            raise ValueError("only a hold can be approvable")
        if self.verbal_order and not self.approvable:
            raise ValueError("only an approvable hold can be released by a telephone order")
        return self


class Readiness(Model):
    """Pre-visit gates (§1.2, §1.3): each rule's outcome and the visit-level settings."""

    rules: dict[str, RuleOutcome]
    evidence_supported_indications: list[str]
    emergency_symptoms: list[str]
    weight_max_age_days: int = Field(ge=0)
    pdmp_required: bool
    consent_required: bool

    @model_validator(mode="after")
    def _every_rule_exactly_once(self) -> Readiness:
        unknown = sorted(set(self.rules) - set(READINESS_RULES))
        missing = [rule for rule in READINESS_RULES if rule not in self.rules]
        if unknown:
            raise ValueError(f"rules: unknown rule(s) {', '.join(unknown)}")
        if missing:
            raise ValueError(f"rules: no outcome given for {', '.join(missing)}")
        return self


class BloodPressure(Model):
    """A BP limit: met when systolic or diastolic is at or above it."""

    systolic: int = Field(gt=0, lt=400)
    diastolic: int = Field(gt=0, lt=300)

    def met_by(self, systolic: int, diastolic: int) -> bool:
        """Whether a reading is at or above this limit."""
        return systolic >= self.systolic or diastolic >= self.diastolic

    def __str__(self) -> str:
        return f"{self.systolic}/{self.diastolic}"


class PreInfusionVitals(Model):
    """Limits checked before the infusion starts."""

    hold: BloodPressure
    hard_stop: BloodPressure
    bp_readings_required: int = Field(ge=1)
    bp_min_minutes_apart: Decimal = Field(ge=0)
    bp_reading_used: Literal["last", "mean", "highest"]
    heart_rate_hold_at_or_above: int = Field(gt=0)
    spo2_hold_below: int = Field(gt=0, le=100)
    # No source gives a fever limit before a ketamine infusion: unset unless the clinic sets one.
    temperature_hold_at_or_above_c: Decimal | None = Field(None, gt=30, lt=45)

    @model_validator(mode="after")
    def _hold_below_hard_stop(self) -> PreInfusionVitals:
        for part in ("systolic", "diastolic"):
            if getattr(self.hold, part) >= getattr(self.hard_stop, part):
                raise ValueError(
                    f"hold.{part} ({getattr(self.hold, part)}) must be below "
                    f"hard_stop.{part} ({getattr(self.hard_stop, part)})"
                )
        return self


class Vitals(Model):
    """Vital-sign settings by phase."""

    pre_infusion: PreInfusionVitals


class Cardiac(Model):
    """Cardiac look-back windows."""

    mi_lookback_months: int = Field(ge=0)
    ecg_valid_months: int = Field(ge=1)


class Hepatic(Model):
    """Liver rules: LFT currency, raised LFTs, frequent infusions."""

    lft_current_days: int = Field(ge=0)
    lft_hold_above_uln_multiple: Decimal = Positive
    frequent_infusions_above: int = Field(ge=1)
    frequent_window_days: int = Field(ge=1)
    series_interval_months: int = Field(ge=1)


class Pregnancy(Model):
    """How pregnancy is excluded."""

    accept_attestation: bool


class Age(Model):
    """Age gates."""

    minimum_years: int = Field(ge=0)
    older_from_years: int = Field(ge=0)
    bp_interval_minutes_when_flagged: int = Field(ge=1)

    @model_validator(mode="after")
    def _older_after_minimum(self) -> Age:
        if self.older_from_years <= self.minimum_years:
            raise ValueError("older_from_years must be above minimum_years")
        return self


class Fasting(Model):
    """Fasting before the infusion (ASA procedural-sedation convention)."""

    enabled: bool
    solids_hours: Decimal = Field(ge=0)
    clear_fluids_hours: Decimal = Field(ge=0)


class Course(Model):
    """Rules over the course of infusions."""

    min_interval_hours: Decimal = Field(ge=0)
    nonresponder_after_infusions: int = Field(ge=1)
    nonresponder_min_improvement_pct: Decimal = Field(gt=0, le=100)
    home_registration_visits: int = Field(ge=2)
    home_registration_window_days: int = Field(ge=1)


class Personnel(Model):
    """Who may run the infusion step."""

    require_acls: bool
    require_licence: bool
    require_prescriber_dea_in_state: bool


class Cssrs(Model):
    """When the C-SSRS is asked and what each risk level sets in motion."""

    every_visit: bool
    phq9_item9_trigger: int = Field(ge=1, le=3)
    low_actions: list[str]
    moderate_actions: list[str]
    high_actions: list[str]


class Interaction(Model):
    """One drug-interaction class (§1.9) and what it does to the decision."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    drugs: list[str] = Field(min_length=1)
    when: Literal["current", "today"]
    outcome: ReadinessOutcome
    approvable: bool = False
    message: str
    # A BP interval during the infusion shorter than the usual one (§1.9: pressors).
    bp_interval_minutes: Decimal | None = Field(None, gt=0)
    actions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _lower_case_drugs(self) -> Interaction:
        if any(drug != drug.strip().lower() for drug in self.drugs):
            raise ValueError("drugs: write names in lower case without spaces around them")
        if self.approvable and self.outcome != "hold":
            raise ValueError("only a hold can be approvable")
        return self


class Equipment(Model):
    """Equipment that must be present before the infusion."""

    required: list[str] = Field(min_length=1)


class WeightDevine(Model):
    """The Devine ideal-body-weight formula's constants."""

    male_base_kg: Decimal = Positive
    female_base_kg: Decimal = Positive
    kg_per_inch: Decimal = Positive
    cm_per_inch: Decimal = Positive
    base_inches: Decimal = Positive


class DosingWeight(Model):
    """Which weight a dose is computed on."""

    bmi_threshold: Decimal = Positive
    policy_at_or_above: WeightPolicy
    policy_below: WeightPolicy
    adjusted_factor: Decimal = Field(ge=0, le=1)
    never_above_actual: bool
    devine: WeightDevine


class DoseTemplate(Model):
    """A named dose regimen: mg/kg over minutes."""

    mg_per_kg: Decimal = Positive
    duration_min: Decimal = Positive


class Dosing(Model):
    """Dose caps, rounding and weight rules (§1.4)."""

    bolus_cap_mg_per_kg: Decimal = Positive
    home_rate_cap_mg_per_kg_per_h: Decimal = Positive
    rate_hard_ceiling_mg_per_kg_per_h: Decimal = Positive
    session_cap_mg_per_kg: Decimal = Positive
    session_cap_mg: Decimal = Positive
    session_cap_override_allowed: bool
    dose_rounding_mg: Decimal = Positive
    volume_rounding_ml: Decimal = Positive
    rate_rounding_mg_per_h: Decimal = Positive
    weight_min_kg: Decimal = Positive
    weight_max_kg: Decimal = Positive
    weight_change_warn_pct: Decimal = Positive
    iv_refuse_at_or_above_mg_per_ml: Decimal = Positive
    weight: DosingWeight
    templates: dict[str, DoseTemplate]

    @model_validator(mode="after")
    def _caps_make_sense(self) -> Dosing:
        if self.home_rate_cap_mg_per_kg_per_h > self.rate_hard_ceiling_mg_per_kg_per_h:
            raise ValueError(
                f"home_rate_cap_mg_per_kg_per_h ({self.home_rate_cap_mg_per_kg_per_h}) must not "
                f"be above rate_hard_ceiling_mg_per_kg_per_h "
                f"({self.rate_hard_ceiling_mg_per_kg_per_h})"
            )
        if self.weight_min_kg >= self.weight_max_kg:
            raise ValueError("weight_min_kg must be below weight_max_kg")
        if self.bolus_cap_mg_per_kg > self.session_cap_mg_per_kg:
            raise ValueError("bolus_cap_mg_per_kg must not be above session_cap_mg_per_kg")
        return self


class MonitoringPause(Model):
    """Limits that pause the infusion."""

    systolic: int = Field(gt=0)
    diastolic: int = Field(gt=0)
    heart_rate: int = Field(gt=0)


class StandingOrders(Model):
    """The action text shown with each monitoring decision."""

    pause_haemodynamic: str
    stop_haemodynamic: str
    emergency: str
    spo2_stop: str
    sedation_pause: str
    sedation_stop: str
    agitation_pause: str
    agitation_stop: str
    no_restart: str


class VitalsInterval(Model):
    """How often each vital sign is taken (§1.5), in minutes."""

    nibp_during: Decimal = Positive
    nibp_after: Decimal = Positive
    rr_rass: Decimal = Positive


class AfterStop(Model):
    """After a stop: the recheck after rest, and the escalation when there is no recovery."""

    recheck_minutes: Decimal = Positive
    escalate_after_minutes: Decimal = Positive
    escalate_actions: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _recheck_first(self) -> AfterStop:
        if self.escalate_after_minutes <= self.recheck_minutes:
            raise ValueError("escalate_after_minutes must be after recheck_minutes")
        return self


class Monitoring(Model):
    """Pause, stop and emergency rules during the infusion (§1.6)."""

    recheck_minutes: Decimal = Positive
    vitals_interval_minutes: VitalsInterval
    pause: MonitoringPause
    emergency: BloodPressure
    spo2_stop_below: int = Field(gt=0, le=100)
    spo2_stop_sustained_seconds: int = Field(ge=0)
    spo2_emergency_below: int = Field(gt=0, le=100)
    rr_emergency_below: int = Field(ge=0)
    rass_sedation_pause_at_or_below: int = Field(ge=-5, le=0)
    rass_sedation_stop_at_or_below: int = Field(ge=-5, le=0)
    rass_agitation_pause_at_or_above: int = Field(ge=0, le=4)
    rass_agitation_stop_at_or_above: int = Field(ge=0, le=4)
    emergency_symptoms: list[str]
    standing_orders: StandingOrders
    # The follow-up actions each standing order starts (keys as in standing_orders).
    order_actions: dict[str, list[str]]
    after_stop: AfterStop

    @model_validator(mode="after")
    def _ladders_in_order(self) -> Monitoring:
        checks = [
            (self.pause.systolic < self.emergency.systolic, "pause.systolic", "emergency"),
            (self.pause.diastolic < self.emergency.diastolic, "pause.diastolic", "emergency"),
            (self.spo2_emergency_below < self.spo2_stop_below, "spo2_emergency_below", "stop"),
            (
                self.rass_sedation_stop_at_or_below < self.rass_sedation_pause_at_or_below,
                "rass_sedation_stop_at_or_below",
                "pause",
            ),
            (
                self.rass_agitation_stop_at_or_above > self.rass_agitation_pause_at_or_above,
                "rass_agitation_stop_at_or_above",
                "pause",
            ),
        ]
        for ok, key, other in checks:
            if not ok:
                raise ValueError(f"{key} must be more extreme than the {other} limit")
        unknown = sorted(set(self.order_actions) - set(StandingOrders.model_fields))
        if unknown:
            raise ValueError(f"order_actions: no standing order {', '.join(unknown)}")
        return self


NauseaLevel = Literal["none", "minimal", "moderate", "severe"]
NAUSEA_ORDER: tuple[str, ...] = ("none", "minimal", "moderate", "severe")
RECOVERY_ITEMS = (
    "oriented_x3",
    "gait_steady",
    "responsible_adult",
    "written_instructions",
    "next_day_call",
    "fall_risk_handover",
)
VITAL_NAMES = ("systolic", "diastolic", "heart_rate", "rr", "spo2")


class Recovery(Model):
    """Departure criteria (§1.7)."""

    aldrete_min: int = Field(ge=0, le=10)
    padss_min: int = Field(ge=0, le=10)
    score_mode: Literal["all_recorded", "either", "both", "aldrete", "padss"]
    vitals_within_pct: Decimal = Positive
    vitals_compared: list[Literal["systolic", "diastolic", "heart_rate", "rr", "spo2"]]
    min_observation_first_minutes: int = Field(ge=0)
    min_observation_later_minutes: int = Field(ge=0)
    max_nausea: NauseaLevel
    rescore_minutes: Decimal = Positive
    escalate_not_cleared_after_minutes: Decimal = Positive
    escalate_actions: list[str] = Field(min_length=1)
    required: list[
        Literal[
            "oriented_x3",
            "gait_steady",
            "responsible_adult",
            "written_instructions",
            "next_day_call",
            "fall_risk_handover",
        ]
    ]


class Band(Model):
    """A named band ending at `max` (inclusive)."""

    name: str
    max: int


class ResponderBand(Model):
    """A named responder band starting at `min_pct` (inclusive)."""

    name: str
    min_pct: Decimal


def _ascending(bands: list[Band], top: int, key: str) -> None:
    maxima = [band.max for band in bands]
    if maxima != sorted(set(maxima)) or maxima[-1] != top:
        raise ValueError(f"{key}: band maxima must rise strictly and end at {top}")


class NrsScale(Model):
    """Pain NRS bands and IMMPACT responder bands."""

    bands: list[Band] = Field(min_length=1)
    responder_bands: list[ResponderBand]

    @model_validator(mode="after")
    def _ordered(self) -> NrsScale:
        _ascending(self.bands, 10, "bands")
        mins = [band.min_pct for band in self.responder_bands]
        if mins != sorted(set(mins), reverse=True):
            raise ValueError("responder_bands: list from the highest min_pct down, no repeats")
        return self


class Phq9Scale(Model):
    """PHQ-9 bands and response definitions."""

    bands: list[Band] = Field(min_length=1)
    response_drop_pct: Decimal = Positive
    remission_below: int = Field(ge=0, le=27)

    @model_validator(mode="after")
    def _ordered(self) -> Phq9Scale:
        _ascending(self.bands, 27, "bands")
        return self


class CadssScale(Model):
    """CADSS short-form item numbers."""

    short_form_items: list[int] = Field(min_length=1)

    @model_validator(mode="after")
    def _items_exist(self) -> CadssScale:
        if any(not 1 <= item <= 23 for item in self.short_form_items):
            raise ValueError("short_form_items: item numbers run from 1 to 23")
        if len(set(self.short_form_items)) != len(self.short_form_items):
            raise ValueError("short_form_items: an item is listed twice")
        return self


class AldreteMmhg(Model):
    """Circulation by mmHg difference from the pre-procedure BP."""

    full_within: Decimal = Field(ge=0)
    zero_beyond: Decimal = Positive


class AldretePercent(Model):
    """Circulation by % difference from the pre-procedure BP."""

    full_within: Decimal = Field(ge=0)
    zero_at_or_above: Decimal = Positive


class AldreteScale(Model):
    """Modified Aldrete circulation variant."""

    circulation_variant: Literal["mmhg", "percent"]
    mmhg: AldreteMmhg
    percent: AldretePercent

    @model_validator(mode="after")
    def _ordered(self) -> AldreteScale:
        if self.mmhg.full_within >= self.mmhg.zero_beyond:
            raise ValueError("mmhg.full_within must be below mmhg.zero_beyond")
        if self.percent.full_within >= self.percent.zero_at_or_above:
            raise ValueError("percent.full_within must be below percent.zero_at_or_above")
        return self


class PadssScale(Model):
    """PADSS variants."""

    vitals_full_within_pct: Decimal = Field(ge=0)
    vitals_zero_above_pct: Decimal = Positive
    pain_variant: Literal["standard", "chronic_baseline"]
    pain_full_at_most: int = Field(ge=0, le=10)
    pain_partial_at_most: int = Field(ge=0, le=10)
    consecutive_checks: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> PadssScale:
        if self.vitals_full_within_pct >= self.vitals_zero_above_pct:
            raise ValueError("vitals_full_within_pct must be below vitals_zero_above_pct")
        if self.pain_full_at_most >= self.pain_partial_at_most:
            raise ValueError("pain_full_at_most must be below pain_partial_at_most")
        return self


class Scales(Model):
    """Scale definitions (§2)."""

    nrs: NrsScale
    phq9: Phq9Scale
    cadss: CadssScale
    aldrete: AldreteScale
    padss: PadssScale


class LadderStep(Model):
    """One lone-worker escalation step."""

    after_minutes: int = Field(ge=0)
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    action: str


class LoneWorker(Model):
    """The escalation ladder after a missed check-out (§4)."""

    steps: list[LadderStep] = Field(min_length=1)
    duress_action: str

    @model_validator(mode="after")
    def _rising(self) -> LoneWorker:
        times = [step.after_minutes for step in self.steps]
        if times != sorted(set(times)):
            raise ValueError("steps: after_minutes must rise strictly")
        return self


class Ledger(Model):
    """Controlled-substance reconciliation and record-keeping (§3)."""

    tolerance_ml: Decimal = Field(ge=0)
    tolerance_pct_of_vial: Decimal = Field(ge=0, le=100)
    tolerance_rule: Literal["larger", "smaller"]
    retention_years: int = Field(ge=2)
    biennial_inventory_years: int = Field(ge=1)
    inventory_alignment_months: int = Field(ge=0)
    loss_notice_business_days: int = Field(ge=0)
    form106_days: int = Field(ge=0)
    waste_witness_methods: list[str] = Field(min_length=1)
    waste_witness_must_be_licensed: bool
    waste_witnesses: int = Field(ge=1)
    breakage_witnesses: int = Field(ge=1)
    require_closing_count: bool
    entry_agreement_mg: Decimal = Field(gt=0)


class Protocol(Model):
    """The whole protocol: every setting the clinical engine reads."""

    version: str
    name: str
    readiness: Readiness
    vitals: Vitals
    cardiac: Cardiac
    hepatic: Hepatic
    pregnancy: Pregnancy
    age: Age
    fasting: Fasting
    course: Course
    personnel: Personnel
    cssrs: Cssrs
    interactions: list[Interaction]
    equipment: Equipment
    dosing: Dosing
    monitoring: Monitoring
    recovery: Recovery
    scales: Scales
    lone_worker: LoneWorker
    ledger: Ledger
    actions: dict[str, ActionSpec]

    def rule(self, rule_id: str) -> RuleOutcome:
        """The configured outcome of one readiness rule."""
        return self.readiness.rules[rule_id]

    @model_validator(mode="after")
    def _cross_checks(self) -> Protocol:
        if self.vitals.pre_infusion.hard_stop.systolic > self.monitoring.emergency.systolic:
            raise ValueError(
                "vitals.pre_infusion.hard_stop.systolic must not be above monitoring.emergency"
            )
        if self.recovery.padss_min > 10 or self.recovery.aldrete_min > 10:
            raise ValueError("recovery: scores run from 0 to 10")
        ids = [interaction.id for interaction in self.interactions]
        if len(ids) != len(set(ids)):
            raise ValueError("interactions: an id is used twice")
        self._actions_exist()
        return self

    def _actions_exist(self) -> None:
        named = [a for rule in self.readiness.rules.values() for a in rule.actions]
        named += [a for i in self.interactions for a in i.actions]
        named += [a for ids in self.monitoring.order_actions.values() for a in ids]
        named += self.monitoring.after_stop.escalate_actions + self.recovery.escalate_actions
        unknown = unknown_actions(named, self.actions)
        if unknown:
            raise ValueError(f"actions: {', '.join(unknown)} named but not in [actions]")
        for action, spec in self.actions.items():
            if isinstance(spec.due_minutes, str):
                try:
                    Decimal(str(setting_value(self, spec.due_minutes)))
                except (AttributeError, KeyError, ArithmeticError, ValueError):
                    raise ValueError(
                        f"actions.{action}.due_minutes: {spec.due_minutes!r} names no number"
                    ) from None


def default_protocol_path() -> Path:
    """The shipped protocol file."""
    return config_dir() / "protocol.toml"


def protocol_from_data(data: dict[str, Any], source: Path | str) -> Protocol:
    """Validate already-read protocol data, or raise `ConfigError` naming source and key."""
    return validate(Protocol, data, source)


def load_protocol(path: Path | None = None) -> Protocol:
    """Read and validate `protocol.toml` (the shipped one unless `path` is given)."""
    path = path or default_protocol_path()
    return protocol_from_data(load_toml(path), path)


def protocol_data(path: Path | None = None) -> dict[str, Any]:
    """The raw protocol table, for case files that lay overrides over it."""
    path = path or default_protocol_path()
    data = load_toml(path)
    if not isinstance(data, dict):  # pragma: no cover - tomllib always returns a dict
        raise ConfigError(f"{path}: not a TOML table")
    return data
