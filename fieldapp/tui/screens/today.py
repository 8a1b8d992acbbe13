"""Today: the day's visits in route order, with status, flags and the status line."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from fieldapp.services.clock import today
from fieldapp.services.today import (
    FINISHED,
    NOT_GIVEN,
    STOPPED_EARLY,
    VisitRow,
    rows_for_day,
    todays_check,
)
from fieldapp.tui.screens.base import FieldScreen
from fieldapp.tui.widgets.fit_table import Col, FitTable

# Window, ETA and status stay whole; the address and course give way ("…"), then the
# name; the line under the table shows the highlighted visit's in full.
COLUMNS = (
    Col("#"),
    Col("Window"),
    Col("ETA"),
    Col("Patient", shrink_to=10, last=1),
    Col("Course", shrink_to=6),
    Col("Status"),
    Col("⚑"),
    Col("Address", shrink_to=10),
)
STATUS_STYLE = {
    "scheduled": "",
    "en route": "bold",
    "arrived": "bold",
    "infusing": "bold reverse",
    "recovering": "bold",
    "done": "dim",
    STOPPED_EARLY: "bold yellow",
    NOT_GIVEN: "yellow",
    "cancelled": "dim strike",
    "declined": "dim",
    "DURESS": "bold reverse red",
}


class VisitTable(FitTable, inherit_bindings=False):
    """The visits table without its own Enter, so `today-open` (remappable) opens a visit."""

    BINDINGS: ClassVar[list[BindingType]] = [b for b in DataTable.BINDINGS if b.key != "enter"]  # type: ignore[union-attr]


class TodayScreen(FieldScreen):
    """The day at a glance; Enter opens the visit at the cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_visit", "Open visit", id="today-open"),
        Binding("h", "history", "History", id="today-history"),
        Binding("r", "refresh", "Refresh", id="today-refresh"),
    ]

    def __init__(self, services: object, **kwargs: object) -> None:
        super().__init__(services, **kwargs)  # type: ignore[arg-type]
        self.rows: list[VisitRow] = []

    def compose(self) -> ComposeResult:
        """Header, a title line, the visits table, status line and footer."""
        yield self.compose_chrome_top()
        yield Static("Loading today's visits…", id="today-title")
        yield VisitTable(COLUMNS, id="visits", cursor_type="row", zebra_stripes=True)
        yield Static("", id="today-detail", markup=False)
        yield from self.compose_chrome_bottom()

    def on_mount(self) -> None:
        """Load the day."""
        self.load_visits()

    def on_screen_resume(self) -> None:
        """Coming back from a visit: statuses may have changed (not while the lock clears
        the screens away: this one is going too)."""
        if self.rows and not self.field_app.locked:
            self.load_visits()

    @work(thread=True, exclusive=True, exit_on_error=False, group="today")
    def load_visits(self) -> None:
        """Read the day's visits and their events off the UI thread."""
        day = today(self.services.clock)
        rows = rows_for_day(self.services.store, day, self.services.user)
        shift_done = todays_check(self.services) is not None
        self.app.call_from_thread(self.show_rows, rows, f"{day:%A %d %B %Y}", shift_done)

    def show_rows(self, rows: list[VisitRow], day_text: str, shift_done: bool = True) -> None:
        """Fill the table, keeping the cursor where it was."""
        self.rows = rows
        table = self.query_one("#visits", VisitTable)
        table.show(
            [
                (
                    str(row.visit_id),
                    [
                        str(row.order),
                        row.window,
                        row.eta,
                        row.patient,
                        row.course,
                        Text(
                            row.status
                            + (" ⚑review" if row.review else "")
                            + (" ⚠break-glass" if row.colleague else ""),
                            STATUS_STYLE[row.status],
                        ),
                        Text(f"⚑{len(row.flags)}", "bold") if row.flags else "",
                        row.address,
                    ],
                )
                for row in rows
            ]
        )
        done = sum(1 for r in rows if r.status in FINISHED)
        title = f"{day_text} · {len(rows)} visits · {done} done"
        title = title if rows else f"{day_text} · no visits"
        if rows and not shift_done:
            title += " · start-of-shift check not done (F9)"
        self.query_one("#today-title", Static).update(title)
        table.focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Under the table: the highlighted visit's address and safety flags in full."""
        row = self.selected()
        detail = self.query_one("#today-detail", Static)
        if row is None:
            detail.update("")
            return
        flags = "; ".join(row.flags) if row.flags else "none"
        text = f"{row.patient} · {row.address}\nSafety flags: {flags}"
        if row.colleague:
            text += f"\nBreak-glass access: {row.colleague}'s visit, not on your route."
        detail.update(text)

    def selected(self) -> VisitRow | None:
        """The row under the cursor."""
        table = self.query_one("#visits", DataTable)
        if not self.rows or table.cursor_row < 0:
            return None
        return self.rows[table.cursor_row]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """A click on the highlighted row opens it (Enter is the `today-open` binding)."""
        event.stop()
        self.action_open_visit()

    def action_open_visit(self) -> None:
        """Open the visit under the cursor at its current step."""
        row = self.selected()
        if row is not None:
            self.field_app.open_visit(row.visit_id)

    def action_history(self) -> None:
        """The patient history of the visit under the cursor."""
        row = self.selected()
        if row is not None:
            self.field_app.open_history(row.patient_id)

    def action_refresh(self) -> None:
        """Reload the day."""
        self.load_visits()

    def visit_ids(self) -> list[UUID]:
        """The visits shown, in order (for tests and the palette)."""
        return [r.visit_id for r in self.rows]
