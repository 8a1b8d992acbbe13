"""The controlled-substance screen: carry, count, a discrepancy, and a day that will not close."""

from __future__ import annotations

from decimal import Decimal

from textual.widgets import DataTable, Static

from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.confirm import ConfirmDialog
from fieldapp.tui.screens.entry import EntryDialog
from fieldapp.tui.screens.ledger import LedgerScreen
from sync.records import DayClosure, Incident, SubstanceEvent
from tests.tui.helpers import rendered_text, settle, unlock

SIZE = (100, 32)


async def type_into(pilot, values: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Fill the open entry dialog's fields and save it."""
    dialog = pilot.app.screen
    assert isinstance(dialog, EntryDialog)
    fields = {f.field_id: f for f in dialog.query("Field")}
    for key, text in values.items():
        fields[key].value = text
    await pilot.pause()
    await pilot.press("ctrl+s")
    await settle(pilot)


async def test_a_ledger_day_that_will_not_close(app: FieldApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, LedgerScreen)
        await pilot.press("c")
        await settle(pilot)
        await type_into(pilot, {"vial": "V-7", "strength": "10", "fill": "20", "lot": "L9"})
        screen = app.screen
        assert isinstance(screen, LedgerScreen)
        assert [v.vial for v in screen.vials] == ["V-7"]
        assert screen.query_one("#ledger-vials", DataTable).row_count == 1

        # Still carried and never counted: closing is refused, with the engine's reasons.
        await pilot.press("ctrl+d")
        await settle(pilot)
        reasons = str(screen.query_one("#ledger-reasons", Static).render())
        assert "still checked out" in reasons
        assert not app.services.ledger.day().may_close

        # Counted 4 mL short of the 20 mL it should hold: a discrepancy and an incident.
        await pilot.press("n")
        await settle(pilot)
        await type_into(pilot, {"ml": "16"})
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        await pilot.press("ctrl+d")
        await settle(pilot)
        assert screen.vials[0].status == "discrepancy" and screen.vials[0].locked
        assert "short" in str(screen.query_one("#ledger-reasons", Static).render())
        assert not app.services.ledger.day().may_close
        records = app.services.store.load_all()
        incidents = [r for r in records if isinstance(r, Incident)]
        assert [(i.category, i.vial_id) for i in incidents] == [("ledger_discrepancy", "V-7")]
        kinds = [r.event for r in records if isinstance(r, SubstanceEvent)]
        assert kinds == ["receipt", "checkout", "count", "return"]

        # A locked vial takes no more waste.
        await pilot.press("w")
        await settle(pilot)
        await type_into(pilot, {"mg": "10", "witness": "RN Witness", "licensed": "yes"})
        assert [r.event for r in app.services.ledger.entries()][-1] == "return"


async def test_a_day_reconciles_once_counted_and_returned(app: FieldApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        await type_into(pilot, {"vial": "V-8", "strength": "10", "fill": "20"})
        await pilot.press("n")
        await settle(pilot)
        await type_into(pilot, {"ml": "20"})
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        await pilot.press("ctrl+d")
        await settle(pilot)
        assert app.services.ledger.day().may_close
        assert "DAY RECONCILES" in str(app.screen.query_one("#ledger-reasons", Static).render())
        closes = [r for r in app.services.store.load_all() if isinstance(r, DayClosure)]
        assert [[v.vial_id for v in c.vials] for c in closes] == [["V-8"]]


async def to_ledger_with_vial(pilot, app: FieldApp) -> LedgerScreen:  # type: ignore[no-untyped-def]
    """Unlocked, on the ledger, with a 10 mg/mL, 20 mL vial carried."""
    await unlock(pilot)
    app.services.ledger.carry("V-9", Decimal(10), Decimal(20), "L9")
    await pilot.press("f3")
    await settle(pilot)
    assert isinstance(app.screen, LedgerScreen)
    return app.screen


def wastes(app: FieldApp) -> list[SubstanceEvent]:
    return [e for e in app.services.ledger.entries() if e.event == "waste"]


async def test_waste_is_typed_in_mg_with_the_ml_beside_it(app: FieldApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        ledger = await to_ledger_with_vial(pilot, app)
        await pilot.press("w")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, EntryDialog)
        fields = {f.field_id: f for f in dialog.query("Field")}
        assert fields["vial"].value == "V-9"  # the vial under the cursor
        assert "mg" in fields["mg"].label and "mL" not in fields["mg"].label
        derived = dialog.query_one("#entry-derived", Static)

        # Wrong input: three decimals, then not a number; nothing is recorded.
        fields["mg"].value = "2.555"
        await pilot.pause()
        assert "10 mg/mL, 200 mg left" in str(derived.render())
        fields["witness"].value = "RN Witness"
        fields["licensed"].value = "yes"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dialog
        assert "more than two decimals" in str(dialog.query_one("#entry-problem", Static).render())
        fields["mg"].value = "twelve"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dialog and wastes(app) == []

        fields["mg"].value = "25.5"
        await pilot.pause()
        assert "= 2.55 mL at 10 mg/mL (vial V-9)" in str(derived.render())
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is ledger
        [entry] = wastes(app)
        assert (entry.mg, entry.ml) == (25.5, 2.55)
        message = str(ledger.query_one("#ledger-message", Static).render())
        assert "Wasted 25.5 mg (2.55 mL) from vial V-9" in message
        [vial] = ledger.vials
        assert vial.in_vial_mg == Decimal("174.50")
        row = ledger.query_one("#ledger-vials", DataTable).get_row_at(0)
        assert [str(c) for c in row[:3]] == ["V-9", "174.5", "17.45"]


async def test_a_refused_waste_keeps_the_form_and_what_was_typed(app: FieldApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        ledger = await to_ledger_with_vial(pilot, app)
        await pilot.press("w")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, EntryDialog)
        typed = {"mg": "12", "witness": "A neighbour", "licensed": "no"}
        fields = {f.field_id: f for f in dialog.query("Field")}
        for key, text in typed.items():
            fields[key].value = text
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot)
        # The protocol wants a licensed witness: refused, said in the form, nothing lost.
        assert app.screen is dialog
        problem = str(dialog.query_one("#entry-problem", Static).render())
        assert "licensed witness" in problem
        assert {k: fields[k].value for k in typed} == typed
        assert fields["vial"].value == "V-9"
        assert wastes(app) == []

        fields["witness"].value = "RN Witness"
        fields["licensed"].value = "yes"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is ledger
        [entry] = wastes(app)
        assert entry.mg == 12 and entry.witness == "RN Witness" and entry.witness_licensed


async def test_a_return_asks_first_and_says_what_it_did(app: FieldApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        ledger = await to_ledger_with_vial(pilot, app)
        app.notify("An older notice that must not hide the return's.", timeout=60)
        await pilot.press("t")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert "200 mg (20.00 mL)" in dialog.question
        assert dialog.query_one("#confirm-no-button").has_focus  # Enter declines
        await pilot.press("n")
        await settle(pilot)
        assert app.screen is ledger
        assert app.services.ledger.vial("V-9").carried
        assert "not returned" in str(ledger.query_one("#ledger-message", Static).render())

        await pilot.press("t")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert app.services.ledger.vial("V-9").carried

        await pilot.press("t")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert not app.services.ledger.vial("V-9").carried
        assert [e.event for e in app.services.ledger.entries()][-1] == "return"
        message = str(ledger.query_one("#ledger-message", Static).render())
        assert message == "Vial V-9 returned to the base at 08:30."
        assert message in rendered_text(app)

        # Nothing left to return: said at once, no question.
        await pilot.press("t")
        await settle(pilot)
        assert app.screen is ledger
        assert "not carried" in str(ledger.query_one("#ledger-message", Static).render())
