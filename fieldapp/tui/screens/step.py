"""What the visit's step screens share: the visit session, drafts, and moving on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Static

from fieldapp.errors import FieldAppError
from fieldapp.services.visit import VisitSession
from fieldapp.tui.screens.base import FieldScreen
from fieldapp.tui.widgets.field import Field

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


class StepScreen(FieldScreen):
    """One step of a visit; its form is kept as an encrypted draft while typed."""

    STEP: ClassVar[str] = ""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Today", id="visit-leave"),
        Binding("ctrl+h", "history", "History", id="visit-history"),
        Binding("f7", "tasks", "Tasks", id="visit-tasks"),
    ]

    def __init__(self, session: VisitSession) -> None:
        super().__init__(session.services)
        self.session = session

    @property
    def draft_key(self) -> str:
        """This form's draft key."""
        return self.session.draft_key(self.STEP)

    def visit_banner(self) -> Static:
        """Patient, course and step, at the top of every step."""
        s = self.session
        flags = f"  ⚑ {', '.join(s.visit.safety_flags)}" if s.visit.safety_flags else ""
        text = f"{s.patient.display_name} · {s.visit.course} · {STEP_TITLES[self.STEP]}{flags}"
        return Static(text, id="visit-banner", markup=False)

    def buttons(self, *buttons: Any) -> Horizontal:
        """A row of buttons at the foot of the form."""
        return Horizontal(*buttons, classes="step-buttons")

    # -- drafts --------------------------------------------------------------------------

    def fields(self) -> dict[str, Field]:
        """The form's fields by id."""
        return {f.field_id: f for f in self.query(Field)}

    def texts(self) -> dict[str, str]:
        """Every field's text, as typed."""
        return {fid: f.value for fid, f in self.fields().items()}

    def restore_draft(self) -> dict[str, Any]:
        """Put the saved draft back into the fields; return it."""
        draft = self.services.drafts.get(self.draft_key) or {}
        for fid, field in self.fields().items():
            if fid in draft:
                field.value = str(draft[fid])
        return draft

    def on_field_edited(self, event: Field.Edited) -> None:
        """Save the draft on every change, then let the step react."""
        self.services.drafts.put(self.draft_key, self.texts())
        self.edited(event)

    def edited(self, event: Field.Edited) -> None:
        """A field changed (steps override this to re-judge live)."""

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
