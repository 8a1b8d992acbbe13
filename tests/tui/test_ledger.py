"""The controlled-substance screen: carry, count, a discrepancy, and a day that will not close."""

from __future__ import annotations

from textual.widgets import DataTable, Static

from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.entry import EntryDialog
from fieldapp.tui.screens.ledger import LedgerScreen
from sync.records import DayClosure, Incident, SubstanceEvent
from tests.tui.helpers import settle, unlock

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
        await type_into(pilot, {"ml": "1", "witness": "RN Witness", "licensed": "yes"})
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
        await pilot.press("ctrl+d")
        await settle(pilot)
        assert app.services.ledger.day().may_close
        assert "DAY RECONCILES" in str(app.screen.query_one("#ledger-reasons", Static).render())
        closes = [r for r in app.services.store.load_all() if isinstance(r, DayClosure)]
        assert [[v.vial_id for v in c.vials] for c in closes] == [["V-8"]]
