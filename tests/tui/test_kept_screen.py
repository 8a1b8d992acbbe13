"""The check-in screen is built once and refilled for each visit opened: nothing of the
visit shown before stays on it, each visit's own draft comes back, and an error in it
means a new one."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Checkbox, Static

from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.evv import EvvScreen
from fieldapp.tui.screens.step import TICK
from tests.tui.helpers import discard_the_failing_draft, rendered_text, settle, unlock
from tests.tui.test_visit import SIZE


async def open_row(pilot: Pilot[object], app: FieldApp, row: int) -> EvvScreen:
    """Back to today's list, the cursor to `row`, Enter: the check-in screen."""
    app.action_today()
    await settle(pilot)
    table = app.screen.query_one("#visits")
    table.move_cursor(row=row)  # type: ignore[attr-defined]
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(app.screen, EvvScreen)
    return app.screen


def en_route_offered(screen: EvvScreen) -> bool:
    return screen.query_one("#en-route", Button).display


async def test_a_second_visit_shows_only_its_own_details(app: FieldApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        first = await open_row(pilot, app, 0)
        a = first.session
        await pilot.press("ctrl+r", "space")  # en route, and the attestation ticked
        await settle(pilot)
        assert not en_route_offered(first)

        second = await open_row(pilot, app, 1)
        b = second.session
        assert second is first  # the same screen, refilled
        assert b.visit.id != a.visit.id and b.patient.display_name != a.patient.display_name
        shown = rendered_text(app)
        assert b.patient.display_name in shown and b.visit.address.street in shown
        assert a.patient.display_name not in shown and a.visit.address.street not in shown
        banner = str(second.query_one("#visit-banner", Static).render())
        assert b.patient.display_name in banner
        assert not second.query_one("#evv-attest", Checkbox).value  # not the first's tick
        assert second.query_one("#evv-attest", Checkbox).has_focus
        assert en_route_offered(second)  # the second visit is not en route

        again = await open_row(pilot, app, 0)
        assert again.session.visit.id == a.visit.id
        assert again.query_one("#evv-attest", Checkbox).value  # its own draft back
        assert not en_route_offered(again)
        await pilot.press("ctrl+s")  # checks in the first visit, from the refilled screen
        await settle(pilot)
        assert not isinstance(app.screen, EvvScreen)
        assert app.services.store.load_draft(again.draft_key) is None
    assert app.boundary.caught == []


async def test_an_error_in_the_kept_screen_means_a_new_one(app: FieldApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        first = await open_row(pilot, app, 0)
        app.boundary.reopen_step(first, None)  # what the error boundary does after an error
        await settle(pilot)
        assert isinstance(app.screen, EvvScreen) and app.screen is not first
        assert app.kept_check_in.screen is None
        later = await open_row(pilot, app, 1)
        assert later is not first and later.session.visit.id != first.session.visit.id
        assert app.kept_check_in.screen is later  # the next one is kept in turn


async def test_a_draft_that_fails_to_come_back_can_still_be_discarded(
    app: FieldApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kept screen cannot take the second visit's draft: a new screen meets the same
    # error as it opens, and the error boundary offers the draft for discarding.
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot)
        kept = await open_row(pilot, app, 0)
        second = await open_row(pilot, app, 1)
        assert second is kept
        await pilot.press("space")
        await settle(pilot)
        key = second.draft_key
        app.services.drafts.flush()
        real = EvvScreen.restore_draft

        def restore_draft(self: Any) -> Any:
            draft = real(self)
            if draft.get(TICK + "evv-attest"):
                raise ValueError("a draft this build cannot read")
            return draft

        monkeypatch.setattr(EvvScreen, "restore_draft", restore_draft)
        await open_row(pilot, app, 0)  # the first visit's draft holds no tick: refilled
        app.action_today()
        await settle(pilot)
        app.screen.query_one("#visits").move_cursor(row=1)  # type: ignore[attr-defined]
        await discard_the_failing_draft(pilot)
        assert isinstance(app.screen, EvvScreen) and app.screen is not kept
        assert app.services.drafts.get(key) is None
        assert not app.screen.query_one("#evv-attest", Checkbox).value
