"""Visits brought to a given step through the services, for snapshots and screenshots.

Everything here is synthetic and driven by the hand clock, so a screen drawn from one of
these states is the same on every run.
"""

from __future__ import annotations

from decimal import Decimal

from fieldapp.services.checklist import ChecklistRun
from fieldapp.services.clock import ManualClock
from fieldapp.services.infusion import Infusion, compute, confirm_dose
from fieldapp.services.recovery import Recovery
from fieldapp.services.visit import VisitSession
from fieldapp.tui.app import FieldApp
from tests.services.scenario import GOOD_CHECKLIST, GOOD_RECOVERY, GOOD_VITALS, dose_form
from tests.tui.conftest import CHECKER, CHECKER_PIN, DAY
from tests.tui.helpers import later

STEPS = ("checkin", "checklist", "dose", "monitor", "recovery", "note")


def first_visit(app: FieldApp) -> VisitSession:
    """The first visit of the demo day, loaded fresh."""
    visit = app.services.store.visits_for_day(DAY)[0]
    return VisitSession.load(app.services, visit.id)


def bring_to(app: FieldApp, clock: ManualClock, step: str) -> VisitSession:
    """Record the first visit up to (not including) `step`; the draft of `step` is filled."""
    services = app.services
    services.unlocked_at = clock.now()
    services.ledger.carry("V-0310-A", Decimal(10), Decimal(20), "LOT-2291")
    s = first_visit(app)
    if step == "checkin":
        return s
    s.en_route()
    later(app, clock, 20)
    s.arrive(None, None, attested=True)
    if step == "checklist":
        services.drafts.put(s.draft_key("checklist"), dict(GOOD_CHECKLIST))
        return s
    run = ChecklistRun(s)
    run.texts.update(GOOD_CHECKLIST)
    run.submit()
    if step == "dose":
        return s
    form = dose_form()
    confirm_dose(s, form, compute(form), CHECKER, "V-0310-A", CHECKER_PIN)
    later(app, clock, 5)
    infusion = Infusion(s)
    infusion.start()
    for minutes, systolic, diastolic, hr in (
        (10, 134, 84, 80),
        (10, 146, 90, 86),
        (10, 152, 94, 88),
    ):
        later(app, clock, minutes)
        infusion.record(
            {
                **GOOD_VITALS,
                "systolic_mmhg": systolic,
                "diastolic_mmhg": diastolic,
                "heart_rate_bpm": hr,
                "cadss_total": 12,
            }
        )
    later(app, clock, 4)
    if step == "monitor":
        return s
    later(app, clock, 6)
    infusion.end()
    later(app, clock, 35)
    if step == "recovery":
        return s
    Recovery(s).record(GOOD_RECOVERY)
    return s
