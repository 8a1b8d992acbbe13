"""Moving to a field below the fold scrolls the form there at once: no animation, whose
every frame would lay the whole form out again while the clinician types."""

from __future__ import annotations

from fieldapp.tui.app import FieldApp
from fieldapp.tui.widgets.field import FormScroll
from tests.tui.helpers import settle
from tests.tui.test_visit import to_checklist


async def test_tab_to_a_field_below_the_fold_scrolls_at_once(app: FieldApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await to_checklist(pilot)
        form = app.screen.query_one("#checklist-form", FormScroll)
        last = list(app.screen.fields().values())[-1]  # type: ignore[attr-defined]
        assert form.scroll_y == 0 and last.region.y >= form.region.bottom  # below the fold
        last.focus_input()
        await pilot.pause()
        await pilot.pause()  # the scroll comes after a refresh
        assert form.scroll_y > 0
        assert not app.animator.is_being_animated(form, "scroll_y")
        shown = form.scroll_y
        await settle(pilot)
        assert form.scroll_y == shown  # already where it ends
        assert form.region.contains_region(last.region)
