"""A worker's unexpected failure in the office consoles (board, review): the log gets the
error's type and code places, never its message, and the error screen says what failed."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from textual.app import App
from textual.worker import Worker

from fieldapp.tui.screens.error import ErrorScreen, report_worker_failure

SECRET = "Synthetic Patientname, 12 Nowhere Lane"
log = logging.getLogger("fieldapp.tests.worker")


class Console(App[None]):
    """The smallest app with a worker that fails the way the consoles' do."""

    def on_mount(self) -> None:
        self.run_worker(self.load, name="load", exit_on_error=False)

    async def load(self) -> None:
        raise ValueError(SECRET)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self, log, event)


async def test_a_failed_worker_logs_no_message_and_shows_the_error_screen(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Console()
    with caplog.at_level(logging.ERROR, logger=log.name):
        async with app.run_test() as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert isinstance(app.screen, ErrorScreen)
            assert app.screen.summary == "ValueError in load"
    logged: Any = "\n".join(r.getMessage() for r in caplog.records)
    assert "builtins.ValueError" in logged and "load" in logged
    assert "Patientname" not in logged and "Nowhere" not in logged
    assert all(r.exc_info is None for r in caplog.records)
