"""Orders that stay on screen: a STOP, an EMERGENCY or an escalation, with every action.

The screen shows the decision, its full instructions and each follow-up task (who, what,
due when). It cannot be dismissed, and the today, ledger and sync keys do nothing, until
the clinician has pressed Done or Acknowledge on every task; each press is recorded with
its time. Opened with F7 from a visit step, the same screen lists the tasks still open and
closes with Esc.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from fieldapp.errors import FieldAppError
from fieldapp.services.followups import DONE_BY_READING, DONE_BY_RECOVERY, FollowUps
from fieldapp.services.visit import VisitSession
from sync.records import Task

OWNER = {"clinician": "you", "prescriber": "prescriber", "supervisor": "supervisor"}
AUTO_DONE = frozenset(DONE_BY_READING + DONE_BY_RECOVERY)


class OrdersScreen(ModalScreen[None]):
    """The decision and its tasks; stays until every task is acknowledged (orders mode)."""

    STYLES: ClassVar[tuple[str, ...]] = ("forms.tcss", "orders.tcss")
    """Its stylesheets in fieldapp/tui/styles/, read as it first opens."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="orders-close"),
        # Leaving for another screen is not possible while orders wait for acknowledgement.
        Binding("f2", "blocked", show=False),
        Binding("f3", "blocked", show=False),
        Binding("f4", "blocked", show=False),
    ]

    def __init__(
        self,
        session: VisitSession,
        headline: str,
        instructions: list[str],
        tasks: list[Task],
        must_acknowledge: bool = True,
    ) -> None:
        super().__init__(classes="orders")
        self.session = session
        self.followups = FollowUps(session)
        self.headline = headline
        self.instructions = instructions
        self.tasks = tasks
        self.must_acknowledge = must_acknowledge

    def compose(self) -> ComposeResult:
        """Headline, instructions, a row per task, and Continue."""
        with Vertical(id="orders-box", classes="dialog"):
            yield Static(Text(self.headline, "bold"), id="orders-headline")
            with VerticalScroll(id="orders-body"):
                lines = Text()
                for line in self.instructions:
                    lines.append(f"{line}\n")
                yield Static(lines, id="orders-instructions")
                for n, task in enumerate(self.tasks):
                    with Horizontal(classes="order-row", id=f"order-{n}"):
                        yield Static(self._describe(task), classes="order-text", markup=False)
                        label = "Acknowledge" if task.action in AUTO_DONE else "Done"
                        yield Button(label, id=f"order-button-{n}", variant="warning")
                if not self.tasks:
                    yield Static("No open tasks.", id="orders-none")
            with Horizontal(classes="step-buttons"):
                yield Button("Continue", id="orders-continue", variant="primary")

    def on_mount(self) -> None:
        """Mark what is already handled; Continue waits for the rest."""
        for n, task in enumerate(self.tasks):
            if self._handled(task):
                self._mark(n, task)
        self._refresh_continue()
        self._focus_next()

    def _focus_next(self) -> None:
        """Enter works from the first key: the focus sits on the first order not yet
        handled, then on Continue (a marked button is disabled and loses the focus)."""
        waiting = [b for b in self.query(".order-row Button").results(Button) if not b.disabled]
        target = waiting[0] if waiting else self.query_one("#orders-continue", Button)
        target.focus()

    def _describe(self, task: Task) -> str:
        due = f" (due {task.due_at.astimezone(self._tz()):%H:%M})" if task.due_at else ""
        return f"[{OWNER[task.owner]}] {task.text.rstrip('.')}{due}"

    def _tz(self):  # type: ignore[no-untyped-def]
        return self.session.services.clock.now().tzinfo

    def _handled(self, task: Task) -> bool:
        return bool(self.followups.status(task) & {"acknowledged", "done"})

    def _mark(self, n: int, task: Task) -> None:
        button = self.query_one(f"#order-button-{n}", Button)
        done = "done" in self.followups.status(task)
        button.label = "✓ done" if done else "✓ seen"
        button.disabled = True

    def _refresh_continue(self) -> None:
        waiting = self.must_acknowledge and not all(self._handled(t) for t in self.tasks)
        self.query_one("#orders-continue", Button).disabled = waiting

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Record the press on a task (with its time), or close when all are handled."""
        button = str(event.button.id)
        if button == "orders-continue":
            self.action_close()
            return
        n = int(button.rsplit("-", 1)[1])
        task = self.tasks[n]
        try:
            if task.action in AUTO_DONE:
                self.followups.acknowledge(task.id)
            else:
                self.followups.complete(task.id)
        except FieldAppError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self._mark(n, task)
        self._refresh_continue()
        self._focus_next()

    def action_close(self) -> None:
        """Close once every task is acknowledged (or at once when only listing them)."""
        if self.must_acknowledge and not all(self._handled(t) for t in self.tasks):
            self.action_blocked()
            return
        self.dismiss(None)

    def action_blocked(self) -> None:
        """Say why the screen stays."""
        self.notify("Acknowledge each order first (Done or Acknowledge).", severity="warning")
