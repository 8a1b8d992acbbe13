"""The help screen: every key, by screen, with its binding id for remapping."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from fieldapp.tui.screens.base import ClosesOnlyItself

KeyRow = tuple[str, str, str, str]


class HelpScreen(ClosesOnlyItself, ModalScreen[None]):
    """Lists (where, key, what, binding id); Escape closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close", id="help-close")]

    def __init__(self, rows: list[KeyRow]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        """A title, the key table and how to remap."""
        with Vertical(id="help-box", classes="dialog"):
            yield Static("Keys", classes="dialog-title")
            table: DataTable[str] = DataTable(id="help-keys", cursor_type="row")
            table.add_columns("Where", "Key", "What", "Binding id")
            for row in self.rows:
                table.add_row(*row)
            yield table
            yield Static(
                'Remap a key in fieldapp.toml: [ui.keys] binding-id = "key". Esc closes.',
                id="help-remap",
            )

    def action_close(self) -> None:
        """Close help."""
        self.dismiss(None)
