"""BoardApp: the dispatcher's terminal board, built with its backend, protocol and clock.

One handler turns any unexpected worker failure into an error screen (the traceback goes
to the log, never patient data); expected failures are shown where they happen.
"""

from __future__ import annotations

import logging

from textual.app import App
from textual.worker import Worker

from fieldapp.tui.board.ports import BoardContext
from fieldapp.tui.board.screen import BoardScreen
from fieldapp.tui.screens.error import report_worker_failure

log = logging.getLogger("fieldapp.tui.board")


class BoardApp(App[None]):
    """The dispatch board; tests build it with a fake backend and a `ManualClock`."""

    CSS_PATH = "board.tcss"
    TITLE = "fieldapp dispatch"

    def __init__(self, ctx: BoardContext) -> None:
        super().__init__()
        self.ctx = ctx

    def on_mount(self) -> None:
        """Open the board."""
        self.push_screen(BoardScreen(self.ctx))

    async def on_unmount(self) -> None:
        """Close the backend's connections, when it has any."""
        close = getattr(self.ctx.backend, "aclose", None)
        if close is not None:
            await close()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """An unexpected failure in any worker: log it and show the error screen."""
        report_worker_failure(self, log, event)
