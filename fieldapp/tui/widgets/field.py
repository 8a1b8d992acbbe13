"""A labelled input that validates as it is typed and says what is wrong."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Static

Check = Callable[[str], str | None]


class FormScroll(VerticalScroll, can_focus=False):
    """A form's scrolling column: not a Tab stop itself (its fields are), so no keystroke
    typed after a Tab lands on the container; the focused field scrolls into view."""


class Field(Vertical):
    """Label and input on one line, the problem (if any) under them."""

    class Edited(Message):
        """The text changed; `problem` is None when it is valid."""

        def __init__(self, field: Field, value: str, problem: str | None) -> None:
            super().__init__()
            self.field = field
            self.value = value
            self.problem = problem

    def __init__(
        self,
        field_id: str,
        label: str,
        check: Check,
        value: str = "",
        placeholder: str = "",
        password: bool = False,
    ) -> None:
        super().__init__(id=f"field-{field_id.replace('_', '-')}", classes="field")
        self.field_id = field_id
        self.label = label
        self.check = check
        self.initial = value
        self.placeholder = placeholder
        self.password = password
        self.problem: str | None = None
        self._note: tuple[str, str] | None = None  # (message, the text it is about)

    def compose(self) -> ComposeResult:
        """The label, the input and the message line."""
        with Horizontal(classes="field-row"):
            yield Label(self.label, classes="field-label")
            yield Input(
                self.initial,
                placeholder=self.placeholder,
                password=self.password,
                classes="field-input",
            )
        yield Static("", classes="field-problem", markup=False)

    @property
    def value(self) -> str:
        """The text as typed."""
        return self.query_one(Input).value

    @value.setter
    def value(self, text: str) -> None:
        self.query_one(Input).value = text

    def on_input_changed(self, event: Input.Changed) -> None:
        """Check the text on every keystroke and show the problem at once."""
        event.stop()
        if self._note is not None and event.value != self._note[1]:
            self._note = None  # the clinician changed the text the note was about
        self.mark(self.check(event.value) if event.value.strip() else None)
        self.post_message(self.Edited(self, event.value, self.problem))

    def recheck(self) -> None:
        """Check the text again (what it is checked against may have changed)."""
        self.mark(self.check(self.value) if self.value.strip() else None)

    def note(self, message: str) -> None:
        """Mark the text as it stands now with `message`, until it is changed."""
        self._note = (message, self.value)
        self.mark(self.problem)

    def mark(self, problem: str | None) -> None:
        """Show `problem` (or a standing note) under the field; None clears it."""
        if problem is None and self._note is not None:
            problem = self._note[0]
        self.problem = problem
        message = self.query_one(".field-problem", Static)
        message.update(problem or "")
        message.display = problem is not None
        self.set_class(problem is not None, "-invalid")

    def focus_input(self) -> None:
        """Put the cursor in this field."""
        self.query_one(Input).focus()
