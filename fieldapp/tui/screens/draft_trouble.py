"""Asked when a step's saved form keeps failing to open: discard it, or keep it for later."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from fieldapp.tui.screens.base import ClosesOnlyItself


class DraftTroubleDialog(ClosesOnlyItself, ModalScreen[bool]):
    """True: discard the saved form; False: keep it and go back to today's list."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "keep", "Keep", id="draft-keep"),
    ]

    def __init__(self, step_title: str) -> None:
        super().__init__()
        self.step_title = step_title

    def compose(self) -> ComposeResult:
        """The question and its two answers."""
        with Vertical(id="draft-trouble-box", classes="dialog"):
            yield Static("This form cannot be opened", classes="dialog-title")
            yield Static(
                f"The saved {self.step_title.lower()} form of this visit failed twice as it "
                "opened. Discard it to start the step again (everything already recorded "
                "stays), or keep it and go back to today's list.",
                markup=False,
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Discard the form", id="draft-discard", variant="error")
                yield Button("Keep it", id="draft-keep", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Discard or keep."""
        self.dismiss(event.button.id == "draft-discard")

    def action_keep(self) -> None:
        """Keep the form (Escape)."""
        self.dismiss(False)
