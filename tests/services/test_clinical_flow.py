"""The clinical record, follow-up timers and the weight gate through the services the screens
call, on the real encrypted store with a hand-driven clock; and tasks reaching the board."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from fieldapp.demo.seattle import demo_day
from fieldapp.demo.stack import load_server
from fieldapp.services.approvals import SimulatedClinic
from fieldapp.services.checklist import ChecklistRun
from fieldapp.services.clock import ManualClock
from fieldapp.services.context import AppServices
from fieldapp.services.followups import FollowUps
from fieldapp.services.infusion import Infusion, compute, confirm_dose, prepared
from fieldapp.services.recovery import Recovery
from fieldapp.services.visit import StepRefused, VisitSession
from fieldapp.store.store import Store
from sync.client import SyncClient, enroll
from sync.clinical_record import Allergy, ClinicalRecord
from sync.records import DoseOrder, PatientSummary
from sync.server.config import load_server_settings
from sync.server.main import create_app
from sync.server.migrate import migrate
from sync.server.plans import board
from tests.services.scenario import GOOD_CHECKLIST, GOOD_RECOVERY, GOOD_VITALS, dose_form
from tests.tui.conftest import CHECKER, CHECKER_PIN, CLINICIAN, DAY, PASSPHRASE


@pytest.fixture
def services(store: Store, settings: Any, clock: ManualClock) -> AppServices:
    svc = AppServices(store, settings, clock=clock)
    svc.unlock(PASSPHRASE)
    return svc


def later(services: AppServices, clock: ManualClock, minutes: float) -> None:
    """Time passes with the clinician at work (no idle lock)."""
    end = clock.now() + timedelta(minutes=minutes)
    while clock.now() < end:
        clock.set(min(end, clock.now() + timedelta(minutes=1)))
        services.note_activity()


def visit_with(services: AppServices, **patient: Any) -> VisitSession:
    """The first visit of the day, its patient changed as the clinic's record says."""
    visit = services.store.visits_for_day(DAY)[0]
    summary = services.store.patient(visit.patient_id)
    assert summary is not None
    changed = summary.model_copy(update={**patient, "version": summary.version + 1})
    services.store.put_server_records([PatientSummary.model_validate(changed.model_dump())])
    s = VisitSession.load(services, visit.id)
    s.en_route()
    s.arrive(None, None, attested=True)
    return s


def infusing(services: AppServices, clock: ManualClock, **patient: Any) -> Infusion:
    """Checklist passed, dose confirmed, infusion started."""
    s = visit_with(services, **patient)
    run = ChecklistRun(s)
    run.texts.update(GOOD_CHECKLIST)
    assert run.decide().outcome in ("proceed", "proceed_with_flags")
    run.submit()
    services.ledger.carry("V-1", Decimal(10), Decimal(20), "LOT-FLOW")
    confirm_dose(s, dose_form(), compute(dose_form()), CHECKER, "V-1", CHECKER_PIN)
    infusion = Infusion(s)
    infusion.start()
    return infusion


def test_an_unknown_allergy_holds_and_says_which(services: AppServices) -> None:
    record = ClinicalRecord(allergies=[Allergy(substance="Midazolam", reaction="agitation")])
    s = visit_with(services, record=record)
    run = ChecklistRun(s)
    run.texts.update(GOOD_CHECKLIST)
    decision = run.decide()
    assert decision.outcome == "hold"
    held = [r for r in decision.reasons if r.rule_id == "record_unrecognised"]
    assert held and "Midazolam" in held[0].message and held[0].approvable
    assert [f.entry for f in run.record().findings if f.review] == ["Midazolam"]
    SimulatedClinic().release(run, "Dr. Prescriber", "alternative rescue drug on hand")
    assert run.decide().outcome == "proceed_with_flags"


@pytest.mark.parametrize(
    ("typed", "rule"),
    [
        ("CIRRHOSIS", "hepatic_severe"),
        ("  liver  cirrhosis ", "hepatic_severe"),
        ("Hx of psychosis", "psychosis_history"),
        ("h/o schizophrenia", "psychosis_history"),
        ("Glaucoma, controlled", "pressure_controlled"),
        ("ketamine allergy", "ketamine_hypersensitivity"),
        ("Heart Attack 2026-01", "cardiac_recent_mi"),
    ],
)
def test_a_condition_typed_another_way_is_recognised(
    services: AppServices, typed: str, rule: str
) -> None:
    s = visit_with(services, conditions=[typed])
    run = ChecklistRun(s)
    run.texts.update(GOOD_CHECKLIST)
    fired = {r.rule_id for r in run.decide().reasons}
    assert rule in fired and "record_unrecognised" not in fired


def test_desaturation_sustained_over_the_limit_stops_the_infusion(
    services: AppServices, clock: ManualClock
) -> None:
    infusion = infusing(services, clock)
    later(services, clock, 12)
    _, first = infusion.record({**GOOD_VITALS, "spo2_pct": 91})
    assert first.action == "continue"
    clock.advance(seconds=20)
    _, second = infusion.record({**GOOD_VITALS, "spo2_pct": 90})
    assert second.action == "continue"  # 20 s low: watch
    clock.advance(seconds=15)
    reading, third = infusion.record({**GOOD_VITALS, "spo2_pct": 90})
    assert third.action == "stop" and [r.rule_id for r in third.reasons] == ["spo2_stop"]
    assert reading.spo2_low_seconds == 35 and infusion.ended
    actions = [t.action for t in FollowUps(infusion.session).tasks()]
    assert {"airway_support", "post_stop_recheck"} <= set(actions)


def test_a_stop_without_recovery_escalates_at_the_set_time(
    services: AppServices, clock: ManualClock
) -> None:
    infusion = infusing(services, clock)
    later(services, clock, 10)
    infusion.record({**GOOD_VITALS, "rass": -3})
    s, tasks = infusion.session, FollowUps(infusion.session)
    later(services, clock, 5)
    Recovery(s).record_vitals({"systolic": 130, "diastolic": 80, "spo2": 91, "rass": -2})
    later(services, clock, 9)
    assert tasks.sweep() == []  # 14 min after the stop: not yet
    later(services, clock, 1)
    started = tasks.sweep()  # 15 min (monitoring.after_stop.escalate_after_minutes)
    assert [t.action for t in started] == ["call_911", "notify_supervisor", "notify_prescriber"]
    assert {t.rule_id for t in started} == {"after_stop_escalation"}
    recheck = next(t for t in tasks.tasks() if t.action == "post_stop_recheck")
    assert all(t.escalates == recheck.id for t in started)
    assert tasks.sweep() == []  # once only
    assert "overdue" not in tasks.status(recheck) and "done" in tasks.status(recheck)


def test_recovery_not_cleared_rescores_then_escalates(
    services: AppServices, clock: ManualClock
) -> None:
    infusion = infusing(services, clock)
    later(services, clock, 40)
    infusion.end()
    s, tasks = infusion.session, FollowUps(infusion.session)
    recovery = Recovery(s)
    later(services, clock, 30)
    _, first = recovery.record({**GOOD_RECOVERY, "aldrete": 7})
    assert first.outcome == "not_cleared"
    rescore = next(t for t in tasks.open() if t.action == "rescore_recovery")
    assert rescore.due_at == clock.now() + timedelta(minutes=15)
    later(services, clock, 16)
    tasks.sweep()
    assert "overdue" in tasks.status(rescore)
    later(services, clock, 73)  # 119 min after the end: not yet
    assert tasks.sweep() == []
    later(services, clock, 1)
    assert [t.action for t in tasks.sweep()] == ["notify_prescriber", "notify_supervisor"]


def test_an_interaction_shortens_the_bp_timer(services: AppServices, clock: ManualClock) -> None:
    plain = infusing(services, clock)
    assert plain.interval_minutes() == 10
    later(services, clock, 1)
    # Another day, the same patient now on a pressor (§1.9): BP every 5 minutes.
    pressor = infusing_other(services, clock, medications=["Adderall XR 20 mg daily"])
    assert pressor.interval_minutes() == 5
    started = pressor.started_at
    assert started is not None and pressor.next_due() == started + timedelta(minutes=5)
    due = next(t for t in FollowUps(pressor.session).open() if t.action == "vitals_due")
    assert due.due_at == started + timedelta(minutes=5)
    later(services, clock, 6)
    FollowUps(pressor.session).sweep()
    assert "overdue" in FollowUps(pressor.session).status(due)
    pressor.record(GOOD_VITALS)
    assert "done" in FollowUps(pressor.session).status(due)


def infusing_other(services: AppServices, clock: ManualClock, **patient: Any) -> Infusion:
    """The day's second visit, infusing, its patient changed as given."""
    visit = services.store.visits_for_day(DAY)[1]
    summary = services.store.patient(visit.patient_id)
    assert summary is not None
    services.store.put_server_records(
        [summary.model_copy(update={**patient, "version": summary.version + 1})]
    )
    s = VisitSession.load(services, visit.id)
    s.en_route()
    s.arrive(None, None, attested=True, second_reason="test: two visits on one timeline")
    run = ChecklistRun(s)
    run.texts.update({**GOOD_CHECKLIST, "weight_kg": str(summary.weight_kg)})
    if run.decide().outcome == "hold":
        SimulatedClinic().release(run, "Dr. Prescriber", "reviewed")
    run.submit()
    services.ledger.carry("V-2", Decimal(10), Decimal(20), "LOT-FLOW")
    form = dose_form(weight=str(summary.weight_kg))
    confirm_dose(s, form, compute(form), CHECKER, "V-2", CHECKER_PIN)
    infusion = Infusion(s)
    infusion.start()
    return infusion


def test_a_changed_weight_blocks_the_dose_until_confirmed(services: AppServices) -> None:
    s = visit_with(services)
    run = ChecklistRun(s)
    run.texts.update(GOOD_CHECKLIST)  # 105 kg today, as at the last visit
    run.submit()
    services.ledger.carry("V-1", Decimal(10), Decimal(20), "LOT-FLOW")
    typo = dose_form(weight="150")  # 105 kg typed as 150
    result = compute(prepared(typo, s))
    assert result.outcome == "refused" and "dose_mg" not in result.numbers
    assert {"weight_differs_today", "weight_changed", "weight_unconfirmed"} <= {
        r.rule_id for r in result.reasons
    }
    with pytest.raises(StepRefused, match="Confirm the weight"):
        confirm_dose(s, typo, result, CHECKER, "V-1", CHECKER_PIN)
    assert s.last(DoseOrder) is None
    assert [e.event for e in services.ledger.entries()] == ["receipt", "checkout"]
    confirmed = replace(typo, weight_confirmed=True)
    order = confirm_dose(s, confirmed, compute(prepared(confirmed, s)), CHECKER, "V-1", CHECKER_PIN)
    assert order.weight_confirmed and order.weight_kg == 150


async def test_tasks_for_the_prescriber_reach_the_dispatch_board(
    tmp_path: Path, store: Store, settings: Any, clock: ManualClock
) -> None:
    server = load_server_settings(database_url=f"sqlite:///{tmp_path / 'server.db'}")
    migrate(server.database_url)
    code = load_server(server, demo_day(DAY), CLINICIAN, now=clock.now().timestamp())
    asgi = create_app(server, clock=clock.now)
    services = AppServices(store, settings, clock=clock)
    services.unlock(PASSPHRASE)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi)) as http:
        await enroll("http://127.0.0.1", code, store, http=http, device_name="test laptop")
        infusion = infusing(services, clock)
        later(services, clock, 20)
        infusion.record({**GOOD_VITALS, "systolic_mmhg": 186, "diastolic_mmhg": 104})
        later(services, clock, 5)
        infusion.record({**GOOD_VITALS, "systolic_mmhg": 182, "diastolic_mmhg": 102})
        tasks = FollowUps(infusion.session)
        notify = next(t for t in tasks.tasks() if t.action == "notify_prescriber")
        tasks.complete(notify.id)
        await SyncClient(http, store, settings.sync).sync_once()
    engine = asgi.state.ctx.engine
    try:
        with Session(engine) as session:
            later_on = clock.now() + timedelta(minutes=30)
            day = board(session, DAY, "America/Los_Angeles", later_on)
    finally:
        engine.dispose()
    mine = next(c for c in day.clinicians if c.clinician_id == CLINICIAN)
    shown = {(t.action, t.owner, t.state) for v in mine.visits for t in v.tasks}
    assert shown == {("notify_prescriber", "prescriber", "done")}


def test_an_instruction_without_a_timer_is_never_overdue(
    services: AppServices, clock: ManualClock
) -> None:
    s = visit_with(services)
    run = ChecklistRun(s)
    run.texts.update({**GOOD_CHECKLIST, "urinary_symptoms": "y"})
    SimulatedClinic().release(run, "Dr. Prescriber", "urinalysis ordered")
    run.submit()
    tasks = FollowUps(s)
    (urinalysis,) = [t for t in tasks.tasks() if t.action == "urinalysis"]
    assert urinalysis.due_at is None
    later(services, clock, 240)
    tasks.sweep()
    assert tasks.status(urinalysis) == set() and urinalysis in tasks.open()


def test_the_timers_live_in_the_store_and_survive_a_restart(
    services: AppServices, store: Store, settings: Any, clock: ManualClock
) -> None:
    infusion = infusing(services, clock)
    later(services, clock, 10)
    infusion.record({**GOOD_VITALS, "rass": -3})
    visit_id = infusion.session.visit.id
    store.lock()  # the app is gone; a new one starts on the same store
    later(services, clock, 16)
    again = AppServices(store, settings, clock=clock)
    again.unlock(PASSPHRASE)
    tasks = FollowUps(VisitSession.load(again, visit_id))
    started = tasks.sweep()
    assert {t.rule_id for t in started} == {"after_stop_escalation"}
    recheck = next(t for t in tasks.tasks() if t.action == "post_stop_recheck")
    assert "overdue" in tasks.status(recheck)
