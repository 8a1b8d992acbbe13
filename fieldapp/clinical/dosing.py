"""Dose arithmetic (CLINICAL.md §1.4): dosing weight, caps, rounding, volumes, pump rate.

The engine never returns a dose above a cap: an order above a cap is refused, and when
rounding to the nearest 0.5 mg would cross a cap the dose is rounded down instead. All
arithmetic is decimal, so a dose exactly at a cap is at the cap, not a float hair above.
Every intermediate number is returned with the formula that produced it.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Literal

from pydantic import Field

from fieldapp.clinical.protocol import Dosing, Protocol, WeightPolicy
from fieldapp.clinical.reasons import DOSE_LADDER, Model, Reason, floor_to, fmt, round_to, worst

Number = Decimal | str | None


class DoseOrder(Model):
    """What the prescriber ordered."""

    kind: Literal["bolus", "infusion_rate", "infusion_total", "template"]
    mg_per_kg: Decimal | None = Field(None, gt=0)
    mg_per_kg_per_h: Decimal | None = Field(None, gt=0)
    duration_min: Decimal | None = Field(None, gt=0)
    template: str | None = None


class DoseInput(Model):
    """The patient, the order and the drug at hand."""

    weight_kg: Decimal = Field(gt=0)
    height_cm: Decimal = Field(gt=0)
    sex: Literal["female", "male"]
    previous_weight_kg: Decimal | None = Field(None, gt=0)
    # Today's weight from the checklist; a dose weight far from it (or from the last
    # visit's) must be confirmed before any dose is computed.
    checklist_weight_kg: Decimal | None = Field(None, gt=0)
    weight_confirmed: bool = False
    order: DoseOrder
    vial_mg_per_ml: Decimal = Field(gt=0)
    vial_ml: Decimal = Field(gt=0)
    bag_ml: Decimal | None = Field(None, gt=0)
    bag_drug_mg: Decimal | None = Field(None, gt=0)
    diluted_to_mg_per_ml: Decimal | None = Field(None, gt=0)
    given_this_session_mg: Decimal = Field(Decimal(0), ge=0)
    weight_policy: WeightPolicy | None = None
    session_override_by: str | None = None


class Step(Model):
    """One line of the arithmetic, as a screen shows it."""

    label: str
    formula: str
    value: str


class DoseResult(Model):
    """The computed dose, or a refusal, with every number and reason."""

    outcome: Literal["ok", "ok_with_warnings", "refused"]
    reasons: list[Reason]
    steps: list[Step]
    numbers: dict[str, Number]


class _Work:
    """Accumulates steps, numbers and reasons while a dose is computed."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.numbers: dict[str, Number] = {}
        self.reasons: list[Reason] = []

    def put(self, key: str, label: str, formula: str, value: Decimal, unit: str) -> Decimal:
        self.numbers[key] = value
        self.steps.append(Step(label=label, formula=formula, value=f"{fmt(value)} {unit}"))
        return value

    def refuse(self, rule: str, message: str, measured: str, limit: str, setting: str) -> None:
        self.reasons.append(
            Reason(
                rule_id=rule,
                outcome="refused",
                message=message,
                measured=measured,
                threshold=limit,
                setting=setting,
            )
        )

    def warn(self, rule: str, message: str, setting: str | None = None, **kw: str) -> None:
        self.reasons.append(
            Reason(rule_id=rule, outcome="ok_with_warnings", message=message, setting=setting, **kw)
        )

    def refused(self) -> bool:
        return any(reason.outcome == "refused" for reason in self.reasons)

    def result(self) -> DoseResult:
        outcome = worst((r.outcome for r in self.reasons), DOSE_LADDER)
        return DoseResult(
            outcome=outcome,  # type: ignore[arg-type]
            reasons=self.reasons,
            steps=self.steps,
            numbers=self.numbers,
        )


def ideal_weight_kg(height_cm: Decimal, sex: str, settings: Dosing) -> Decimal:
    """Devine ideal body weight."""
    devine = settings.weight.devine
    inches = height_cm / devine.cm_per_inch
    base = devine.male_base_kg if sex == "male" else devine.female_base_kg
    return base + devine.kg_per_inch * (inches - devine.base_inches)


def _dosing_weight(data: DoseInput, settings: Dosing, work: _Work) -> Decimal:
    actual = data.weight_kg
    metres = data.height_cm / 100
    bmi = work.put("bmi", "BMI", f"{fmt(actual)} kg ÷ ({fmt(metres)} m)²", actual / metres**2, "")
    work.numbers["bmi"] = round_to(bmi, Decimal("0.1"))
    ibw = ideal_weight_kg(data.height_cm, data.sex, settings)
    devine = settings.weight.devine
    base = devine.male_base_kg if data.sex == "male" else devine.female_base_kg
    work.put(
        "ideal_kg",
        "Ideal weight (Devine)",
        f"{fmt(base)} + {fmt(devine.kg_per_inch)} × ({fmt(data.height_cm)} cm ÷ "
        f"{fmt(devine.cm_per_inch)} − {fmt(devine.base_inches)})",
        ibw,
        "kg",
    )
    factor = settings.weight.adjusted_factor
    adjusted = work.put(
        "adjusted_kg",
        "Adjusted weight",
        f"IBW + {fmt(factor)} × ({fmt(actual)} − IBW)",
        ibw + factor * (actual - ibw),
        "kg",
    )
    at_or_above = bmi >= settings.weight.bmi_threshold
    policy = data.weight_policy or (
        settings.weight.policy_at_or_above if at_or_above else settings.weight.policy_below
    )
    work.numbers["weight_policy"] = policy
    chosen = {"actual": actual, "ideal": ibw, "adjusted": adjusted}[policy]
    if settings.weight.never_above_actual and chosen > actual:
        work.warn(
            "weight_policy_capped_at_actual",
            f"The {policy} weight {fmt(round_to(chosen, Decimal('0.1')))} kg is above the "
            f"actual weight; dosing on the actual weight {fmt(actual)} kg",
            "protocol.dosing.weight.never_above_actual",
        )
        chosen = actual
    why = (
        "ordered for this dose"
        if data.weight_policy
        else f"BMI {fmt(round_to(bmi, Decimal('0.1')))} {'≥' if at_or_above else '<'} "
        f"{fmt(settings.weight.bmi_threshold)} (protocol.dosing.weight)"
    )
    return work.put("dosing_weight_kg", f"Dosing weight ({policy}; {why})", policy, chosen, "kg")


def _check_weight(data: DoseInput, settings: Dosing, work: _Work) -> None:
    weight = data.weight_kg
    if not settings.weight_min_kg <= weight <= settings.weight_max_kg:
        work.refuse(
            "weight_out_of_range",
            f"Weight {fmt(weight)} kg is outside {fmt(settings.weight_min_kg)}–"
            f"{fmt(settings.weight_max_kg)} kg: check the entry (lb or kg?)",
            f"{fmt(weight)} kg",
            f"{fmt(settings.weight_min_kg)}–{fmt(settings.weight_max_kg)} kg",
            "protocol.dosing.weight_min_kg",
        )
    changed = [
        _weight_change(work, rule, weight, other, what, settings)
        for rule, other, what in (
            ("weight_changed", data.previous_weight_kg, "since the last visit"),
            ("weight_differs_today", data.checklist_weight_kg, "from today's checklist weight"),
        )
        if other is not None
    ]
    if any(changed) and not data.weight_confirmed:
        work.refuse(
            "weight_unconfirmed",
            "Confirm the weight before the dose is worked out: it differs by more than "
            f"{fmt(settings.weight_change_warn_pct)}% (re-weigh, check lb against kg)",
            f"{fmt(weight)} kg",
            f"{fmt(settings.weight_change_warn_pct)}%",
            "protocol.dosing.weight_change_warn_pct",
        )


def _weight_change(
    work: _Work, rule: str, weight: Decimal, other: Decimal, what: str, settings: Dosing
) -> bool:
    """Warn when `weight` is further than the setting from `other`; True when it is."""
    change = abs(weight - other) / other * 100
    shown = round_to(change, Decimal("0.1"))
    work.numbers[f"{rule}_pct"] = shown
    if change <= settings.weight_change_warn_pct:
        return False
    work.warn(
        rule,
        f"Weight {fmt(weight)} kg is {fmt(shown)}% {what} ({fmt(other)} kg), more than "
        f"{fmt(settings.weight_change_warn_pct)}%: a lb/kg slip?",
        "protocol.dosing.weight_change_warn_pct",
        measured=f"{fmt(change)}%",
        threshold=f"{fmt(settings.weight_change_warn_pct)}%",
    )
    return True


def _capped(value: Decimal, step: Decimal, cap: Decimal, what: str, work: _Work) -> Decimal:
    """Round to the nearest step, or down when the nearest step is above `cap`."""
    rounded = round_to(value, step)
    if rounded > cap:
        rounded = floor_to(min(value, cap), step)
        work.warn(
            "rounded_down_to_cap",
            f"{what} rounded down to {fmt(rounded)} so it stays within the cap {fmt(cap)}",
            "protocol.dosing.dose_rounding_mg",
        )
    return rounded


def compute_dose(data: DoseInput, protocol: Protocol) -> DoseResult:
    """Compute a dose (or refuse it) with every intermediate number."""
    settings = protocol.dosing
    work = _Work()
    _check_weight(data, settings, work)
    if work.refused():
        return work.result()
    weight = _dosing_weight(data, settings, work)
    order = data.order
    mg_per_kg, duration_min, rate_per_kg = _order_terms(order, settings, work)
    if work.refused():
        return work.result()

    caps: list[tuple[Decimal, str]] = []
    session_cap = min(settings.session_cap_mg_per_kg * weight, settings.session_cap_mg)
    work.put(
        "session_cap_mg",
        "Session cap",
        f"min({fmt(settings.session_cap_mg_per_kg)} mg/kg × {fmt(weight)} kg, "
        f"{fmt(settings.session_cap_mg)} mg)",
        session_cap,
        "mg",
    )
    if order.kind == "bolus":
        assert mg_per_kg is not None
        if mg_per_kg > settings.bolus_cap_mg_per_kg:
            work.refuse(
                "bolus_cap",
                f"Bolus {fmt(mg_per_kg)} mg/kg is above the cap "
                f"{fmt(settings.bolus_cap_mg_per_kg)} mg/kg",
                f"{fmt(mg_per_kg)} mg/kg",
                f"{fmt(settings.bolus_cap_mg_per_kg)} mg/kg",
                "protocol.dosing.bolus_cap_mg_per_kg",
            )
            return work.result()
        exact = work.put(
            "dose_mg_exact",
            "Dose",
            f"{fmt(mg_per_kg)} mg/kg × {fmt(weight)} kg",
            mg_per_kg * weight,
            "mg",
        )
        caps.append((settings.bolus_cap_mg_per_kg * weight, "bolus cap"))
        duration_h = None
    else:
        assert duration_min is not None and rate_per_kg is not None
        duration_h = work.put(
            "duration_h", "Duration", f"{fmt(duration_min)} min ÷ 60", duration_min / 60, "h"
        )
        _check_rate(rate_per_kg, settings, work)
        if work.refused():
            return work.result()
        if order.kind == "infusion_rate":
            exact = work.put(
                "dose_mg_exact",
                "Total",
                f"{fmt(rate_per_kg)} mg/kg/h × {fmt(weight)} kg × {fmt(duration_h)} h",
                rate_per_kg * weight * duration_h,
                "mg",
            )
        else:
            assert mg_per_kg is not None
            exact = work.put(
                "dose_mg_exact",
                "Total",
                f"{fmt(mg_per_kg)} mg/kg × {fmt(weight)} kg",
                mg_per_kg * weight,
                "mg",
            )
        caps.append((settings.home_rate_cap_mg_per_kg_per_h * weight * duration_h, "home rate cap"))

    session_total = data.given_this_session_mg + exact
    override = None
    if session_total > session_cap:
        if settings.session_cap_override_allowed and data.session_override_by:
            override = data.session_override_by
            work.warn(
                "session_cap_override",
                f"Session total {fmt(session_total)} mg is above the cap {fmt(session_cap)} mg: "
                f"override by {override}",
                "protocol.dosing.session_cap_override_allowed",
            )
        else:
            work.refuse(
                "session_cap",
                f"Session total {fmt(round_to(session_total, Decimal('0.01')))} mg is above "
                f"the session cap {fmt(round_to(session_cap, Decimal('0.01')))} mg",
                f"{fmt(session_total)} mg",
                f"{fmt(session_cap)} mg",
                "protocol.dosing.session_cap_mg_per_kg",
            )
            return work.result()
    if override is None:
        caps.append((session_cap - data.given_this_session_mg, "session cap"))
    cap = min(value for value, _ in caps)
    dose = _capped(exact, settings.dose_rounding_mg, cap, "Dose", work)
    work.put("dose_mg", "Dose, rounded", f"to {fmt(settings.dose_rounding_mg)} mg", dose, "mg")
    if dose <= 0:
        work.refuse(
            "dose_below_rounding",
            f"The dose {fmt(exact)} mg rounds to 0 mg: check the order",
            f"{fmt(exact)} mg",
            f"{fmt(settings.dose_rounding_mg)} mg",
            "protocol.dosing.dose_rounding_mg",
        )
        return work.result()
    work.numbers["total_mg"] = dose
    work.numbers["session_total_mg"] = data.given_this_session_mg + dose
    if duration_h is not None:
        rate = _capped(
            dose / duration_h,
            settings.rate_rounding_mg_per_h,
            settings.home_rate_cap_mg_per_kg_per_h * weight,
            "Rate",
            work,
        )
        work.put("rate_mg_per_h", "Rate", f"{fmt(dose)} mg ÷ {fmt(duration_h)} h", rate, "mg/h")
        work.numbers["rate_mg_per_kg_per_h"] = round_to(rate / weight, Decimal("0.001"))
    _volumes(data, dose, settings, work)
    return work.result()


def _order_terms(
    order: DoseOrder, settings: Dosing, work: _Work
) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """(mg/kg, minutes, mg/kg/h) of the order, refusing an incomplete one."""
    if order.kind == "template":
        template = settings.templates.get(order.template or "")
        if template is None:
            work.refuse(
                "unknown_template",
                f"No dose template {order.template!r}",
                str(order.template),
                ", ".join(settings.templates),
                "protocol.dosing.templates",
            )
            return None, None, None
        return (
            template.mg_per_kg,
            template.duration_min,
            template.mg_per_kg / (template.duration_min / 60),
        )
    needs = {
        "bolus": ("mg_per_kg",),
        "infusion_rate": ("mg_per_kg_per_h", "duration_min"),
        "infusion_total": ("mg_per_kg", "duration_min"),
    }[order.kind]
    missing = [name for name in needs if getattr(order, name) is None]
    if missing:
        work.refuse(
            "order_incomplete",
            f"A {order.kind} order needs {', '.join(missing)}",
            "missing",
            ", ".join(needs),
            "protocol.dosing",
        )
        return None, None, None
    if order.kind == "bolus":
        return order.mg_per_kg, None, None
    assert order.duration_min is not None
    if order.kind == "infusion_rate":
        return None, order.duration_min, order.mg_per_kg_per_h
    assert order.mg_per_kg is not None
    return order.mg_per_kg, order.duration_min, order.mg_per_kg / (order.duration_min / 60)


def _check_rate(rate_per_kg: Decimal, settings: Dosing, work: _Work) -> None:
    shown = fmt(round_to(rate_per_kg, Decimal("0.001")))
    for limit, name, key in (
        (settings.rate_hard_ceiling_mg_per_kg_per_h, "hard ceiling", "rate_hard_ceiling"),
        (settings.home_rate_cap_mg_per_kg_per_h, "home rate cap", "home_rate_cap"),
    ):
        if rate_per_kg > limit:
            work.refuse(
                key,
                f"Rate {shown} mg/kg/h is above the {name} {fmt(limit)} mg/kg/h",
                f"{shown} mg/kg/h",
                f"{fmt(limit)} mg/kg/h",
                f"protocol.dosing.{key}_mg_per_kg_per_h",
            )
            return


def _volumes(data: DoseInput, dose: Decimal, settings: Dosing, work: _Work) -> None:
    step = settings.volume_rounding_ml
    drawn_mg = data.bag_drug_mg if data.bag_drug_mg is not None else dose
    if drawn_mg < dose:
        work.refuse(
            "bag_short",
            f"The bag holds {fmt(drawn_mg)} mg, less than the dose {fmt(dose)} mg",
            f"{fmt(drawn_mg)} mg",
            f"{fmt(dose)} mg",
            "protocol.dosing",
        )
        return
    draw_ml = round_to(drawn_mg / data.vial_mg_per_ml, step)
    work.put(
        "draw_ml",
        "Draw from vial",
        f"{fmt(drawn_mg)} mg ÷ {fmt(data.vial_mg_per_ml)} mg/mL",
        draw_ml,
        "mL",
    )
    vials = math.ceil(drawn_mg / data.vial_mg_per_ml / data.vial_ml)
    work.numbers["vials_needed"] = Decimal(vials)
    if vials > 1:
        work.warn(
            "several_vials", f"The draw needs {vials} vials of {fmt(data.vial_ml)} mL: record each"
        )
    if data.bag_ml is not None:
        concentration = work.put(
            "bag_mg_per_ml",
            "Bag concentration",
            f"{fmt(drawn_mg)} mg ÷ {fmt(data.bag_ml)} mL",
            drawn_mg / data.bag_ml,
            "mg/mL",
        )
        work.numbers["residual_mg"] = drawn_mg - dose
        if drawn_mg > dose:
            work.steps.append(
                Step(
                    label="Residual to witnessed waste",
                    formula=f"{fmt(drawn_mg)} − {fmt(dose)} mg",
                    value=f"{fmt(drawn_mg - dose)} mg",
                )
            )
    elif data.diluted_to_mg_per_ml is not None:
        concentration = data.diluted_to_mg_per_ml
        work.put(
            "syringe_ml",
            "Diluted volume",
            f"{fmt(dose)} mg ÷ {fmt(concentration)} mg/mL",
            round_to(dose / concentration, step),
            "mL",
        )
    else:
        concentration = data.vial_mg_per_ml
    if concentration >= settings.iv_refuse_at_or_above_mg_per_ml:
        work.refuse(
            "undiluted_iv",
            f"{fmt(concentration)} mg/mL must not be given IV undiluted",
            f"{fmt(concentration)} mg/mL",
            f"{fmt(settings.iv_refuse_at_or_above_mg_per_ml)} mg/mL",
            "protocol.dosing.iv_refuse_at_or_above_mg_per_ml",
        )
        return
    rate = work.numbers.get("rate_mg_per_h")
    if isinstance(rate, Decimal):
        work.put(
            "pump_ml_per_h",
            "Pump rate",
            f"{fmt(rate)} mg/h ÷ {fmt(concentration)} mg/mL",
            round_to(rate / concentration, step),
            "mL/h",
        )
