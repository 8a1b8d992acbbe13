"""The screen shown for an unexpected error: what happened, that work is saved, what next."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static
from textual.worker import Worker, WorkerState

from fieldapp.services.errorlog import describe
from fieldapp.tui.screens.base import ClosesOnlyItself


class ErrorScreen(ClosesOnlyItself, ModalScreen[None]):
    """An unexpected error, with no patient data in it; the app stays usable."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close", id="error-close")
    ]

    def __init__(self, summary: str) -> None:
        super().__init__()
        self.summary = summary

    def compose(self) -> ComposeResult:
        """A box with the summary and a close button."""
        with Vertical(id="error-box", classes="dialog"):
            yield Static("Something went wrong", classes="dialog-title")
            yield Static(self.summary, id="error-summary", markup=False)
            yield Static(
                "Your drafts are saved. The details went to the app log without patient data.",
            )
            yield Button("Close", id="error-close", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Close the dialog."""
        self.dismiss(None)

    async def action_dismiss(self, result: None = None) -> None:
        """Close the dialog."""
        self.dismiss(None)


def report_worker_failure(app: App[Any], log: logging.Logger, event: Worker.StateChanged) -> None:
    """A worker failed unexpectedly: its type and code places to the log (never its message
    or traceback text, which can hold a value from the chart), and the error screen."""
    error = event.worker.error
    if event.state is not WorkerState.ERROR or error is None:
        return
    places = "\n".join(describe(error))
    log.error("worker %s failed:\n%s", event.worker.name, places)
    app.push_screen(ErrorScreen(f"{type(error).__name__} in {event.worker.name}"))
