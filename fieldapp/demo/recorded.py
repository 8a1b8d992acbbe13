"""A demo day as a clinician's laptop records it: every visit driven through the services.

`record_day` takes an unlocked store holding the clinician's visits and patients and works
through each visit the way the screens do (check-in, checklist, dose from a carried vial,
infusion with readings, recovery, signed note, check-out), then counts, returns and closes
the day's vials. Every number comes from the protocol engine; nothing is written around
the services. With `short_count_ml`, the first vial counts short at the end of the day: the
ledger opens a discrepancy incident, a supervisor records a decision, then the day closes.

The answers are synthetic: a well patient, measured today, answering the checklist as a
clinician would. A patient the engine holds gets a named prescriber's approval when the
hold is approvable, and is declined otherwise, as on the road. The second checker is a
colleague enrolled on this laptop (`SECOND_CHECKER`) with the one-time code the clinic
issued to them: a clinic the day is pushed to must know them as a clinician
(`fieldapp.demo.stack.load_server` adds them), and it files their key at the laptop's
next sync.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from fieldapp.clinical.dosing import DoseResult
from fieldapp.demo.seattle import SEATTLE
from fieldapp.services.approvals import Answerer, SimulatedClinic
from fieldapp.services.case_visit import EQUIPMENT
from fieldapp.services.checklist import ChecklistRun
from fieldapp.services.clock import ManualClock
from fieldapp.services.context import AppServices
from fieldapp.services.infusion import (
    DoseForm,
    Infusion,
    checklist_weight,
    compute,
    confirm_dose,
    prepared,
)
from fieldapp.services.recovery import Note, Recovery
from fieldapp.services.visit import VisitSession
from sync.records import Visit

VIAL_MG_PER_ML = Decimal(10)
VIAL_ML = Decimal(20)
PRESCRIBER = "Dr. Demo Prescriber"
SECOND_CHECKER = "rn-demo-checker"  # a synthetic colleague, enrolled as a checker here
SECOND_CHECKER_PIN = "246810"
WITNESS = "RN Demo Witness"
SUPERVISOR = "Demo Supervisor"

_EQUIPMENT = (
    "monitor_nibp_spo2_ecg",
    "capnography",
    "aed",
    "oxygen",
    "bag_valve_mask",
    "suction",
    "airway_adjuncts",
    "infusion_pump",
    "midazolam",
    "ondansetron",
    "antihypertensive",
)
_READINGS = (
    {"systolic_mmhg": 132, "diastolic_mmhg": 84, "heart_rate_bpm": 78, "spo2_pct": 98},
    {"systolic_mmhg": 138, "diastolic_mmhg": 86, "heart_rate_bpm": 82, "spo2_pct": 97},
    {"systolic_mmhg": 134, "diastolic_mmhg": 85, "heart_rate_bpm": 80, "spo2_pct": 98},
    {"systolic_mmhg": 128, "diastolic_mmhg": 82, "heart_rate_bpm": 76, "spo2_pct": 98},
)
_RECOVERY = {
    "aldrete": 10,
    "padss": 10,
    "systolic": 126,
    "diastolic": 80,
    "heart_rate": 74,
    "pain_nrs_after": 3,
    "nausea": "none",
    "oriented_x3": True,
    "gait_steady": True,
    "responsible_adult": True,
    "responsible_adult_name": "spouse",
    "written_instructions": True,
    "next_day_call": True,
    "fall_risk_handover": True,
}


@dataclass
class RecordedDay:
    """What the day came to: visits infused, declined, and the vials used."""

    infused: list[str] = field(default_factory=list)
    declined: list[str] = field(default_factory=list)
    vials: list[str] = field(default_factory=list)
    stopped_early: list[str] = field(default_factory=list)


def checklist_answers(session: VisitSession, now: datetime) -> dict[str, str]:
    """A well patient's answers, as typed, with today's measured weight."""
    weight = session.patient.weight_kg or 70
    answers = {
        "bp_first": "128/82",
        "bp_second": "126/80",
        "bp_minutes_apart": "5",
        "heart_rate": "76",
        "spo2": "98",
        "rr": "14",
        "temperature_c": "36.8",
        "weight_kg": f"{weight:g}",
        "weight_measured_on": now.date().isoformat(),
        "chest_pain": "n",
        "severe_headache": "n",
        "neurological_deficit": "n",
        "dyspnoea": "n",
        "record_changed": "n",
        "responsible_adult": "y",
        "hours_since_solids": "8",
        "hours_since_clear_fluids": "3",
        "pdmp_checked": "y",
        "consent_on_file": "y",
        "childbearing_potential": "n",
        "intoxicated": "n",
        "substance_use_24h": "n",
        "urinary_symptoms": "n",
        "respiratory_infection": "n",
        "mania": "n",
        "pain_nrs": "6",
        "acls_expires": (now.date() + timedelta(days=300)).isoformat(),
        "licence_active": "y",
        "prescriber_dea_states": session.visit.address.state,
        # C-SSRS screener, recent: a passive wish only (LOW: proceed, notify the prescriber)
        "cssrs_q1": "y",
        "cssrs_q2": "n",
        "cssrs_q6": "n",
        **{f"phq9_{n}": digit for n, digit in enumerate("101000000", start=1)},
        **{item: "y" for item in EQUIPMENT},
    }
    return answers


def _ready(session: VisitSession, now: datetime, clinic: Answerer) -> bool:
    """Run the checklist; approve an approvable hold; False when the visit cannot go on."""
    run = ChecklistRun(session)
    run.texts.update(checklist_answers(session, now))
    decision = run.decide()
    if decision.outcome == "hold" and all(
        r.outcome != "hold" or getattr(r, "approvable", True) for r in decision.reasons
    ):
        # The recorded day plays the prescriber too: a real signed answer, checked as one
        # from the clinic would be.
        decision = clinic.release(run, clinic.prescriber, "Reviewed history; proceed as planned.")
    run.submit()
    return decision.outcome in ("proceed", "proceed_with_flags")


def _dose_form(session: VisitSession) -> DoseForm:
    """The order as the dose screen takes it: today's checklist weight, and the weights and
    doses the visit knows to compare with (`prepared`, as the screen does)."""
    patient = session.patient
    weight = checklist_weight(session) or Decimal(str(patient.weight_kg or 70))
    form = DoseForm(
        kind="template",
        template="depression",
        weight_kg=weight,
        height_cm=Decimal(str(patient.height_cm or 170)),
        sex=patient.sex if patient.sex in ("female", "male") else "female",
        vial_mg_per_ml=VIAL_MG_PER_ML,
        vial_ml=VIAL_ML,
        bag_ml=Decimal(100),
        prescriber=PRESCRIBER,
    )
    return prepared(form, session)


def _weighed_again(form: DoseForm, result: DoseResult) -> DoseForm:
    """A weight far from the last visit's is confirmed as on the screen: the clinician
    re-weighed the patient today (the checklist's weight) and ticks the box. A weight
    that differs from today's checklist is never confirmed here: the dose stays refused."""
    reasons = {r.rule_id for r in result.reasons}
    if "weight_unconfirmed" in reasons and reasons.isdisjoint({"weight_differs_today"}):
        return replace(form, weight_confirmed=True)
    return form


def _vial_with(services: AppServices, mg: Decimal, day: RecordedDay, on: datetime) -> str:
    """A carried vial holding `mg`, carrying a new one when none does (named by the
    clinician and the day, as a label would be: unique across the clinic)."""
    for vial in services.ledger.carried():
        if vial.in_vial_ml * vial.mg_per_ml >= mg:
            return vial.vial
    name = f"{services.user.upper()}-{on:%Y%m%d}-{len(day.vials) + 1:02d}"
    services.ledger.carry(name, VIAL_MG_PER_ML, VIAL_ML, f"LOT-{on:%y%m}")
    day.vials.append(name)
    return name


def _walk(services: AppServices, clock: ManualClock, minutes: int) -> None:
    for _ in range(minutes):
        clock.advance(minutes=1)
        services.note_activity()


def record_visit(
    services: AppServices,
    clock: ManualClock,
    visit: Visit,
    day: RecordedDay,
    stop_early: bool,
    clinic: Answerer,
) -> None:
    """One visit from check-in to check-out, through the services; `clinic` answers the
    prescriber's requests."""
    clock.set(max(clock.now(), (visit.eta or visit.window_start).astimezone(SEATTLE)))
    session = VisitSession.load(services, visit.id)
    session.en_route()
    _walk(services, clock, 10)
    session.arrive(visit.address.lat, visit.address.lon, attested=False)
    if not _ready(session, clock.now(), clinic):
        session.decline("Readiness checklist did not clear; prescriber informed.")
        day.declined.append(str(visit.id))
        _walk(services, clock, 5)
        session.check_out(visit.address.lat, visit.address.lon, attested=False)
        return
    form = _dose_form(session)
    form = _weighed_again(form, compute(form))
    result = compute(form)
    vial = _vial_with(services, Decimal(str(result.numbers["dose_mg"])), day, clock.now())
    confirm_dose(session, form, result, SECOND_CHECKER, vial, SECOND_CHECKER_PIN)
    infusion = Infusion(session)
    infusion.start()
    for reading in _READINGS[: 2 if stop_early else 4]:
        _walk(services, clock, 10)
        infusion.record({**reading, "resp_rate_per_min": 14, "rass": 0})
    if stop_early:
        admin = infusion.end(stopped_early=True, why="Patient asked to stop: nausea.")
        order = infusion.order
        left = Decimal(str(order.dose_mg)) - Decimal(str(admin.dose_mg))
        services.ledger.waste(
            vial, (left / VIAL_MG_PER_ML).quantize(Decimal("0.0001")), WITNESS, True
        )
        day.stopped_early.append(str(visit.id))
    else:
        infusion.end()
    _walk(services, clock, 60)
    Recovery(session).record(dict(_RECOVERY))
    note = Note(session)
    note.sign(note.draft())
    if stop_early:
        note.amend("Next-day call: nausea settled overnight.")
    session.check_out(visit.address.lat, visit.address.lon, attested=False)
    day.infused.append(str(visit.id))


def record_day(
    services: AppServices,
    clock: ManualClock,
    visits: list[Visit],
    short_count_ml: Decimal | None = None,
    significant_loss: bool = False,
    clinic: Answerer | None = None,
) -> RecordedDay:
    """Every visit of the day, then each vial counted, returned and the day closed.

    `clinic` plays the prescriber and the supervisor: the demo server's own
    (`fieldapp.demo.clinic.DemoClinic`) when the day is pushed there, or one made up on the
    spot (`SimulatedClinic`) when it never leaves this store."""
    clinic = clinic or SimulatedClinic(PRESCRIBER, SUPERVISOR)
    day = RecordedDay()
    if SECOND_CHECKER not in services.store.checkers():
        code = clinic.checker_code(SECOND_CHECKER)  # they type the code issued to them
        services.store.enrol_checker(SECOND_CHECKER, SECOND_CHECKER_PIN, code)
    for index, visit in enumerate(visits):
        record_visit(services, clock, visit, day, index == 1, clinic)
    _walk(services, clock, 30)
    ledger = services.ledger
    for vial in ledger.carried():
        measured = vial.in_vial_ml
        if short_count_ml is not None and vial.vial == day.vials[0]:
            measured -= short_count_ml
        ledger.count(vial.vial, measured)
    if short_count_ml is not None and day.vials:
        # The recorded day plays the supervisor too: a real signed ruling.
        clinic.rule(
            ledger,
            day.vials[0],
            clinic.supervisor,
            "Recount confirms the short volume; spill at the base sink suspected, not theft."
            if not significant_loss
            else "Recount confirms the short volume; no explanation found: reported as a loss.",
            significant_loss,
            clock.now(),
        )
    for vial in ledger.vials():
        if vial.carried:
            ledger.give_back(vial.vial)
    ledger.close_day()
    return day
