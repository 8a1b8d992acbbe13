"""Pilot tests of the clinical safety screens: the record's entries on the checklist, the
weight confirmed before a dose, a sustained desaturation stopping the infusion with orders
that stay, and an escalation shown when a stopped patient does not recover."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import Button, Checkbox, Static

from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.checklist import ChecklistScreen
from fieldapp.tui.screens.dose import DoseScreen
from fieldapp.tui.screens.monitor import MonitorScreen
from fieldapp.tui.screens.orders import OrdersScreen
from fieldapp.tui.screens.recovery import RecoveryScreen
from sync.records import DoseOrder, TaskUpdate
from tests.services.scenario import GOOD_CHECKLIST
from tests.tui.conftest import CHECKER, CHECKER_PIN
from tests.tui.helpers import carry_vial, fill, later, rendered_text, settle
from tests.tui.test_visit import GOOD_VITALS, SIZE, session, to_checklist, to_monitor


def text_of(app: FieldApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def acknowledge_all(pilot, orders: OrdersScreen) -> None:  # type: ignore[no-untyped-def]
    for n in range(len(orders.tasks)):
        await pilot.click(f"#order-button-{n}")
        await settle(pilot)
    await pilot.click("#orders-continue")
    await settle(pilot)


async def test_an_unknown_record_entry_is_shown_and_holds(app: FieldApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"correct horse battery", "enter")
        await settle(pilot)
        store = app.services.store
        for visit in store.visits_for_day(app.services.clock.now().date()):
            summary = store.patient(visit.patient_id)
            assert summary is not None
            update = {"allergies": ["Midazolam"], "version": summary.version + 1}
            store.put_server_records([summary.model_copy(update=update)])
        carry_vial(app)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("ctrl+r")
        await pilot.click("#evv-attest")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ChecklistScreen)
        await fill(pilot, GOOD_CHECKLIST)
        assert "HOLD" in text_of(app, "#decision-banner")
        findings = text_of(app, "#record-findings")
        assert "? allergy 'Midazolam'" in findings and "not in the vocabulary" in findings
        assert "· medication" in findings  # the known entries are listed too
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ChecklistScreen)  # the hold keeps the visit here


async def test_a_changed_weight_is_confirmed_before_any_dose_shows(app: FieldApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await to_checklist(pilot)
        await fill(pilot, GOOD_CHECKLIST)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, DoseScreen)
        await fill(
            pilot,
            {
                "weight_kg": "150",
                "prescriber": "Dr. Test Prescriber",
                "checker": CHECKER,
                "checker_pin": CHECKER_PIN,
            },
        )
        app.screen.query_one("#double-check", Checkbox).value = True
        assert "CONFIRM THE WEIGHT" in text_of(app, "#dose-outcome")
        assert "Dose" not in text_of(app, "#dose-steps")
        assert app.screen.query_one("#confirm", Button).disabled
        confirm = app.screen.query_one("#weight-confirm", Checkbox)
        assert confirm.display
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, DoseScreen) and session(app).last(DoseOrder) is None
        confirm.value = True
        await settle(pilot)
        assert "Dose" in text_of(app, "#dose-steps")
        await pilot.press("ctrl+s")
        await settle(pilot)
        order = session(app).last(DoseOrder)
        assert order is not None, rendered_text(app)
        assert order.weight_confirmed and order.weight_kg == 150


async def test_sustained_desaturation_stops_the_infusion_and_the_orders_stay(
    app: FieldApp, clock
) -> None:  # type: ignore[no-untyped-def]
    async with app.run_test(size=SIZE) as pilot:
        await to_monitor(pilot)
        later(app, clock, 12)
        await fill(pilot, {**GOOD_VITALS, "spo2_pct": "91"})
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, MonitorScreen)
        clock.advance(seconds=40)
        await fill(pilot, {**GOOD_VITALS, "spo2_pct": "90"})
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.pause(0.2)
        orders = app.screen
        assert isinstance(orders, OrdersScreen)
        assert "STOP" in text_of(app, "#orders-headline")
        assert "for 40 s" in text_of(app, "#orders-instructions")
        assert [t.action for t in orders.tasks] == ["airway_support", "post_stop_recheck"]
        await acknowledge_all(pilot, orders)
        assert isinstance(app.screen, RecoveryScreen)
        s = session(app)
        assert {u.status for u in s.of(TaskUpdate)} >= {"done", "acknowledged"}


async def test_no_recovery_after_a_stop_escalates_on_screen_at_the_set_time(
    app: FieldApp, clock
) -> None:  # type: ignore[no-untyped-def]
    async with app.run_test(size=SIZE) as pilot:
        await to_monitor(pilot)
        later(app, clock, 10)
        await fill(pilot, {**GOOD_VITALS, "rass": "-3"})
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.pause(0.2)
        assert isinstance(app.screen, OrdersScreen)
        await acknowledge_all(pilot, app.screen)
        assert isinstance(app.screen, RecoveryScreen)
        s = session(app)
        stopped = s.status_at("infusion_ended")
        assert stopped is not None
        later(app, clock, 14)
        await pilot.pause(1.3)  # the screen looks at its timers every second
        assert isinstance(app.screen, RecoveryScreen)
        later(app, clock, 1)
        assert clock.now() >= stopped + timedelta(minutes=15)
        await pilot.pause(1.3)
        assert isinstance(app.screen, OrdersScreen)
        assert "ESCALATION" in text_of(app, "#orders-headline")
        assert [t.action for t in app.screen.tasks] == [
            "call_911",
            "notify_supervisor",
            "notify_prescriber",
        ]
        await pilot.press("f7")  # leaving is not possible until each is acknowledged
        await settle(pilot)
        assert isinstance(app.screen, OrdersScreen)
        await acknowledge_all(pilot, app.screen)
        await pilot.press("f7")
        await settle(pilot)
        assert isinstance(app.screen, OrdersScreen) and not app.screen.must_acknowledge
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RecoveryScreen)


async def test_an_emergency_at_the_checklist_leads_to_check_out_after_its_orders(
    app: FieldApp,
) -> None:
    """Chest pain before the start: the visit is declined, the orders stay until each is
    acknowledged, and then check-out (the clinician is still in the home, timer running)."""
    from fieldapp.tui.screens.evv import EvvScreen

    async with app.run_test(size=SIZE) as pilot:
        await to_checklist(pilot)
        await fill(pilot, {**GOOD_CHECKLIST, "chest_pain": "y"})
        assert "EMERGENCY" in text_of(app, "#decision-banner").upper()
        await pilot.click("#decline")
        await settle(pilot)
        assert isinstance(app.screen, OrdersScreen)
        await acknowledge_all(pilot, app.screen)
        assert isinstance(app.screen, EvvScreen) and app.screen.checkout
        assert app.services.lone_worker.visit_id == session(app).visit.id


async def test_the_orders_are_acknowledged_with_enter_alone(app: FieldApp) -> None:
    """Mid-emergency, keys only: the focus starts on the first order, moves to the next
    after each Enter, then to Continue (it sat on the list, and was lost after a press)."""
    from fieldapp.tui.screens.evv import EvvScreen

    async with app.run_test(size=SIZE) as pilot:
        await to_checklist(pilot)
        await fill(pilot, {**GOOD_CHECKLIST, "chest_pain": "y"})
        await pilot.press("ctrl+d")
        await settle(pilot)
        orders = app.screen
        assert isinstance(orders, OrdersScreen) and len(orders.tasks) >= 2
        for n in range(len(orders.tasks)):
            assert app.focused is orders.query_one(f"#order-button-{n}")
            await pilot.press("enter")
            await settle(pilot)
        assert app.focused is orders.query_one("#orders-continue")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, EvvScreen) and app.screen.checkout
