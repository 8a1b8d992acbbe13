"""One patient's history: earlier infusions, pain and PHQ-9 over the course, what is due."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from fieldapp.services.history import CourseHistory, course_history
from fieldapp.tui.screens.base import FieldScreen
from fieldapp.tui.widgets.course_chart import CourseChart
from fieldapp.tui.widgets.fit_table import Col, FitTable

SESSION_COLUMNS = (
    Col("#"),
    Col("Date"),
    Col("NRS before", shrink_to=4, last=1),
    Col("NRS after", shrink_to=4, last=1),
    Col("PHQ-9"),
    Col("Dose mg"),
    Col("From", shrink_to=5),
)


def _n(value: object) -> str:
    return "–" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


class HistoryScreen(FieldScreen):
    """Read only: the course so far and the triggers coming up."""

    STYLES: ClassVar[tuple[str, ...]] = ("history.tcss",)
    """Its stylesheets in fieldapp/tui/styles/, read as it first opens."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Back", id="history-leave"),
    ]

    def __init__(self, services: Any, patient_id: UUID) -> None:
        super().__init__(services)
        self.patient_id = patient_id
        self.history: CourseHistory | None = None

    def compose(self) -> ComposeResult:
        """Patient line, response and triggers, the sessions beside the chart."""
        yield self.compose_chrome_top()
        yield Static("Loading the history…", id="history-title", markup=False)
        yield Static("", id="history-summary")
        with Horizontal(id="history-body"):
            yield FitTable(SESSION_COLUMNS, id="history-sessions", cursor_type="row")
            with Vertical(id="history-chart-box"):
                yield CourseChart(id="course-chart")
        yield from self.compose_chrome_bottom()

    def on_mount(self) -> None:
        """Read the course in a worker."""
        self.load_history()

    @work(thread=True, exclusive=True, exit_on_error=False, group="history")
    def load_history(self) -> None:
        """Read and judge the course off the UI thread."""
        history = course_history(self.services.store, self.patient_id, self.services.clock.now())
        self.app.call_from_thread(self.show, history)

    def show(self, history: CourseHistory) -> None:
        """Fill the table, the summary and the chart."""
        self.history = history
        self.query_one("#history-title", Static).update(
            f"{history.patient} · {history.course_line}"
        )
        summary = Text()
        summary.append(history.pain + "\n")
        summary.append(history.mood + "\n")
        for line in history.triggers:
            summary.append(f"● {line}\n", "bold yellow" if line.startswith("DUE") else "")
        self.query_one("#history-summary", Static).update(summary)
        numbers = list(range(1, len(history.points) + 1))
        self.query_one("#history-sessions", FitTable).show(
            [
                (
                    str(n),
                    [
                        str(n),
                        f"{p.on:%Y-%m-%d}",
                        _n(p.nrs_before),
                        _n(p.nrs_after),
                        _n(p.phq9),
                        _n(p.dose_mg),
                        p.source,
                    ],
                )
                for n, p in zip(numbers, history.points, strict=True)
            ]
        )
        points = history.points
        self.query_one(CourseChart).show(
            numbers,
            [p.nrs_before for p in points],
            [p.nrs_after for p in points],
            [p.phq9 for p in points],
        )

    def action_leave(self) -> None:
        """Back to where the clinician was."""
        self.app.pop_screen()
