"""Dose and infusion: the order computed by the engine, then each reading judged at once.

The dose step keeps the engine's arithmetic (every step with its formula) so the screen
can show it, refuses to save a refused dose, and needs a named second checker. During the
infusion every reading is judged in the context of the earlier ones (a pause whose cause
persists at the recheck becomes a stop), and a stop or an emergency ends the infusion.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from fieldapp.clinical.actions import follow_ups
from fieldapp.clinical.dosing import DoseInput, DoseResult, compute_dose
from fieldapp.clinical.dosing import DoseOrder as EngineOrder
from fieldapp.clinical.monitoring import (
    MinuteLabel,
    MonitoringDecision,
    Reading,
    after_start,
    evaluate_reading,
    with_low_spo2_durations,
)
from fieldapp.clinical.readiness import bp_interval_minutes
from fieldapp.clinical.vocabulary import symptom_id
from fieldapp.errors import StoreError
from fieldapp.services import engine
from fieldapp.services.approvals import PendingRequest, new_request
from fieldapp.services.checklist import to_record_reason
from fieldapp.services.clock import clock_time
from fieldapp.services.followups import DONE_BY_READING, FollowUps, as_reading
from fieldapp.services.visit import StepRefused, VisitSession
from sync.approvals import Answer, Facts, RequestPublic, RuleFact
from sync.records import (
    ChecklistSubmission,
    DoseAdministration,
    DoseOrder,
    StatusEvent,
    VitalsReading,
)

RECORD_MODE = {
    "bolus": "bolus",
    "infusion_rate": "infusion_rate",
    "infusion_total": "infusion_total",
    "template": "depression_template",
}


@dataclass(frozen=True)
class DoseForm:
    """The order as typed on the dose screen, already parsed."""

    kind: str
    weight_kg: Decimal
    height_cm: Decimal
    sex: str
    vial_mg_per_ml: Decimal
    vial_ml: Decimal
    prescriber: str
    mg_per_kg: Decimal | None = None
    mg_per_kg_per_h: Decimal | None = None
    duration_min: Decimal | None = None
    template: str | None = None
    bag_ml: Decimal | None = None
    bag_drug_mg: Decimal | None = None
    previous_weight_kg: Decimal | None = None
    checklist_weight_kg: Decimal | None = None
    weight_confirmed: bool = False
    given_this_session_mg: Decimal = Decimal(0)
    diluted_to_mg_per_ml: Decimal | None = None
    session_override_by: str | None = None
    # The prescriber's signed answer behind `session_override_by` (a name alone is none).
    session_override: Answer | None = None


def cap_override_request(session: VisitSession, form: DoseForm) -> PendingRequest:
    """The request for a prescriber to let this dose exceed the session cap, where the
    protocol allows an override: the cap's rule, the order's numbers, nothing else."""
    if not engine.protocol().dosing.session_cap_override_allowed:
        raise StepRefused("The protocol lets no one override the session cap.")
    return new_request("dose_cap", cap_facts(session, form), session.visit.id)


def cap_facts(session: VisitSession, form: DoseForm) -> Facts:
    """What an override is asked on: the session cap's reason and the order's numbers."""
    plain = replace(form, session_override_by=None, session_override=None)
    result = compute(prepared(plain, session))
    capped = [r for r in result.reasons if r.rule_id == "session_cap"]
    if not capped:
        raise StepRefused("This dose is within the session cap: there is nothing to override.")
    rules = [
        RuleFact(
            rule_id=r.rule_id,
            outcome="refused",
            measured=r.measured,
            threshold=r.threshold,
            setting=r.setting,
        )
        for r in capped
    ]
    numbers = {
        "kind": form.kind,
        "weight_kg": str(form.weight_kg),
        "mg_per_kg": None if form.mg_per_kg is None else str(form.mg_per_kg),
        "mg_per_kg_per_h": None if form.mg_per_kg_per_h is None else str(form.mg_per_kg_per_h),
        "duration_min": None if form.duration_min is None else str(form.duration_min),
        "template": form.template,
    }
    return Facts(
        rules=rules,
        values={k: v for k, v in numbers.items() if v is not None},
        question="Let this order exceed the session cap?",
    )


def with_cap_override(
    form: DoseForm, pending: PendingRequest, found: RequestPublic, pinned_key: str
) -> DoseForm:
    """The form carrying the prescriber's checked, signed override (`AnswerRefused` when
    the answer fails its checks; `StepRefused` when they declined)."""
    answer = pending.accept(found, pinned_key)
    if answer.decision == "decline":
        raise StepRefused(f"{answer.answered_by} declined the override: {answer.note}")
    return replace(form, session_override_by=answer.answered_by, session_override=answer)


def prepared(form: DoseForm, session: VisitSession) -> DoseForm:
    """The form with what the visit knows: the last visit's weight, today's checklist
    weight and what was given this session (never taken from the screen)."""
    given = sum((Decimal(str(a.dose_mg)) for a in session.administrations()), Decimal(0))
    return replace(
        form,
        previous_weight_kg=last_visit_weight(session),
        checklist_weight_kg=checklist_weight(session),
        given_this_session_mg=given,
    )


def last_visit_weight(session: VisitSession) -> Decimal | None:
    """The weight of the patient's last visit: a dose ordered on this laptop, or the clinic's."""
    local = [r for r in session.earlier if isinstance(r, DoseOrder)]
    if local:
        return Decimal(str(max(local, key=lambda r: r.recorded_at).weight_kg))
    sessions = session.patient.past_sessions
    last = next((p.weight_kg for p in reversed(sessions) if p.weight_kg), None)
    return Decimal(str(last)) if last else None


def checklist_weight(session: VisitSession) -> Decimal | None:
    """The weight measured today, as answered in the safety checklist."""
    raw = session.last_checklist_answers().get("weight_kg")
    try:
        return Decimal(str(raw)) if raw not in (None, "") else None
    except ArithmeticError:
        return None


def compute(form: DoseForm) -> DoseResult:
    """The engine's dose (or refusal) with every intermediate number.

    An order the engine cannot read yet (a weight of 0 before it is typed, say) is a
    `StepRefused` naming the fields, never the values.
    """
    try:
        return _compute(form)
    except ValidationError as exc:
        fields = sorted(
            {".".join(str(p) for p in e["loc"] if isinstance(p, str)) for e in exc.errors()}
        )
        raise StepRefused(f"the order is not complete: check {', '.join(fields)}.") from None


def _compute(form: DoseForm) -> DoseResult:
    order = EngineOrder(
        kind=form.kind,  # type: ignore[arg-type]
        mg_per_kg=form.mg_per_kg,
        mg_per_kg_per_h=form.mg_per_kg_per_h,
        duration_min=form.duration_min,
        template=form.template,
    )
    data = DoseInput(
        weight_kg=form.weight_kg,
        height_cm=form.height_cm,
        sex=form.sex,  # type: ignore[arg-type]
        previous_weight_kg=form.previous_weight_kg,
        checklist_weight_kg=form.checklist_weight_kg,
        weight_confirmed=form.weight_confirmed,
        given_this_session_mg=form.given_this_session_mg,
        diluted_to_mg_per_ml=form.diluted_to_mg_per_ml,
        session_override_by=form.session_override_by or None,
        order=order,
        vial_mg_per_ml=form.vial_mg_per_ml,
        vial_ml=form.vial_ml,
        bag_ml=form.bag_ml,
        bag_drug_mg=form.bag_drug_mg,
    )
    return compute_dose(data, engine.protocol())


def _num(numbers: dict[str, Any], key: str) -> float | None:
    value = numbers.get(key)
    return float(value) if isinstance(value, Decimal) else None


def check_facts(session: VisitSession, form: DoseForm) -> Facts:
    """What a remote checker confirms: the order's inputs and the engine's numbers."""
    result = compute(prepared(form, session))
    if result.outcome == "refused":
        raise StepRefused("The dose was refused: " + "; ".join(r.message for r in result.reasons))
    values: dict[str, Any] = {
        "kind": form.kind,
        "weight_kg": str(form.weight_kg),
        "vial_mg_per_ml": str(form.vial_mg_per_ml),
    }
    for key in ("dosing_weight_kg", "dose_mg", "rate_mg_per_h", "draw_ml", "pump_ml_per_h"):
        if result.numbers.get(key) is not None:
            values[key] = str(result.numbers[key])
    return Facts(values=values, question="Confirm the arithmetic of this dose?")


def remote_check_request(session: VisitSession, form: DoseForm) -> PendingRequest:
    """No colleague present: ask the prescriber to check the dose's arithmetic remotely."""
    return new_request("dose_check", check_facts(session, form), session.visit.id)


def with_remote_check(pending: PendingRequest, found: RequestPublic, pinned_key: str) -> Answer:
    """The checked confirmation (`AnswerRefused` when it fails its checks, `StepRefused`
    unless it confirms)."""
    answer = pending.accept(found, pinned_key)
    if answer.decision != "approve":
        raise StepRefused(f"{answer.answered_by} did not confirm the dose: {answer.note}")
    return answer


class CheckerRefused(StepRefused):
    """The second checker's signature could not be made (wrong PIN, not enrolled here,
    locked): nothing was signed or saved."""


def confirm_dose(
    session: VisitSession,
    form: DoseForm,
    result: DoseResult,
    double_checked_by: str,
    vial: str,
    checker_pin: str = "",
    remote_check: Answer | None = None,
) -> DoseOrder:
    """Save the order and its draw from `vial` after the explicit double-check.

    The dose is worked out again with what the visit knows (weights, what was given), so a
    weight that needs confirming is confirmed before anything is saved. A refused dose is
    never saved, and neither is a dose drawn from a vial of another strength than the one
    the arithmetic used.
    """
    form = prepared(form, session)
    result = compute(form)
    if result.outcome == "refused":
        raise StepRefused("The dose was refused: " + "; ".join(r.message for r in result.reasons))
    checker = double_checked_by.strip()
    if remote_check is not None:
        # A remote check stands for this very order only (its arithmetic as confirmed).
        if check_facts(session, form).digest() != remote_check.facts_hash:
            raise StepRefused("The order changed since the remote check: ask again.")
        checker = remote_check.answered_by
    if not checker:
        raise StepRefused("Name the person who double-checked the dose.")
    if checker == session.services.settings.store.user:
        raise StepRefused("The second checker must be someone other than you.")
    if not checker_pin and remote_check is None:
        raise StepRefused(f"{checker} must sign the check with their own PIN.")
    override = form.session_override
    if form.session_override_by and (
        override is None or override.answered_by != form.session_override_by
    ):
        raise StepRefused("A session-cap override needs the prescriber's signed answer.")
    changed = (
        override is not None
        and form.session_override_by
        and cap_facts(session, form).digest() != override.facts_hash
    )
    if changed:
        raise StepRefused("The order changed since the override was given: ask again.")
    source = session.services.ledger.vial(vial.strip())
    if source.mg_per_ml != form.vial_mg_per_ml:
        raise StepRefused(
            f"Vial {source.vial} is {source.mg_per_ml} mg/mL but the dose was worked out "
            f"for {form.vial_mg_per_ml} mg/mL: correct the vial strength."
        )
    n = result.numbers
    duration = form.duration_min
    if form.kind == "template" and form.template:
        duration = engine.protocol().dosing.templates[form.template].duration_min
    record = session.new(
        DoseOrder,
        prescriber=form.prescriber,
        mode=RECORD_MODE[form.kind],
        weight_kg=float(form.weight_kg),
        height_cm=float(form.height_cm),
        dosing_weight_kg=_num(n, "dosing_weight_kg") or float(form.weight_kg),
        mg_per_kg=float(form.mg_per_kg) if form.mg_per_kg else None,
        mg_per_kg_per_h=float(form.mg_per_kg_per_h) if form.mg_per_kg_per_h else None,
        duration_min=int(duration) if duration else None,
        dose_mg=_num(n, "dose_mg") or 0.0,
        rate_mg_per_h=_num(n, "rate_mg_per_h"),
        vial_concentration_mg_per_ml=float(form.vial_mg_per_ml),
        draw_ml=_num(n, "draw_ml") or 0.0,
        bag_volume_ml=float(form.bag_ml) if form.bag_ml else None,
        pump_ml_per_h=_num(n, "pump_ml_per_h"),
        double_checked_by=checker,
        cap_override=override if form.session_override_by else None,
        warnings=[to_record_reason(r) for r in result.reasons],
        weight_confirmed=form.weight_confirmed
        and any(r.rule_id in ("weight_changed", "weight_differs_today") for r in result.reasons),
    )
    if remote_check is not None:
        record = record.model_copy(update={"remote_check": remote_check})
    else:
        # The checker signs the order itself, with their own key opened by their own PIN:
        # a wrong PIN signs nothing and saves nothing.
        try:
            signature = session.services.store.sign_as_checker(
                checker, checker_pin, record.checked_content()
            )
        except StoreError as exc:
            raise CheckerRefused(str(exc)) from None
        record = record.model_copy(update={"checker_signature": signature})
    # What leaves the vial: the drug put into the bag when the order names it (the rest is
    # wasted, witnessed), else the dose itself.
    drawn = form.bag_drug_mg if form.bag_drug_mg is not None else Decimal(str(record.dose_mg))
    session.services.ledger.draw(session, source.vial, drawn)
    session.save(record)
    return record


class Infusion:
    """The running infusion of one visit: start, readings, end."""

    def __init__(self, session: VisitSession) -> None:
        self.session = session

    @property
    def started_at(self) -> datetime | None:
        """When the infusion started."""
        return self.session.status_at("infusion_started")

    @property
    def ended(self) -> bool:
        """Whether the infusion has ended (completed or stopped)."""
        return self.session.has_status("infusion_ended")

    @property
    def order(self) -> DoseOrder:
        """The confirmed dose order."""
        order = self.session.last(DoseOrder)
        if order is None:
            raise StepRefused("Confirm the dose before starting the infusion.")
        return order

    def start(self) -> StatusEvent:
        """Start the infusion (and the lone-worker "infusion start" check-in)."""
        if self.started_at is not None:
            raise StepRefused("The infusion has already started.")
        _ = self.order
        event = self.session.set_status("infusion_started")
        due = self.next_due()
        if due is not None:
            FollowUps(self.session).next_vitals(due)
        return event

    def elapsed_min(self) -> Decimal:
        """Minutes since the start."""
        if self.started_at is None:
            return Decimal(0)
        seconds = (self.session.services.clock.now() - self.started_at).total_seconds()
        return Decimal(int(seconds)) / 60

    def clock_label(self) -> MinuteLabel:
        """Names a minute after the start as the clock time a clinician reads ("14:05")."""
        started, clock = self.started_at, self.session.services.clock
        if started is None:
            return after_start
        return lambda minute: clock_time(started + timedelta(minutes=float(minute)), clock)

    def readings(self) -> list[VitalsReading]:
        """Readings taken during this infusion."""
        return self.session.vitals("during")

    def _as_reading(self, v: VitalsReading) -> Reading:
        assert self.started_at is not None
        return as_reading(v, (v.taken_at - self.started_at).total_seconds() / 60)

    def stopped(self) -> bool:
        """Whether a reading stopped the infusion (it is never restarted this session)."""
        return any(v.judgement in ("stop", "emergency") for v in self.readings())

    def next_due(self) -> datetime | None:
        """When the next set of vitals is due: a recheck, or the protocol interval."""
        if self.started_at is None or self.ended:
            return None
        readings = self.readings()
        last = readings[-1].taken_at if readings else self.started_at
        return last + timedelta(minutes=float(self.interval_minutes()))

    def interval_minutes(self) -> Decimal:
        """Minutes between BP readings: the recheck while paused, else the NIBP interval.

        A patient the checklist flagged (age, known hypertension) gets the shorter of the
        NIBP interval and the flagged-patient interval.
        """
        protocol = engine.protocol()
        readings = self.readings()
        if readings and readings[-1].judgement == "pause":
            return protocol.monitoring.recheck_minutes
        interval = protocol.monitoring.vitals_interval_minutes.nibp_during
        fired = [r.rule_id for c in self.session.of(ChecklistSubmission) for r in c.reasons]
        shorter = bp_interval_minutes(fired, protocol)
        return min(interval, shorter) if shorter is not None else interval

    def rr_rass_due(self) -> datetime | None:
        """When respiratory rate and RASS are next due (their own, longer interval)."""
        if self.started_at is None or self.ended:
            return None
        taken = [v.taken_at for v in self.readings() if v.rass is not None or v.resp_rate_per_min]
        every = engine.protocol().monitoring.vitals_interval_minutes.rr_rass
        return max([self.started_at, *taken]) + timedelta(minutes=float(every))

    def record(self, values: dict[str, Any]) -> tuple[VitalsReading, MonitoringDecision]:
        """Judge a reading at once and save it with the judgement and its reasons."""
        if self.started_at is None:
            raise StepRefused("Start the infusion first.")
        if self.ended:
            raise StepRefused("The infusion has ended: record recovery vitals instead.")
        now = self.session.services.clock.now()
        protocol = engine.protocol()
        vocabulary = engine.vocabulary()
        values = {
            **values,
            "symptoms": [symptom_id(vocabulary, s) for s in values.get("symptoms", [])],
        }
        draft = self.session.new(VitalsReading, phase="during", taken_at=now, **values)
        earlier = [self._as_reading(v) for v in self.readings()]
        current = self._as_reading(draft)
        # How long SpO2 has been low: as entered, or since the first of consecutive low readings.
        low = with_low_spo2_durations([*earlier, current], protocol)[-1].spo2_below_seconds
        decision = evaluate_reading(current, earlier, protocol, self.clock_label())
        reading = draft.model_copy(
            update={
                "judgement": decision.action,
                "reasons": [to_record_reason(r) for r in decision.reasons],
                "spo2_low_seconds": low if low else draft.spo2_low_seconds,
            }
        )
        self.session.save(reading)
        tasks = FollowUps(self.session)
        tasks.complete_actions(DONE_BY_READING, "vitals recorded")
        tasks.start(follow_ups(decision.reasons, protocol))
        if decision.action in ("stop", "emergency"):
            self.end(stopped_early=True, why="; ".join(r.message for r in decision.reasons))
            if decision.action == "emergency":
                self.session.incident(
                    "adverse_event",
                    "critical",
                    "Emergency during the infusion: " + decision.reasons[0].message,
                )
        else:
            due = self.next_due()
            if due is not None:
                tasks.next_vitals(due)
        return reading, decision

    def end(self, stopped_early: bool = False, why: str | None = None) -> DoseAdministration:
        """End the infusion and record the dose given (pro rata when stopped early)."""
        if self.ended:
            raise StepRefused("The infusion has already ended.")
        order, now = self.order, self.session.services.clock.now()
        started = self.started_at or now
        fraction = 1.0
        if stopped_early and order.duration_min:
            minutes = (now - started).total_seconds() / 60
            fraction = max(0.0, min(1.0, minutes / order.duration_min))
        ledger = self.session.services.ledger
        vial = ledger.vial_for_visit(self.session.visit.id)
        if vial is None:
            raise StepRefused("No vial was drawn for this dose: confirm the dose with a vial.")
        admin = self.session.new(
            DoseAdministration,
            order_id=order.id,
            vial_id=vial,
            started_at=started,
            ended_at=now,
            dose_mg=round(order.dose_mg * fraction, 1),
            volume_ml=round(order.draw_ml * fraction, 2),
            stopped_early=stopped_early,
            stop_reason=why[:2000] if why else None,
        )
        self.session.save(admin)
        ledger.administer(self.session, vial, Decimal(str(admin.dose_mg)))
        self.session.set_status("infusion_ended", note="stopped early" if stopped_early else None)
        return admin
