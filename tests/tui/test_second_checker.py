"""The dose screen's second check: the checker types their own PIN; a wrong one signs and
saves nothing and is cleared; the right one signs the order and the visit goes on."""

from __future__ import annotations

from textual.widgets import Checkbox

from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.dose import DoseScreen
from fieldapp.tui.screens.monitor import MonitorScreen
from sync.records import DoseOrder
from tests.services.scenario import GOOD_CHECKLIST
from tests.tui.conftest import CHECKER, CHECKER_PIN
from tests.tui.helpers import fill, settle
from tests.tui.test_visit import SIZE, session, to_checklist


async def test_a_wrong_pin_does_not_sign_the_dose(app: FieldApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await to_checklist(pilot)
        await fill(pilot, GOOD_CHECKLIST)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, DoseScreen)
        await fill(
            pilot,
            {"prescriber": "Dr. Test Prescriber", "checker": CHECKER, "checker_pin": "999999"},
        )
        app.screen.query_one("#double-check", Checkbox).value = True
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, DoseScreen)
        assert session(app).last(DoseOrder) is None
        assert app.screen.texts()["checker_pin"] == ""  # a PIN that did not sign is cleared
        await fill(pilot, {"checker_pin": CHECKER_PIN})
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, MonitorScreen)
        order = session(app).last(DoseOrder)
        assert order is not None and order.checker_signature is not None
        assert order.checker_signature.checker == CHECKER
