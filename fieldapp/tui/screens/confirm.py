"""A yes/no question before an act that cannot be taken back (returning a vial)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from fieldapp.tui.screens.base import ClosesOnlyItself


class ConfirmDialog(ClosesOnlyItself, ModalScreen[bool]):
    """Ask once: `y` or Yes confirms; `n`, Esc or No declines (No has the focus)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm-yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm-no"),
    ]
    AUTO_FOCUS = "#confirm-no-button"

    def __init__(self, title: str, question: str, yes: str = "Yes") -> None:
        super().__init__()
        self.title_text = title
        self.question = question
        self.yes = yes

    def compose(self) -> ComposeResult:
        """Title, the question and two buttons."""
        with Vertical(id="confirm-box", classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            yield Static(self.question, id="confirm-question", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", id="confirm-yes-button", variant="warning")
                yield Button("No (n)", id="confirm-no-button", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Answer with the button pressed."""
        event.stop()
        self.dismiss(event.button.id == "confirm-yes-button")

    def action_answer(self, yes: bool) -> None:
        """Answer from the keyboard."""
        self.dismiss(yes)
