"""The screen shown for an unexpected error: what happened, that work is saved, what next."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

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
