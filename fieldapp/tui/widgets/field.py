"""A labelled input that validates as it is typed and says what is wrong."""

from __future__ import annotations

from collections.abc import Callable

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive
from textual.timer import Timer
from textual.widgets import Input, Label, Static

Check = Callable[[str], str | None]
SHOW_AFTER_S = 0.4
"""A problem shows once typing pauses this long, or at once when the field is left: a
number typed digit by digit is not wrong at every digit, and each message shown or hidden
lays the whole form out again."""


class FieldInput(Input):
    """An input whose text growing by a character does not lay the screen out again.

    Textual's Input sets its virtual size (the text's width) on every keystroke, and the
    widget's `virtual_size` asks for a layout of the whole screen: on a form of fifty
    fields that was most of the time a keystroke took. A field's box never changes size
    with its text (it scrolls inside), so here the virtual size only repaints.
    """

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)


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
        # What the message line shows now: nothing, as built (the stylesheet hides it).
        self._shown: str | None = None
        self._timer: Timer | None = None
        # Kept, not queried: a form reads every field's text on each keystroke.
        self.input = FieldInput(
            value, placeholder=placeholder, password=password, classes="field-input"
        )
        self._message = Static("", classes="field-problem", markup=False)

    def compose(self) -> ComposeResult:
        """The label, the input and the message line."""
        with Horizontal(classes="field-row"):
            yield Label(self.label, classes="field-label", markup=False)
            yield self.input
        yield self._message

    @property
    def value(self) -> str:
        """The text as typed."""
        return self.input.value

    @value.setter
    def value(self, text: str) -> None:
        self.input.value = text

    def on_input_changed(self, event: Input.Changed) -> None:
        """Check the text on every keystroke; a problem shows once typing pauses."""
        event.stop()
        if self._note is not None and event.value != self._note[1]:
            self._note = None  # the clinician changed the text the note was about
        problem = self.check(event.value) if event.value.strip() else None
        self.mark(problem, at_once=problem is None)
        self.post_message(self.Edited(self, event.value, self.problem))

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        """Leaving the field shows its problem now."""
        if self._timer is not None:
            self._show()

    def reset(self) -> None:
        """Empty, with no problem or note shown (a form refilled for another visit)."""
        with self.input.prevent(Input.Changed):
            self.input.value = ""
        self._note = None
        self.mark(None)

    def recheck(self) -> None:
        """Check the text again (what it is checked against may have changed)."""
        self.mark(self.check(self.value) if self.value.strip() else None)

    def note(self, message: str) -> None:
        """Mark the text as it stands now with `message`, until it is changed."""
        self._note = (message, self.value)
        self.mark(self.problem)

    def mark(self, problem: str | None, at_once: bool = True) -> None:
        """Take `problem` (or a standing note; None: none) and show it, now or once typing
        pauses. `problem` is current at once for the form either way."""
        if problem is None and self._note is not None:
            problem = self._note[0]
        self.problem = problem
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if at_once or not self.is_mounted:
            self._show()
        else:
            self._timer = self.set_timer(SHOW_AFTER_S, self._show)

    def _show(self) -> None:
        self._timer = None
        if self.problem == self._shown:
            # Unchanged: no repaint, no layout of the form. The first valid text typed into
            # a field, too: hiding the hidden line again laid the form out once per field.
            return
        self._shown = self.problem
        self._message.update(self.problem or "")
        self._message.display = self.problem is not None
        self.set_class(self.problem is not None, "-invalid")

    def focus_input(self) -> None:
        """Put the cursor in this field."""
        self.input.focus()
