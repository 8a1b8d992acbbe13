"""The check-in screen the app keeps while unlocked, refilled for each visit it opens.

Opening a visit is the press a clinician makes most often that builds a screen: a new
check-in screen costs Textual about five times what refilling the one already built does
(composing, styling and mounting its widgets; `benchmarks/tui_bench.py`). The kept screen
holds a patient's details, so the lock lets go of it with every other screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.app import App

    from fieldapp.services.visit import VisitSession
    from fieldapp.tui.screens.evv import EvvScreen
    from fieldapp.tui.screens.step import StepScreen

NAME = "kept-check-in"
"""The name it is installed under: Textual keeps an installed screen when it is popped."""


class KeptCheckIn:
    """One check-in (and check-out) screen, built the first time and refilled after."""

    def __init__(self, app: App[None]) -> None:
        self.app = app
        self.screen: EvvScreen | None = None

    def screen_for(self, session: VisitSession) -> StepScreen:
        """The screen for the visit's step: the kept one, refilled, where it can be."""
        from fieldapp.tui.screens.evv import EvvScreen  # past today's list: not at launch
        from fieldapp.tui.screens.visit import screen_for

        if session.step not in ("checkin", "checkout"):
            return screen_for(session)
        checkout = session.step == "checkout"
        kept = self.screen
        if kept is None:
            kept = self.screen = EvvScreen(session, checkout)
            self.app.install_screen(kept, NAME)
            return kept
        if kept.is_mounted and kept.opened and kept not in self.app.screen_stack:
            try:
                kept.show_visit(session, checkout)
                return kept
            except Exception:
                # A draft that cannot be put back (say): a new screen opens and meets the
                # same error as it mounts, where the error boundary handles it as for any
                # screen (the field marked, or the draft offered for discarding).
                self.forget()
        return EvvScreen(session, checkout)  # the kept one is showing (or not up yet)

    def forget(self) -> None:
        """Let go of the kept screen (the app locks, or an error happened in it)."""
        kept, self.screen = self.screen, None
        if kept is None:
            return
        if kept in self.app.screen_stack:
            # Textual refuses to uninstall a screen on the stack; once no longer installed,
            # it is removed as it leaves the stack, as any other screen is.
            self.app._installed_screens.pop(NAME, None)
        else:
            self.app.uninstall_screen(kept)
            kept.remove()
