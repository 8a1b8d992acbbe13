"""The app's one error boundary: every error nothing else caught ends here.

It writes a local error-log entry (type and code places only, see `errorlog`), shows a
short message with no patient data, and keeps the app up. Textual stops a widget's or
screen's message loop when a handler raises, so the screen where it happened is rebuilt:
a visit's step opens again from its draft with the field last typed into marked, other
screens go back one step. A step whose saved form fails again as it opens is offered for
discarding. Errors that keep coming back end at today's list; if even that fails, the
app closes with a short sentence (never a traceback).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from textual.screen import ModalScreen, Screen

from fieldapp.errors import FieldAppError, Locked
from fieldapp.services import errorlog

if TYPE_CHECKING:
    from fieldapp.tui.app import FieldApp
    from fieldapp.tui.screens.step import StepScreen

RETRY_WINDOW_S = 10.0
"""Errors closer together than this count as the same trouble coming back."""
MAX_REPAIRS = 3
"""Repairs within the window before the app falls back to today's list (twice that: it
closes)."""
STOPPED = (
    "fieldapp closed after errors it could not recover from. Drafts were saved; "
    "the error log beside the store holds the details, without patient data."
)


class ErrorBoundary:
    """Catches, logs, tells, and puts the screen back together."""

    def __init__(self, app: FieldApp) -> None:
        self.app = app
        self.caught: list[str] = []
        """The type name of every error caught (tests assert it stays empty)."""
        self._repairs: list[float] = []
        self._failed_opens: dict[str, int] = {}
        self._pending = False

    def catch(self, error: BaseException, repair: bool = True) -> None:
        """Log `error`, say so in a sentence, and (unless told not to) repair the screen."""
        try:
            self._catch(error, repair)
        except Exception:  # the boundary itself failed: close with a sentence, no traceback
            self.app.exit(return_code=1, message=STOPPED)

    def _catch(self, error: BaseException, repair: bool) -> None:
        app = self.app
        if isinstance(error, Locked):
            app.lock_now(str(error))
            return
        self.caught.append(type(error).__name__)
        screen = app.screen if app.screen_stack else None
        reference = self._log(error, type(screen).__name__ if screen else "start")
        if isinstance(error, FieldAppError):
            message = str(error)  # ours: a sentence with no patient data, by contract
        else:
            message = (
                f"Something went wrong ({type(error).__name__}). Nothing typed was lost; "
                f"the error is logged as {reference}, without patient data."
            )
        app.notify(message, severity="error", markup=False, timeout=12)
        if repair and screen is not None and not self._pending:
            self._pending = True
            app.call_later(self._repair, screen)

    def _log(self, error: BaseException, where: str) -> str:
        path = errorlog.error_log_path(self.app.settings.store.resolved_path())
        try:
            return errorlog.record(path, error, where, self.app.services.clock.now())
        except OSError:
            return "(not logged: the log file could not be written)"

    # -- putting the screen back ---------------------------------------------------------

    def _repair(self, screen: Screen[object]) -> None:
        self._pending = False
        now = time.monotonic()
        self._repairs = [t for t in self._repairs if now - t < RETRY_WINDOW_S] + [now]
        if len(self._repairs) > 2 * MAX_REPAIRS:
            self.app.exit(return_code=1, message=STOPPED)
            return
        if len(self._repairs) > MAX_REPAIRS:
            self.back_to_today(rebuild=True)
            return
        if screen not in self.app.screen_stack:
            return
        from fieldapp.tui.screens.step import StepScreen

        if isinstance(screen, StepScreen):
            self._repair_step(screen)
        elif not _alive(screen):
            self._rebuild_other(screen)

    def _repair_step(self, screen: StepScreen) -> None:
        """Mark the field last typed into; rebuild the step if its screen stopped."""
        from fieldapp.tui.screens.step import SUSPECT_NOTE

        suspect = screen.last_edited
        if _alive(screen):
            screen.mark_suspect(suspect, SUSPECT_NOTE)
            return
        key = screen.draft_key
        if not screen.opened:
            self._failed_opens[key] = self._failed_opens.get(key, 0) + 1
            if self._failed_opens[key] >= 2:
                self._failed_opens.pop(key)
                self._offer_discard(screen)
                return
        self.reopen_step(screen, suspect)

    def reopen_step(self, screen: StepScreen, suspect: str | None) -> None:
        """The step again, fresh from the store and its draft, the suspect field marked."""
        from fieldapp.services.visit import VisitSession
        from fieldapp.tui.screens.visit import screen_for

        try:
            session = VisitSession.load(self.app.services, screen.session.visit.id)
        except FieldAppError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            self.back_to_today()
            return
        self.app.kept_check_in.forget()  # the screen the error happened in is not reused
        fresh = screen_for(session)
        fresh.suspect = suspect
        self.app.switch_screen(fresh)

    def _offer_discard(self, screen: StepScreen) -> None:
        from fieldapp.tui.screens.draft_trouble import DraftTroubleDialog
        from fieldapp.tui.screens.step import STEP_TITLES

        def answered(discard: bool | None) -> None:
            if discard:
                self.app.services.drafts.discard(screen.draft_key)
                self.reopen_step(screen, None)
            else:
                self.back_to_today()

        self.app.push_screen(DraftTroubleDialog(STEP_TITLES[screen.STEP]), answered)

    def _rebuild_other(self, screen: Screen[object]) -> None:
        """A stopped dialog or screen other than a step: close it, or rebuild today's list."""
        from fieldapp.tui.screens.today import TodayScreen
        from fieldapp.tui.screens.unlock import UnlockScreen

        app = self.app
        if isinstance(screen, TodayScreen):
            app.switch_screen(TodayScreen(app.services))
        elif isinstance(screen, UnlockScreen):
            app.relock("Enter the passphrase.")
        elif screen is app.screen and (
            len(app.screen_stack) > 2 or isinstance(screen, ModalScreen)
        ):
            app.pop_screen()
        else:
            app.exit(return_code=1, message=STOPPED)

    def back_to_today(self, rebuild: bool = False) -> None:
        """Close everything above today's list; rebuild it if it stopped (or if asked)."""
        from fieldapp.tui.screens.today import TodayScreen
        from fieldapp.tui.screens.unlock import UnlockScreen

        app = self.app
        if any(isinstance(s, UnlockScreen) for s in app.screen_stack):
            # Locked (or not yet opened): the unlock screen stays in front.
            if isinstance(app.screen, UnlockScreen) and not _alive(app.screen):
                app.relock("Enter the passphrase.")
            return
        while len(app.screen_stack) > 2 and not isinstance(app.screen, TodayScreen):
            app.pop_screen()
        if not isinstance(app.screen, TodayScreen):
            app.exit(return_code=1, message=STOPPED)
        elif rebuild or not _alive(app.screen):
            app.switch_screen(TodayScreen(app.services))


def _alive(screen: Screen[Any]) -> bool:
    """Whether the screen and every widget on it still handle their messages."""
    return screen.is_running and all(w.is_running for w in screen.query("*"))
