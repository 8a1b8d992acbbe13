"""The title line at the top of every screen: a light stand-in for Textual's Header.

Textual's Header is four widgets (the icon, the title, the clock's space, the header
itself), each styled, laid out and rendered on every screen opened: about a tenth of the
time from Enter to a visit's first frame. This is one Static showing the same line: the
title and sub-title as the app formats them, centred where the Header centres them
(between its icon's 8 cells and its clock's 10), with the same colours.
"""

from __future__ import annotations

from textual.widgets import Static


class TitleBar(Static):
    """`title — sub-title` of the screen (or of the app), kept up to date."""

    DEFAULT_CSS = """
    TitleBar {
        dock: top;
        width: 100%;
        height: 1;
        padding: 0 10 0 8;
        background: $panel;
        color: $foreground;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        content-align: center middle;
    }
    """

    def on_mount(self) -> None:
        """Follow the app's and the screen's titles, as the Header does."""
        for owner in (self.app, self.screen):
            self.watch(owner, "title", self.show_title, init=False)
            self.watch(owner, "sub_title", self.show_title, init=False)
        self.show_title()

    def show_title(self) -> None:
        """Draw the screen's title and sub-title (the app's where the screen has none)."""
        screen, app = self.screen, self.app
        title = screen.title if screen.title is not None else app.title
        sub_title = screen.sub_title if screen.sub_title is not None else app.sub_title
        self.update(app.format_title(title, sub_title))
