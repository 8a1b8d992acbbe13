"""Pre-visit readiness (CLINICAL.md §1.2, §1.3, §1.8, §1.9, §2): may this infusion start?

Each rule reads `ReadinessInput`, and when it fires gives a `Reason` whose outcome comes
from `protocol.readiness.rules`. The worst outcome wins. A named prescriber's approval
turns an approvable hold into `proceed_with_flags`, and the decision records who approved.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from fieldapp.clinical import cssrs, scales, screening
from fieldapp.clinical.course import course_reasons
from fieldapp.clinical.protocol import Protocol
from fieldapp.clinical.readiness_input import Approval, ReadinessInput
from fieldapp.clinical.reasons import READINESS_LADDER, Model, Reason, fmt, worst
from fieldapp.clinical.rules import fire

Rule = Callable[[ReadinessInput, Protocol], list[Reason]]


class ReadinessDecision(Model):
    """The readiness outcome, every reason, and the approvals that were applied."""

    outcome: str
    reasons: list[Reason]
    approvals: list[Approval]
    numbers: dict[str, Decimal | int | str | None]
    checklists: list[str]
    protocol_version: str


def _visit_gates(data: ReadinessInput, p: Protocol) -> list[Reason]:
    t, today, reasons = data.today, data.visit_at.date(), []
    if not t.responsible_adult:
        reasons.append(
            fire(
                p,
                "responsible_adult_absent",
                "No responsible adult present for the post-infusion period",
            )
        )
    if p.fasting.enabled:
        for value, rule, label, limit, key in (
            (
                t.hours_since_solids,
                "fasting_solids",
                "solids",
                p.fasting.solids_hours,
                "solids_hours",
            ),
            (
                t.hours_since_clear_fluids,
                "fasting_clear_fluids",
                "clear fluids",
                p.fasting.clear_fluids_hours,
                "clear_fluids_hours",
            ),
        ):
            if value is None:
                reasons.append(
                    fire(p, "checklist_incomplete", f"Fasting from {label} not recorded")
                )
            elif value < limit:
                reasons.append(
                    fire(
                        p,
                        rule,
                        f"Only {fmt(value)} h since {label}; fasting needs {fmt(limit)} h",
                        f"{fmt(value)} h",
                        f"{fmt(limit)} h",
                        f"protocol.fasting.{key}",
                    )
                )
    oldest = today - timedelta(days=p.readiness.weight_max_age_days)
    if t.weight_measured_on is None or t.weight_measured_on < oldest:
        reasons.append(
            fire(
                p,
                "weight_stale",
                f"Weight not measured in the last {p.readiness.weight_max_age_days} days",
                str(t.weight_measured_on or "never"),
                f"{p.readiness.weight_max_age_days} days",
                "protocol.readiness.weight_max_age_days",
            )
        )
    if p.readiness.pdmp_required and not t.pdmp_checked:
        reasons.append(
            fire(
                p,
                "pdmp_not_checked",
                "PDMP not checked",
                setting="protocol.readiness.pdmp_required",
            )
        )
    if p.readiness.consent_required and not t.consent_on_file:
        reasons.append(
            fire(
                p,
                "consent_missing",
                "No documented informed consent (off-label use)",
                setting="protocol.readiness.consent_required",
            )
        )
    taken = {name.strip().lower() for name in t.medications}
    taken_today = {name.strip().lower() for name in t.medications_today}
    for interaction in p.interactions:
        pool = taken_today if interaction.when == "today" else taken | taken_today
        hits = sorted(pool.intersection(interaction.drugs))
        if hits:
            reasons.append(
                Reason(
                    rule_id=f"interaction_{interaction.id}",
                    outcome=interaction.outcome,
                    message=f"{interaction.message}: {', '.join(hits)}",
                    measured=", ".join(hits),
                    setting=f"protocol.interactions.{interaction.id}",
                    approvable=interaction.approvable,
                    action_ids=tuple(interaction.actions),
                )
            )
    return reasons


def _staff(data: ReadinessInput, p: Protocol) -> list[Reason]:
    s, today, reasons = data.personnel, data.visit_at.date(), []
    if p.personnel.require_acls and (s.acls_expires is None or s.acls_expires < today):
        reasons.append(
            fire(
                p,
                "personnel_acls",
                "The clinician has no current ACLS",
                str(s.acls_expires or "none"),
                str(today),
                "protocol.personnel.require_acls",
            )
        )
    if p.personnel.require_licence and (
        not s.licence_active or (s.licence_expires is not None and s.licence_expires < today)
    ):
        reasons.append(
            fire(
                p,
                "personnel_licence",
                "The clinician has no active licence",
                setting="protocol.personnel.require_licence",
            )
        )
    if p.personnel.require_prescriber_dea_in_state and (
        s.visit_state is None or s.visit_state not in s.prescriber_dea_states
    ):
        reasons.append(
            fire(
                p,
                "personnel_prescriber_dea",
                "The ordering prescriber holds no DEA registration "
                f"for the visit's state {s.visit_state or '(unknown)'}",
                s.visit_state,
                ", ".join(s.prescriber_dea_states) or "none",
                "protocol.personnel.require_prescriber_dea_in_state",
            )
        )
    missing = [item for item in p.equipment.required if not data.equipment.get(item)]
    if missing:
        reasons.append(
            fire(
                p,
                "equipment_missing",
                f"Equipment not checked: {', '.join(missing)}",
                ", ".join(missing),
                setting="protocol.equipment.required",
            )
        )
    for answered in data.checklists:
        if answered.missing:
            reasons.append(
                fire(
                    p,
                    "checklist_incomplete",
                    f"Checklist {answered.template}: required items not "
                    f"answered: {', '.join(answered.missing)}",
                )
            )
    return reasons


def _mood(data: ReadinessInput, p: Protocol) -> list[Reason]:
    items, reasons = data.today.phq9_items, []
    cssrs_needed = p.cssrs.every_visit
    if items is None:
        reasons.append(fire(p, "phq9_missing", "PHQ-9 not completed"))
    else:
        try:
            result = scales.phq9(items, p.scales.phq9, p.cssrs.phq9_item9_trigger)
        except scales.ScaleError as exc:
            return [fire(p, "phq9_missing", f"PHQ-9 cannot be scored: {exc}")]
        if result.item9_positive:
            cssrs_needed = True
            reasons.append(
                fire(
                    p,
                    "phq9_item9_positive",
                    f"PHQ-9 item 9 = {result.item9} (total {result.total}, "
                    f"{result.band}): positive suicide screen, C-SSRS and clinician review",
                    str(result.item9),
                    str(p.cssrs.phq9_item9_trigger),
                    "protocol.cssrs.phq9_item9_trigger",
                )
            )
    answers = data.today.cssrs
    if answers is None:
        if cssrs_needed:
            reasons.append(fire(p, "cssrs_missing", "C-SSRS screener needed and not completed"))
        return reasons
    try:
        level = cssrs.risk(answers)
    except cssrs.CssrsError as exc:
        return [*reasons, fire(p, "cssrs_missing", str(exc))]
    if level != "none":
        actions = {
            "low": p.cssrs.low_actions,
            "moderate": p.cssrs.moderate_actions,
            "high": p.cssrs.high_actions,
        }[level]
        reasons.append(
            fire(
                p,
                f"cssrs_{level}",
                f"C-SSRS risk {level.upper()}",
                level,
                setting=f"protocol.readiness.rules.cssrs_{level}",
                actions=actions,
            )
        )
    return reasons


def _course(data: ReadinessInput, p: Protocol) -> list[Reason]:
    return course_reasons(data.course, data.visit_at, p)[0]


def _record(data: ReadinessInput, p: Protocol) -> list[Reason]:
    """The clinical record: entries nobody can read, and changes the patient reports."""
    reasons = []
    if data.record_review:
        reasons.append(
            fire(
                p,
                "record_unrecognised",
                "The clinical record has entries the vocabulary cannot read: "
                + "; ".join(data.record_review)
                + ". A prescriber reviews them.",
                f"{len(data.record_review)} entr{'y' if len(data.record_review) == 1 else 'ies'}",
                setting="protocol.readiness.rules.record_unrecognised",
            )
        )
    if data.today.record_changed:
        reasons.append(
            fire(
                p,
                "record_changed",
                "New diagnosis, hospital stay or medication since the clinic's record: "
                "prescriber review",
            )
        )
    return reasons


RULES: tuple[Rule, ...] = (
    screening.conditions,
    screening.cardiac_hepatic,
    screening.pregnancy,
    screening.vitals,
    _visit_gates,
    _staff,
    _mood,
    _course,
    _record,
)


def _apply_approvals(reasons: list[Reason], approvals: list[Approval]) -> list[Reason]:
    out = []
    for reason in reasons:
        approval = next(
            (a for a in approvals if a.rule_ids is None or reason.rule_id in a.rule_ids), None
        )
        if reason.outcome == "hold" and reason.approvable and approval is not None:
            note = f"; {approval.note}" if approval.note else ""
            reason = reason.model_copy(
                update={
                    "outcome": "proceed_with_flags",
                    "message": f"{reason.message} (approved by {approval.prescriber}{note})",
                }
            )
        out.append(reason)
    return out


def bp_interval_minutes(rule_ids: list[str], protocol: Protocol) -> Decimal | None:
    """The BP interval during the infusion the fired rules ask for, if shorter than usual.

    Age or known hypertension asks for the flagged-patient interval; an interaction (a
    pressor) for its own. The shortest wins; None when no rule asks for one.
    """
    asked = []
    if any(rule in ("age_older", "hypertension_known") for rule in rule_ids):
        asked.append(Decimal(protocol.age.bp_interval_minutes_when_flagged))
    for interaction in protocol.interactions:
        if f"interaction_{interaction.id}" in rule_ids and interaction.bp_interval_minutes:
            asked.append(interaction.bp_interval_minutes)
    return min(asked) if asked else None


def evaluate_readiness(data: ReadinessInput, protocol: Protocol) -> ReadinessDecision:
    """Run every readiness rule; the worst outcome wins after approvals are applied."""
    reasons = [reason for rule in RULES for reason in rule(data, protocol)]
    reasons = _apply_approvals(reasons, data.approvals)
    outcome = worst((r.outcome for r in reasons), READINESS_LADDER)
    numbers: dict[str, Decimal | int | str | None] = {}
    interval = bp_interval_minutes([r.rule_id for r in reasons], protocol)
    if interval is not None:
        numbers["bp_interval_minutes"] = interval
    if data.today.phq9_items is not None and len(data.today.phq9_items) == 9:
        numbers["phq9_total"] = sum(data.today.phq9_items)
    return ReadinessDecision(
        outcome=outcome,
        reasons=reasons,
        approvals=data.approvals,
        numbers=numbers,
        checklists=[answered.template for answered in data.checklists],
        protocol_version=protocol.version,
    )
