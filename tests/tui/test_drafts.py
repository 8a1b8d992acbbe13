"""Drafts keep the whole form, tick boxes included, across leaving, locking and a restart;
a double-check tick no longer holds once the order changes; the dose screen sees a vial
carried on the ledger as soon as the clinician comes back from it."""

from __future__ import annotations

from typing import Any

from textual.widgets import Checkbox, Static

from fieldapp.services.clock import ManualClock
from fieldapp.settings import Settings
from fieldapp.store.store import Store
from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.dose import DoseScreen
from fieldapp.tui.screens.entry import EntryDialog
from fieldapp.tui.screens.evv import EvvScreen
from fieldapp.tui.screens.ledger import LedgerScreen
from fieldapp.tui.screens.recovery import RecoveryScreen
from fieldapp.tui.screens.step import TICK
from tests.services.scenario import GOOD_CHECKLIST
from tests.tui.conftest import PASSPHRASE
from tests.tui.helpers import fill, settle, unlock
from tests.tui.states import bring_to
from tests.tui.test_visit import SIZE

RECOVERY_TICKS = ("#check-oriented-x3", "#check-gait-steady")


async def reopen(pilot: Any, app: FieldApp, visit_id: Any) -> None:
    """Leave the visit for today's list, then open it again."""
    await pilot.press("escape")
    await settle(pilot)
    app.open_visit(visit_id)
    await settle(pilot)


def ticked(app: FieldApp, selector: str) -> bool:
    """Whether the tick box is ticked on the current screen."""
    return app.screen.query_one(selector, Checkbox).value


async def test_recovery_criteria_come_back_after_leaving_and_a_restart(
    store: Store, settings: Settings, clock: ManualClock
) -> None:
    store.unlock(PASSPHRASE)
    app = FieldApp(store, settings, clock=clock)
    visit_id = bring_to(app, clock, "recovery").visit.id
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_visit(visit_id)
        await settle(pilot)
        for box in RECOVERY_TICKS:
            await pilot.click(box)
        await fill(pilot, {"aldrete": "9"})
        await settle(pilot)
        await reopen(pilot, app, visit_id)
        assert isinstance(app.screen, RecoveryScreen)
        assert all(ticked(app, box) for box in RECOVERY_TICKS)
        assert not ticked(app, "#check-next-day-call")
        assert app.screen.fields()["aldrete"].value == "9"
        await pilot.press("ctrl+q")
    assert app.boundary.caught == []
    again = FieldApp(store, settings, clock=clock)  # the same store, a new app: a restart
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        again.open_visit(visit_id)
        await settle(pilot)
        assert all(ticked(again, box) for box in RECOVERY_TICKS)
    assert again.boundary.caught == []


async def test_the_location_attestation_comes_back(app: FieldApp, clock: ManualClock) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, EvvScreen)
        visit_id = app.screen.session.visit.id
        await pilot.press("space")  # the attestation has the focus
        await settle(pilot)
        key = app.screen.draft_key
        await reopen(pilot, app, visit_id)
        assert ticked(app, "#evv-attest")
        assert app.services.store.load_draft(key) == {
            TICK + "evv-attest": True,
            "second_reason": "",  # asked for only with another visit open
        }


async def test_the_double_check_stays_until_the_order_changes(
    store: Store, settings: Settings, clock: ManualClock
) -> None:
    store.unlock(PASSPHRASE)
    app = FieldApp(store, settings, clock=clock)
    visit_id = bring_to(app, clock, "dose").visit.id
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_visit(visit_id)
        await settle(pilot)
        await fill(
            pilot,
            {"prescriber": "Dr. Test Prescriber", "checker": "c02", "checker_pin": "864209"},
        )
        app.screen.query_one("#double-check", Checkbox).value = True
        await settle(pilot)
        assert "checker_pin" not in app.services.drafts.get(app.screen.draft_key)
        await reopen(pilot, app, visit_id)
        assert isinstance(app.screen, DoseScreen)
        assert ticked(app, "#double-check")
        assert app.screen.texts()["checker_pin"] == ""  # a PIN is never kept in a draft
        await fill(pilot, {"checker": "RN Other"})  # a name: the numbers still hold
        await settle(pilot)
        assert ticked(app, "#double-check")
        await fill(pilot, {"weight_kg": "71"})  # the order changed under the tick
        await settle(pilot)
        assert not ticked(app, "#double-check")
        assert app.services.drafts.get(app.screen.draft_key)[TICK + "double-check"] is False
    assert app.boundary.caught == []


async def test_the_dose_sees_a_vial_carried_on_the_ledger(app: FieldApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("ctrl+r")
        await pilot.click("#evv-attest")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await fill(pilot, GOOD_CHECKLIST)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, DoseScreen)
        assert "No vial carried" in str(app.screen.query_one("#dose-vials", Static).render())
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, LedgerScreen)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, EntryDialog)
        await fill_dialog(pilot, {"vial": "V-LIVE-1", "lot": "LOT-9"})
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DoseScreen)
        assert "V-LIVE-1" in str(app.screen.query_one("#dose-vials", Static).render())
        vial = app.screen.fields()["vial"]
        assert vial.value == "V-LIVE-1" and vial.problem is None


async def fill_dialog(pilot: Any, values: dict[str, str]) -> None:
    """Type into the fields of the entry dialog on top."""
    from fieldapp.tui.widgets.field import Field

    for field in pilot.app.screen.query(Field):
        if field.field_id in values:
            field.value = values[field.field_id]
    await pilot.pause()
