"""The title line shows what Textual's Header showed: the screen's title and sub-title,
else the app's, and follows them as they change."""

from __future__ import annotations

from textual.app import App, ComposeResult

from fieldapp.tui.widgets.title_bar import TitleBar


class Titled(App[None]):
    TITLE = "fieldapp"

    def compose(self) -> ComposeResult:
        yield TitleBar()


def shown(app: App[None]) -> str:
    return str(app.query_one(TitleBar).render())


async def test_the_title_line_follows_the_app_and_the_screen() -> None:
    app = Titled()
    async with app.run_test(size=(60, 5)) as pilot:
        assert shown(app) == "fieldapp"
        app.sub_title = "Today"
        await pilot.pause()
        assert shown(app) == "fieldapp — Today"
        app.screen.title = "Visit"
        await pilot.pause()
        assert shown(app) == "Visit — Today"
        app.screen.sub_title = "check-in"
        await pilot.pause()
        assert shown(app) == "Visit — check-in"
