"""The note an answer carries: required, typed by the prescriber or supervisor."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class NoteDialog(ModalScreen[str | None]):
    """Returns the note (Enter), or None (Escape)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="review-note-cancel")
    ]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        """A title, the note, a hint."""
        with Vertical(id="note-box"):
            yield Static(self.title_text, markup=False)
            yield Input(placeholder="Note (required): what you decided and why", id="note")
            yield Static("Enter signs and sends · Esc cancels", id="note-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Sign with this note (a blank one is refused here)."""
        note = event.value.strip()
        if not note:
            self.query_one("#note-hint", Static).update("A note is required: type one.")
            return
        self.dismiss(note)

    def action_cancel(self) -> None:
        """Close without answering."""
        self.dismiss(None)
