"""What every main screen shares: header, status line, footer, and the error route."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from textual import events, on
from textual.await_complete import AwaitComplete
from textual.screen import Screen
from textual.widgets import Header
from textual.worker import Worker, WorkerState

from fieldapp.tui.widgets.key_line import KeyLine
from fieldapp.tui.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from fieldapp.services.context import AppServices
    from fieldapp.tui.app import FieldApp


class ClosesOnlyItself:
    """For dialogs: `dismiss` closes this dialog only while it is in front. Keys typed
    fast can still be queued for a dialog that F2 (or a lock) already took away; closing
    "the screen in front" then would close another screen instead."""

    def dismiss(self, result: Any = None) -> AwaitComplete:
        """Close this dialog with `result`, if it is still the screen in front."""
        screen = cast("Screen[Any]", self)
        if screen.app.screen is not screen:
            return AwaitComplete.nothing()
        return super().dismiss(result)  # type: ignore[misc,no-any-return]


class FieldScreen(Screen[None]):
    """A screen of the app: its workers' failures go to the app's one error handler."""

    def __init__(self, services: AppServices, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.services = services

    @property
    def field_app(self) -> FieldApp:
        """The app, typed."""
        return cast("FieldApp", self.app)

    def compose_chrome_top(self) -> Header:
        """The header every screen shows."""
        return Header(show_clock=False, icon="")

    def compose_chrome_bottom(self) -> tuple[StatusLine, KeyLine]:
        """The status line and the key line every screen shows."""
        return StatusLine(id="status-line"), KeyLine(id="key-line")

    @on(events.ScreenResume)
    def fill_status_line(self) -> None:
        """Fill the status line as the screen shows, not at the next one-second tick."""
        self.field_app.refresh_status()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Send a failed worker's error to the app's handler."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.field_app.report_error(event.worker.error)
