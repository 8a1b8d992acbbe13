"""What every main screen shares: header, status line, footer, and the error route."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import events, on
from textual.await_complete import AwaitComplete
from textual.screen import Screen
from textual.worker import Worker, WorkerState, WorkType, active_worker

from fieldapp.tui.widgets.key_line import KeyLine
from fieldapp.tui.widgets.status_line import StatusLine
from fieldapp.tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from textual.worker import ResultType

    from fieldapp.services.context import AppServices
    from fieldapp.tui.app import FieldApp


class ClosesOnlyItself:
    """For dialogs: `dismiss` closes this dialog only while it is in front. Keys typed
    fast can still be queued for a dialog that F2 (or a lock) already took away; closing
    "the screen in front" then would close another screen instead."""

    def dismiss(self, result: Any = None) -> AwaitComplete:
        """Close this dialog with `result`, if it is still the screen in front."""
        screen = cast("Screen[Any]", self)
        if screen.app.screen is not screen:
            return AwaitComplete.nothing()
        return super().dismiss(result)  # type: ignore[misc,no-any-return]


class FieldScreen(Screen[None]):
    """A screen of the app: its workers' failures go to the app's one error handler."""

    STYLES: ClassVar[tuple[str, ...]] = ()
    """Stylesheets of fieldapp/tui/styles/ this screen needs beyond fieldapp.tcss, read
    into the app's as the first screen that needs them opens (see that folder)."""

    def __init__(self, services: AppServices, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.services = services

    @property
    def field_app(self) -> FieldApp:
        """The app, typed."""
        return cast("FieldApp", self.app)

    def compose_chrome_top(self) -> TitleBar:
        """The title line every screen shows."""
        return TitleBar()

    def compose_chrome_bottom(self) -> tuple[StatusLine, KeyLine]:
        """The status line and the key line every screen shows."""
        return StatusLine(id="status-line"), KeyLine(id="key-line")

    @on(events.ScreenResume)
    def fill_status_line(self) -> None:
        """Fill the status line as the screen shows, not at the next one-second tick."""
        self.field_app.refresh_status()

    def run_worker(
        self,
        work: WorkType[ResultType],
        name: str | None = "",
        group: str = "default",
        description: str = "",
        exit_on_error: bool = True,
        start: bool = True,
        exclusive: bool = False,
        thread: bool = False,
    ) -> Worker[ResultType]:
        """Run a worker whose work lets go of this screen once it is done.

        Textual leaves a thread worker's `Worker` in the context of the pool thread that
        ran it, until that thread runs another; through its work it would keep this
        screen (and the patient data in its widgets) alive after the lock removed it.
        """
        if thread and callable(work) and not inspect.iscoroutinefunction(work):
            work = _let_go_after(work)  # type: ignore[assignment]
        return super().run_worker(
            work, name, group, description, exit_on_error, start, exclusive, thread
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Send a failed worker's error to the app's handler."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.field_app.report_error(event.worker.error)


def _let_go_after(work: Callable[[], ResultType]) -> Callable[[], ResultType]:
    """`work`, run once in a pool thread; then neither the wrapper nor the thread's context
    (where Textual set the current worker, and so its screen) holds on to anything."""
    held = [work]

    def run() -> ResultType:
        try:
            return held[0]()
        finally:
            held.clear()
            active_worker.set(cast("Worker[Any]", None))

    return run
