"""The dialog for a prescriber's approval of a hold: name and note, both required."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from fieldapp.tui.screens.base import ClosesOnlyItself


class ApprovalDialog(ClosesOnlyItself, ModalScreen[tuple[str, str] | None]):
    """Returns (prescriber, note), or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="approval-cancel")
    ]

    def compose(self) -> ComposeResult:
        """Two inputs and two buttons."""
        with Vertical(id="approval-box", classes="dialog"):
            yield Static("Prescriber's approval of the hold", classes="dialog-title")
            yield Input(placeholder="Approving prescriber's name", id="approval-prescriber")
            yield Input(placeholder="Note (what was discussed, what to watch)", id="approval-note")
            yield Static("", id="approval-problem", markup=False)
            with Horizontal(classes="step-buttons"):
                yield Button("Approve", id="approval-ok", variant="primary")
                yield Button("Cancel", id="approval-cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Approve (when both are given) or cancel."""
        if event.button.id == "approval-cancel":
            self.dismiss(None)
            return
        name = self.query_one("#approval-prescriber", Input).value.strip()
        note = self.query_one("#approval-note", Input).value.strip()
        if not name or not note:
            self.query_one("#approval-problem", Static).update(
                "Both the prescriber's name and a note are required."
            )
            return
        self.dismiss((name, note))

    def action_cancel(self) -> None:
        """Close without approving."""
        self.dismiss(None)
