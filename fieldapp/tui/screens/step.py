"""What the visit's step screens share: the visit session, drafts, and moving on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Checkbox, Static

from fieldapp.errors import FieldAppError
from fieldapp.services.visit import VisitSession
from fieldapp.tui.screens.base import FieldScreen
from fieldapp.tui.widgets.field import SHOW_AFTER_S, Field
from fieldapp.tui.widgets.paragraphs import Kept, Paragraphs

T = TypeVar("T")
TICK = "tick:"
"""A draft keeps each tick box under `tick:<its id>`, beside the fields' texts."""
SUSPECT_NOTE = "This answer could not be handled: check it"
"""Under the field typed into last when an unexpected error happened."""
STEP_TITLES = {
    "checkin": "Check-in",
    "checklist": "Safety checklist",
    "dose": "Dose",
    "monitor": "Infusion",
    "recovery": "Recovery",
    "note": "Session note",
    "checkout": "Check-out",
    "done": "Done",
}


def _fits(widget: Static) -> bool:
    """Whether `widget`'s new content takes exactly the lines it has now: then no layout of
    the form is needed (most keystrokes change a judgement's words, not its height)."""
    width = widget.content_size.width
    if not width:
        return False
    widget.clear_cached_dimensions()
    needed = widget.get_content_height(widget.container_size, widget.app.size, width)
    return needed == widget.content_size.height


class StepScreen(FieldScreen):
    """One step of a visit; its form is kept as an encrypted draft while typed."""

    STYLES: ClassVar[tuple[str, ...]] = ("forms.tcss", "visit.tcss")
    """Its stylesheets in fieldapp/tui/styles/, read as it first opens."""

    STEP: ClassVar[str] = ""
    AUTO_FOCUS = ".field-input"  # the first answer: typing starts there at once
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Today", id="visit-leave"),
        # Not ctrl+h: a terminal sends it as Backspace.
        Binding("f6", "history", "History", id="visit-history"),
        Binding("f7", "tasks", "Tasks", id="visit-tasks"),
    ]

    def __init__(self, session: VisitSession) -> None:
        super().__init__(session.services)
        self.session = session
        self.last_edited: str | None = None
        """The field typed into last: the one the error boundary marks."""
        self.suspect: str | None = None
        """A field to mark as soon as the screen opens (set by the error boundary)."""
        self.opened = False
        """True once every mount handler ran: the draft was put back without an error."""
        self._fields: dict[str, Field] | None = None
        self._boxes: list[Checkbox] | None = None
        self._shown: dict[str, tuple[Text, str | None]] = {}
        self._kept: dict[str, Kept] = {}
        self._relayout: Timer | None = None

    def forget_form(self) -> None:
        """Forget what the form knew of the visit it showed (a screen refilled for another
        visit: see `EvvScreen.show_visit`)."""
        self.last_edited = None
        self.suspect = None
        self._fields = None
        self._shown = {}
        self._kept = {}
        if self._relayout is not None:
            self._relayout.stop()
            self._relayout = None

    def on_mount(self) -> None:
        """Runs after the step's own mount handler (Textual calls subclasses first)."""
        self.opened = True
        if self.suspect is not None:
            self.mark_suspect(self.suspect, SUSPECT_NOTE)

    def mark_suspect(self, field_id: str | None, message: str) -> None:
        """Mark the field `field_id` with `message` and put the cursor there."""
        field = self.fields().get(field_id or "")
        if field is not None:
            field.note(message)
            field.focus_input()

    @property
    def draft_key(self) -> str:
        """This form's draft key."""
        return self.session.draft_key(self.STEP)

    def visit_banner(self) -> Static:
        """Patient, course and step, at the top of every step."""
        return Static(self.banner_text(), id="visit-banner", markup=False)

    def banner_text(self) -> str:
        """The banner's line: patient, course, step and the visit's safety flags."""
        s = self.session
        flags = f"  ⚑ {', '.join(s.visit.safety_flags)}" if s.visit.safety_flags else ""
        return f"{s.patient.display_name} · {s.visit.course} · {STEP_TITLES[self.STEP]}{flags}"

    def buttons(self, *buttons: Any) -> Horizontal:
        """A row of buttons at the foot of the form."""
        return Horizontal(*buttons, classes="step-buttons")

    # -- drafts --------------------------------------------------------------------------

    def fields(self) -> dict[str, Field]:
        """The form's fields by id (found once the screen is up: a form never changes its
        fields, and every keystroke reads them all)."""
        if self._fields is not None:
            return self._fields
        found = {f.field_id: f for f in self.query(Field)}
        if self.is_mounted:
            self._fields = found
        return found

    def boxes(self) -> list[Checkbox]:
        """The form's tick boxes that have an id (found once, like the fields)."""
        if self._boxes is not None:
            return self._boxes
        found = [box for box in self.query(Checkbox) if box.id]
        if self.is_mounted:
            self._boxes = found
        return found

    def texts(self) -> dict[str, str]:
        """Every field's text, as typed."""
        return {fid: f.value for fid, f in self.fields().items()}

    def form_state(self) -> dict[str, Any]:
        """Everything the form holds: each field's text and each tick box."""
        # Never a PIN: a draft outlives the moment, and a second checker's PIN is theirs.
        state: dict[str, Any] = {fid: f.value for fid, f in self.fields().items() if not f.password}
        for box in self.boxes():
            state[TICK + str(box.id)] = box.value
        return state

    def save_draft(self) -> None:
        """Keep the form as it stands in the encrypted draft."""
        self.services.drafts.put(self.draft_key, self.form_state())

    def restore_draft(self) -> dict[str, Any]:
        """Put the saved draft back into the fields, then the tick boxes; return it."""
        draft = self.services.drafts.get(self.draft_key) or {}
        for fid, field in self.fields().items():
            if fid in draft:
                field.value = str(draft[fid])
        for box in self.boxes():
            ticked = draft.get(TICK + str(box.id))
            if isinstance(ticked, bool):
                box.value = ticked
        return draft

    def on_field_edited(self, event: Field.Edited) -> None:
        """Save the draft on every change, then let the step react."""
        self.last_edited = event.field.field_id
        self.save_draft()
        self.edited(event)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        """A tick is part of the draft too."""
        self.save_draft()

    def edited(self, event: Field.Edited) -> None:
        """A field changed (steps override this to re-judge live)."""

    def show(self, selector: str, content: Text, classes: str | None = None) -> None:
        """Put `content` in the Static at `selector` when it changed.

        A panel whose text changes height needs a layout, and a layout of a long form costs
        more than the keystroke itself: after the first time, the text shows at once in the
        panel's present box and the layout follows once typing pauses. The lines the last
        text had are not wrapped and styled again (`Paragraphs`).
        """
        first = selector not in self._shown
        if self._shown.get(selector) == (content, classes):
            return
        self._shown[selector] = (content, classes)
        widget = self.query_one(selector, Static)
        kept = self._kept.setdefault(selector, Kept())
        lines = Paragraphs(Content.from_rich_text(content, console=self.app.console), kept)
        widget.update(lines, layout=first)
        if classes is not None:
            widget.set_classes(classes)
        if not first and not _fits(widget):
            if self._relayout is not None:
                self._relayout.stop()
            self._relayout = self.set_timer(SHOW_AFTER_S, self._lay_out)

    def _lay_out(self) -> None:
        self._relayout = None
        self.refresh(layout=True)

    def judge(self, engine_call: Callable[..., T], *args: Any) -> T | None:
        """A live judgement as typed. An unexpected error in it goes to the app's error
        boundary (logged, told) and marks the field typed last; the form stays open."""
        try:
            return engine_call(*args)
        except FieldAppError:
            raise
        except Exception as error:
            self.field_app.boundary.catch(error, repair=False)
            self.mark_suspect(self.last_edited, SUSPECT_NOTE)
            return None

    # -- moving on -----------------------------------------------------------------------

    def attempt(self, action: Any, *args: Any) -> Any:
        """Run a service action; an expected refusal becomes a notice, not a crash."""
        try:
            return action(*args)
        except FieldAppError as exc:
            self.notify(str(exc), severity="error", markup=False, timeout=8)
            return None

    def done(self) -> None:
        """This step is recorded: forget its draft and open the next step."""
        self.services.drafts.discard(self.draft_key)
        self.field_app.advance_visit(self.session)

    def action_leave(self) -> None:
        """Back to today's list (the draft stays saved)."""
        self.services.drafts.flush()
        self.field_app.action_today()

    def action_history(self) -> None:
        """This patient's history."""
        self.field_app.open_history(self.session.patient.id)

    # -- orders and tasks ----------------------------------------------------------------

    def show_orders(
        self,
        headline: str,
        instructions: list[str],
        then: Callable[[], None] | None = None,
    ) -> bool:
        """Show the tasks nobody has acknowledged yet on a screen that stays until each is;
        run `then` afterwards. False (and `then` not run) when there is nothing to show."""
        from fieldapp.services.followups import FollowUps
        from fieldapp.tui.screens.orders import OrdersScreen

        tasks = FollowUps(self.session).unacknowledged()
        if not tasks:
            return False
        self.app.bell()
        screen = OrdersScreen(self.session, headline, instructions, tasks)
        self.app.push_screen(screen, lambda _: then() if then is not None else None)
        return True

    def action_tasks(self) -> None:
        """The visit's open tasks (who, what, due when); done ones can be marked."""
        from fieldapp.services.followups import FollowUps
        from fieldapp.tui.screens.orders import OrdersScreen

        tasks = FollowUps(self.session).open()
        title = "Open tasks of this visit" if tasks else "No open tasks"
        self.app.push_screen(OrdersScreen(self.session, title, [], tasks, must_acknowledge=False))


def save_open_forms(screens: list[Any]) -> None:
    """Put every open step's form into its draft, edits not yet handled included (the app
    calls it before it locks and when it quits)."""
    for screen in screens:
        if isinstance(screen, StepScreen) and screen.is_mounted:
            screen.save_draft()
