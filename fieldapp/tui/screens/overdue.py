"""The overdue prompt: the lone-worker ladder reached a step and the clinician must answer."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from fieldapp.services.loneworker import LoneWorkerState
from fieldapp.services.validation import read_whole
from fieldapp.tui.screens.base import ClosesOnlyItself


class OverdueDialog(ClosesOnlyItself, ModalScreen[tuple[str, int]]):
    """Returns ("safe", 0), ("extend", minutes) or ("duress", 0)."""

    STYLES: ClassVar[tuple[str, ...]] = ("forms.tcss", "overdue.tcss")
    """Its stylesheets in fieldapp/tui/styles/, read as it first opens."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "safe", "I am safe", id="overdue-safe"),
    ]

    def __init__(self, state: LoneWorkerState, extension_minutes: int) -> None:
        super().__init__()
        self.state = state
        self.extension_minutes = extension_minutes

    def compose(self) -> ComposeResult:
        """What the ladder says, and three answers."""
        with Vertical(id="overdue-box", classes="dialog"):
            yield Static(
                f"Check-out is {self.state.overdue_minutes} min overdue", classes="dialog-title"
            )
            yield Static(
                f"Safety ladder: {self.state.action or ''}\nAre you safe?",
                id="overdue-action",
                markup=False,
            )
            with Horizontal(classes="field-row"):
                yield Static("More minutes needed", classes="field-label")
                yield Input(str(self.extension_minutes), id="overdue-minutes", type="integer")
            with Horizontal(classes="dialog-buttons"):
                yield Button("I am safe", id="overdue-safe", variant="success")
                yield Button("Safe, need more time", id="overdue-extend", variant="primary")
                yield Button("Duress", id="overdue-duress", variant="error")

    def on_mount(self) -> None:
        """The answer most often given has the focus."""
        self.query_one("#overdue-safe", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Return the answer."""
        if event.button.id == "overdue-safe":
            self.action_safe()
        elif event.button.id == "overdue-extend":
            text = self.query_one("#overdue-minutes", Input).value.strip()
            typed = read_whole(text)  # "²" is a digit to str.isdigit, not to int()
            minutes = typed if typed is not None and 0 < typed <= 240 else 0
            if not minutes:
                self.notify("More minutes must be 1–240.", severity="error")
                return
            self.dismiss(("extend", minutes))
        else:
            self.dismiss(("duress", 0))

    def action_safe(self) -> None:
        """I am safe."""
        self.dismiss(("safe", 0))
