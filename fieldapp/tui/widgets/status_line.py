"""The status line at the foot of every screen: sync state and the lone-worker timer."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static

from fieldapp.services.status import StatusInfo


class StatusLine(Static):
    """Shows a `StatusInfo`; the app sets `info` once a second."""

    info: reactive[StatusInfo | None] = reactive(None, layout=False)

    def watch_info(self, info: StatusInfo | None) -> None:
        """Render the status as one line (two at most on a narrow terminal)."""
        if info is None:
            self.update("")
            return
        lone = info.lone_worker
        self.set_class(lone.overdue, "-overdue")
        self.update(f"Sync: {info.sync_text()}  │  Safety: {lone.text}")
