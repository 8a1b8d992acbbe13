"""ReviewApp: the prescriber's or supervisor's queue of requests and tasks, keyboard first.

The console is built with its desk (`fieldapp.services.review.ReviewDesk`, or a fake in
tests). The queue comes overdue first; `a` approves, `d` declines, `m` approves with a
change (each asks for a note, then signs with the reviewer's own key and sends); `k` and
`s` cycle the kind and status filters; `r` reloads. What the reviewer sees of a request
is its facts: the rules, values and thresholds the laptop's decision used, nothing else.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Static
from textual.worker import Worker

from fieldapp.errors import FieldAppError
from fieldapp.services.review import KINDS, STATUSES
from fieldapp.tui.review.note import NoteDialog
from fieldapp.tui.screens.error import report_worker_failure
from fieldapp.tui.widgets.fit_table import Cell, Col, FitTable
from sync.approvals import AnswerRefused, RequestPublic, ReviewTask
from sync.errors import SyncError

log = logging.getLogger("fieldapp.tui.review")

QUEUE_COLUMNS = (
    Col("!", None),
    Col("Kind", 8, last=1),
    Col("From", 6),
    Col("Rules", 10),
    Col("Due (UTC)", None),
    Col("Status", None),
)
TASK_COLUMNS = (Col("!", None), Col("Task", 10), Col("Due (UTC)", None), Col("State", None))
KIND_WORDS = {
    "readiness_hold": "hold",
    "dose_cap": "dose cap",
    "verbal_order": "phone order",
    "supervisor_decision": "ruling",
}
DECISION_WORDS = {"approve": "Approve", "decline": "Decline", "modify": "Approve with change"}


def _when(moment: datetime | None) -> str:
    return moment.strftime("%m-%d %H:%M") if moment is not None else ""


def facts_lines(item: RequestPublic) -> Text:
    """A request's facts, one rule a line, then its plain values and question."""
    text = Text()
    kind = KIND_WORDS.get(item.kind, item.kind)
    text.append(f"{kind} from {item.requested_by}", "bold")
    text.append(f" · due {_when(item.expires_at)} UTC", "bold red" if item.overdue else "")
    text.append("\n")
    if item.facts.question:
        text.append(item.facts.question + "\n", "italic")
    for rule in item.facts.rules:
        text.append(f"· {rule.rule_id}", "bold")
        if rule.measured is not None:
            text.append(f"  measured {rule.measured}")
        if rule.threshold is not None:
            text.append(f"  limit {rule.threshold}")
        if rule.setting:
            text.append(f"  ({rule.setting})", "dim")
        text.append("\n")
    for key, value in sorted(item.facts.values.items()):
        text.append(f"{key}: {value}\n", "dim")
    if item.answer is not None:
        text.append(
            f"answered: {item.answer.decision} by {item.answer.answered_by}: {item.answer.note}",
            "green",
        )
    return text


class ReviewApp(App[None]):
    """The review console over a desk (`queue`, `tasks`, `answer`)."""

    CSS_PATH = "review.tcss"
    TITLE = "fieldapp review"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "answer('approve')", "Approve", id="review-approve"),
        Binding("d", "answer('decline')", "Decline", id="review-decline"),
        Binding("m", "answer('modify')", "With change", id="review-modify"),
        Binding("k", "next_kind", "Kind", id="review-kind"),
        Binding("s", "next_status", "Status", id="review-status"),
        Binding("r", "reload", "Reload", id="review-reload"),
        Binding("q", "quit", "Quit", id="review-quit"),
    ]

    def __init__(self, desk: Any) -> None:
        super().__init__()
        self.desk = desk
        self.kind_filter: str | None = None
        self.status_filter: str = "pending"
        self.items: list[RequestPublic] = []
        self.task_rows: list[ReviewTask] = []

    def compose(self) -> ComposeResult:
        """Banner, queue, the selected request's facts, tasks, keys."""
        yield Static("Loading the queue…", id="review-banner", markup=False)
        with Vertical(id="review-body"):
            yield FitTable(QUEUE_COLUMNS, id="review-table", cursor_type="row")
            yield Static("", id="review-detail")
            yield FitTable(TASK_COLUMNS, id="review-tasks", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        """Load the queue."""
        self.query_one("#review-table", FitTable).focus()
        self.load()

    @work(exclusive=True, group="load")
    async def load(self) -> None:
        """The queue and tasks, with the filters as set."""
        try:
            self.items = await self.desk.queue(self.kind_filter, self.status_filter)
            self.task_rows = await self.desk.tasks()
        except (SyncError, FieldAppError) as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.refill()

    def refill(self) -> None:
        """Fill the tables and the banner from what was loaded."""
        queue = self.query_one("#review-table", FitTable)
        queue.show([(str(i.id), self._cells(i)) for i in self.items])
        tasks = self.query_one("#review-tasks", FitTable)
        tasks.show([(str(t.id), self._task_cells(t)) for t in self.task_rows])
        overdue = sum(1 for i in self.items if i.overdue)
        late_tasks = sum(1 for t in self.task_rows if t.state == "overdue")
        banner = self.query_one("#review-banner", Static)
        kind = KIND_WORDS.get(self.kind_filter, "all kinds") if self.kind_filter else "all kinds"
        banner.update(
            f"{self.desk.user} ({self.desk.role}) · {len(self.items)} {self.status_filter} · "
            f"{overdue} overdue · {late_tasks} tasks overdue · showing {kind}"
        )
        banner.set_class(overdue > 0 or late_tasks > 0, "overdue")
        self.show_detail()

    def _cells(self, item: RequestPublic) -> list[Cell]:
        rules = ", ".join(r.rule_id for r in item.facts.rules) or item.facts.question
        flag = Text("!", "bold red") if item.overdue else Text("")
        return [
            flag,
            KIND_WORDS.get(item.kind, item.kind),
            item.requested_by,
            rules,
            _when(item.expires_at),
            item.status if item.answer is None else item.answer.decision,
        ]

    def _task_cells(self, task: ReviewTask) -> list[Cell]:
        flag = Text("!", "bold red") if task.state == "overdue" else Text("")
        return [flag, task.action, _when(task.due_at), task.state]

    def selected(self) -> RequestPublic | None:
        """The request under the cursor."""
        table = self.query_one("#review-table", FitTable)
        if not self.items or table.cursor_row < 0 or table.cursor_row >= len(self.items):
            return None
        return self.items[table.cursor_row]

    def show_detail(self) -> None:
        """The selected request's facts."""
        item = self.selected()
        detail = self.query_one("#review-detail", Static)
        detail.update(facts_lines(item) if item else Text("Nothing in this queue.", "dim"))

    def on_data_table_row_highlighted(self, _event: Any) -> None:
        """The cursor moved: show that request's facts."""
        self.show_detail()

    def action_answer(self, decision: str) -> None:
        """Ask for the note, then sign and send."""
        item = self.selected()
        if item is None or item.answer is not None:
            self.notify("Choose an unanswered request first.", severity="warning")
            return
        title = f"{DECISION_WORDS[decision]}: {KIND_WORDS.get(item.kind, item.kind)}"

        def send(note: str | None) -> None:
            if note is not None:
                self.send(item, decision, note)

        self.push_screen(NoteDialog(title), send)

    @work(exclusive=True, group="answer")
    async def send(self, item: RequestPublic, decision: str, note: str) -> None:
        """Sign the answer with the reviewer's own key and hand it in."""
        try:
            await self.desk.answer(item, decision, note)
        except AnswerRefused as exc:
            self.notify(f"The clinic refused the answer: {exc}", severity="error", markup=False)
        except (SyncError, FieldAppError) as exc:
            self.notify(str(exc), severity="error", markup=False)
        else:
            self.notify(f"{DECISION_WORDS[decision]}: signed and sent.")
        self.load()

    def action_next_kind(self) -> None:
        """Cycle the kind filter."""
        self.kind_filter = KINDS[(KINDS.index(self.kind_filter) + 1) % len(KINDS)]
        self.load()

    def action_next_status(self) -> None:
        """Cycle the status filter."""
        self.status_filter = STATUSES[(STATUSES.index(self.status_filter) + 1) % len(STATUSES)]  # type: ignore[arg-type]
        self.load()

    def action_reload(self) -> None:
        """Load again."""
        self.load()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """An unexpected failure in any worker: log it and show the error screen."""
        report_worker_failure(self, log, event)
