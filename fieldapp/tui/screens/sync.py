"""Sync: progress while it runs, what was sent, and every set-aside record explained."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, ProgressBar, Static

from fieldapp.services.syncing import KIND_WORDS, SyncState, explain
from fieldapp.tui.screens.base import FieldScreen
from fieldapp.tui.widgets.fit_table import Col, FitTable
from sync.outbox import SetAsideItem

SET_ASIDE_COLUMNS = (Col("#"), Col("Record", shrink_to=8), Col("Status"), Col("Why", shrink_to=10))


class SyncScreen(FieldScreen):
    """Shows the app's `SyncState`; the app calls `show_state` as the round moves on."""

    STYLES: ClassVar[tuple[str, ...]] = ("sync.tcss",)
    """Its stylesheets in fieldapp/tui/styles/, read as it first opens."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sync_now", "Sync now", id="sync-now"),
        Binding("escape", "leave", "Back", id="sync-leave"),
    ]

    def __init__(self, services: Any) -> None:
        super().__init__(services)
        self.set_aside: list[SetAsideItem] = []

    def compose(self) -> ComposeResult:
        """State, progress bar, what was sent, and the set-aside table."""
        yield self.compose_chrome_top()
        yield Static("", id="sync-state")
        yield ProgressBar(id="sync-progress", show_eta=False)
        yield Static("", id="sync-sent", markup=False)
        yield Static("Set aside for review", id="set-aside-title")
        yield FitTable(SET_ASIDE_COLUMNS, id="set-aside", cursor_type="row")
        yield Static("", id="set-aside-why", markup=False)
        yield from self.compose_chrome_bottom()

    def on_mount(self) -> None:
        """Columns, the current state, and the set-aside records."""
        self.show_state(self.services.sync_state)
        self.load_set_aside()

    @work(thread=True, exclusive=True, exit_on_error=False, group="set-aside")
    def load_set_aside(self) -> None:
        """Read the set-aside records off the UI thread."""
        store: Any = self.services.store
        items = store.set_aside() if not store.is_locked else []
        self.app.call_from_thread(self.show_set_aside, items)

    def show_state(self, state: SyncState) -> None:
        """The round's phase and progress, and what the last round sent."""
        text = Text()
        if not state.configured:
            text.append(state.why_not, "bold yellow")
        elif state.running:
            text.append(f"Syncing ({state.how}): {state.phase}. ", "bold")
            text.append(state.message)
        elif state.error:
            text.append("Last sync failed: ", "bold red")
            text.append(f"{state.error} The records wait on this laptop.")
        elif state.finished_at is not None:
            text.append(f"Last sync {state.finished_at:%H:%M} ({state.how}): ", "bold green")
            text.append("done.")
        else:
            text.append("Not synced yet in this session. Press s to sync now.")
        self.query_one("#sync-state", Static).update(text)
        bar = self.query_one("#sync-progress", ProgressBar)
        if state.running and state.total:
            bar.update(total=state.total, progress=state.done)
        elif state.running:
            bar.update(total=None)
        elif state.finished_at is not None and not state.error:
            bar.update(total=1, progress=1)
        else:
            bar.update(total=1, progress=0)
        self.query_one("#sync-sent", Static).update(state.sent_text())
        if not state.running:
            self.load_set_aside()

    def show_set_aside(self, items: list[SetAsideItem]) -> None:
        """One row per set-aside record, with its explanation under the table."""
        self.set_aside = items
        self.query_one("#set-aside", FitTable).show(
            [
                (
                    str(item.seq),
                    [
                        str(item.seq),
                        KIND_WORDS.get(item.kind, item.kind),
                        item.status,
                        explain(item),
                    ],
                )
                for item in items
            ]
        )
        title = f"Set aside for review: {len(items)}" if items else "Nothing set aside."
        self.query_one("#set-aside-title", Static).update(title)
        self._explain_row(0)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The explanation of the highlighted record, in full."""
        self._explain_row(event.cursor_row)

    def _explain_row(self, row: int) -> None:
        why = self.query_one("#set-aside-why", Static)
        if 0 <= row < len(self.set_aside):
            item = self.set_aside[row]
            why.update(f"{explain(item)}\nServer's words: {item.reason or '–'}")
        else:
            why.update("")

    def action_sync_now(self) -> None:
        """Start a sync round now."""
        self.field_app.sync_now(manual=True)

    def action_leave(self) -> None:
        """Back to where the clinician was."""
        self.app.pop_screen()
