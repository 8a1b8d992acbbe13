"""A small form in a dialog: a few validated fields, returning what was typed.

With `save`, the dialog records the entry itself and closes only once it is recorded: a
refusal (a locked vial, an unlicensed witness) shows in the dialog, and everything typed
stays there to correct. `derived` is a line worked out from the fields as they are typed
(the mL of an amount typed in mg).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import InvalidOperation
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from fieldapp.errors import FieldAppError
from fieldapp.tui.screens.base import ClosesOnlyItself
from fieldapp.tui.widgets.field import Check, Field


@dataclass(frozen=True)
class Ask:
    """One question of the dialog: field id, label, check, default and hint."""

    id: str
    label: str
    check: Check
    value: str = ""
    hint: str = ""


class EntryDialog(ClosesOnlyItself, ModalScreen[dict[str, str] | None]):
    """Returns {field id: text} once every field is valid, or None when cancelled."""

    STYLES: ClassVar[tuple[str, ...]] = ("forms.tcss",)
    """Its stylesheets in fieldapp/tui/styles/, read as it first opens."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="entry-cancel"),
        Binding("ctrl+s", "save", "Save", id="entry-save"),
    ]

    def __init__(
        self,
        title: str,
        asks: list[Ask],
        explain: str = "",
        save: Callable[[dict[str, str]], Any] | None = None,
        derived: Callable[[dict[str, str]], str] | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.asks = asks
        self.explain = explain
        self.save = save
        self.derived = derived
        self.saved: Any = None
        """What `save` returned, once it recorded the entry."""

    def compose(self) -> ComposeResult:
        """Title, explanation, the fields, the problem line and the buttons."""
        with Vertical(id="entry-box", classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            if self.explain:
                yield Static(self.explain, id="entry-explain", markup=False)
            for ask in self.asks:
                yield Field(ask.id, ask.label, ask.check, ask.value, ask.hint)
            if self.derived is not None:
                yield Static(self.derived(self.texts()), id="entry-derived", markup=False)
            yield Static("", id="entry-problem", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="entry-ok", variant="primary")
                yield Button("Cancel", id="entry-cancel")

    def texts(self) -> dict[str, str]:
        """Every field's text as it stands (the defaults before the fields are up)."""
        fields = {f.field_id: f.value for f in self.query(Field)}
        return {ask.id: fields.get(ask.id, ask.value) for ask in self.asks}

    def on_field_edited(self, event: Field.Edited) -> None:
        """Clear the problem line as soon as the clinician types again; work out the
        derived line again."""
        self.query_one("#entry-problem", Static).update("")
        if self.derived is not None:
            self.query_one("#entry-derived", Static).update(self.derived(self.texts()))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Save or cancel."""
        if event.button.id == "entry-cancel":
            self.dismiss(None)
        else:
            self.action_save()

    def action_save(self) -> None:
        """Return the answers when each one passes its check."""
        answers: dict[str, str] = {}
        for field in self.query(Field):
            problem = field.check(field.value)
            if problem:
                self.query_one("#entry-problem", Static).update(problem)
                field.query_one("Input").focus()
                return
            answers[field.field_id] = field.value.strip()
        if self.save is not None:
            try:
                self.saved = self.save(answers)
            except (FieldAppError, InvalidOperation) as exc:
                # Refused: say why here, keep every answer typed, and stay open.
                why = str(exc) if isinstance(exc, FieldAppError) else "A number is not valid."
                self.app.bell()
                self.query_one("#entry-problem", Static).update(why)
                return
        self.dismiss(answers)

    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(None)
