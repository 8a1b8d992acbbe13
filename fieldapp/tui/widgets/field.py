"""A labelled input that validates as it is typed and says what is wrong."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static

Check = Callable[[str], str | None]


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
        self.problem = self.check(event.value) if event.value.strip() else None
        message = self.query_one(".field-problem", Static)
        message.update(self.problem or "")
        message.display = self.problem is not None
        self.set_class(self.problem is not None, "-invalid")
        self.post_message(self.Edited(self, event.value, self.problem))
