"""A whole visit through the services, against the real store and the clinical engine."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from fieldapp.demo.seattle import SEATTLE
from fieldapp.services.checklist import ChecklistRun
from fieldapp.services.context import AppServices
from fieldapp.services.infusion import Infusion, compute, confirm_dose
from fieldapp.services.recovery import Note, Recovery
from fieldapp.services.visit import StepRefused, VisitSession
from sync.records import Visit
from tests.services.scenario import GOOD_CHECKLIST, GOOD_RECOVERY, GOOD_VITALS, dose_form
from tests.tui.conftest import CHECKER, CHECKER_PIN, DAY, PASSPHRASE


@pytest.fixture
def services(store, settings, clock) -> AppServices:  # type: ignore[no-untyped-def]
    svc = AppServices(store, settings, clock=clock)
    svc.unlock(PASSPHRASE)
    return svc


def later(services: AppServices, clock, minutes: int) -> None:  # type: ignore[no-untyped-def]
    """Time passes in small active steps (the clinician keeps using the app)."""
    for _ in range(minutes):
        clock.advance(minutes=1)
        services.note_activity()


def first_visit(services: AppServices) -> VisitSession:
    visit: Visit = services.store.visits_for_day(DAY)[0]
    return VisitSession.load(services, visit.id)


def test_whole_visit_records_every_step(services: AppServices, clock) -> None:  # type: ignore[no-untyped-def]
    s = first_visit(services)
    assert s.step == "checkin"
    s.en_route()
    with pytest.raises(StepRefused):
        s.arrive(None, None, attested=False)
    s.arrive(None, None, attested=True)
    assert s.step == "checklist"
    run = ChecklistRun(s)
    run.texts.update(GOOD_CHECKLIST)
    decision = run.decide()
    assert decision.outcome in ("proceed", "proceed_with_flags"), [
        r.message for r in decision.reasons if r.outcome not in ("proceed", "proceed_with_flags")
    ]
    run.submit()
    assert s.step == "dose"
    form = dose_form()
    result = compute(form)
    assert result.outcome != "refused"
    with pytest.raises(StepRefused):
        confirm_dose(s, form, result, "", "V-001")
    services.ledger.carry("V-001", Decimal(10), Decimal(20), "LOT-TEST")
    confirm_dose(s, form, result, CHECKER, "V-001", CHECKER_PIN)
    assert s.step == "monitor"
    infusion = Infusion(s)
    infusion.start()
    later(services, clock, 10)
    _, judged = infusion.record(GOOD_VITALS)
    assert judged.action == "continue"
    later(services, clock, 30)
    infusion.end()
    assert s.step == "recovery"
    later(services, clock, 60)
    _, rec = Recovery(s).record(GOOD_RECOVERY)
    assert rec.outcome == "cleared", rec.missing
    assert s.step == "note"
    note = Note(s)
    note.sign(note.draft())
    assert s.step == "checkout"
    s.check_out(47.6, -122.3, attested=False)
    assert s.step == "done"
    reloaded = VisitSession.load(services, s.visit.id)
    assert reloaded.step == "done"
    day = services.ledger.day()
    numbers = day.vials["V-001"].numbers
    assert numbers["drawn_mg"] == numbers["administered_mg"] > 0
    kinds = [r.KIND for r in reloaded.records]
    for kind in ("status", "checklist", "dose_order", "vitals", "dose_admin", "recovery", "note"):
        assert kind in kinds
    assert clock.now().tzinfo == SEATTLE


def _infuse(services: AppServices, clock, s: VisitSession) -> None:  # type: ignore[no-untyped-def]
    """Check in, pass the checklist, give the dose, run and end the infusion."""
    s.en_route()
    s.arrive(None, None, attested=True)
    run = ChecklistRun(s)
    run.texts.update(GOOD_CHECKLIST)
    run.submit()
    form = dose_form()
    services.ledger.carry("V-001", Decimal(10), Decimal(20), "LOT-TEST")
    confirm_dose(s, form, compute(form), CHECKER, "V-001", CHECKER_PIN)
    infusion = Infusion(s)
    infusion.start()
    later(services, clock, 40)
    infusion.end()


@pytest.mark.parametrize(("hours_later", "held"), [(20, True), (26, False)])
def test_an_infusion_given_on_this_laptop_counts_for_the_minimum_interval(
    services: AppServices,
    clock,  # type: ignore[no-untyped-def]
    hours_later: int,
    held: bool,
) -> None:
    first = first_visit(services)
    _infuse(services, clock, first)
    # The clinic's summary does not know about this infusion yet: only the laptop does.
    next_visit = first.visit.model_copy(
        update={
            "id": uuid.uuid4(),
            "scheduled_on": first.visit.scheduled_on + timedelta(days=1),
            "window_start": first.visit.window_start + timedelta(hours=hours_later),
            "window_end": first.visit.window_end + timedelta(hours=hours_later),
        }
    )
    services.store.put_server_records([next_visit])
    clock.advance(hours=hours_later - 1)
    services.unlock(PASSPHRASE)  # the 12-hour re-entry asks for the passphrase again
    s = VisitSession.load(services, next_visit.id)
    s.en_route()
    s.arrive(None, None, attested=True)
    run = ChecklistRun(s)
    run.texts.update(GOOD_CHECKLIST)
    rules = {r.rule_id for r in run.decide().reasons}
    assert ("interval_too_short" in rules) is held
