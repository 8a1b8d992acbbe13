"""The lock is a wall: while the store is locked nothing but unlocking and duress gets past.

Locking saves the drafts, locks the store, forgets the open visit, and removes every
screen (their widgets hold patient data) before the lock screen goes up alone. While
locked, no app action runs but duress and quit (so no key and no palette entry), and no
screen can be pushed, switched in or popped, whoever asks: a timer, a worker, a dialog.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any
from uuid import UUID

from textual._context import visible_screen_stack  # see on_lock_wall_screens_cleared
from textual.app import App
from textual.await_complete import AwaitComplete
from textual.message import Message
from textual.screen import Screen

from fieldapp.services.context import AppServices
from fieldapp.tui.screens.unlock import UnlockScreen

log = logging.getLogger("fieldapp.tui")
ACTIONS_WHILE_LOCKED = frozenset({"duress", "quit", "focus_next", "focus_previous"})
"""The only app actions a locked app runs: nothing that shows or opens anything (moving
the focus stays inside the lock screen, the only one there is)."""


class LockWall(App[None]):
    """The app's lock handling (`FieldApp` is built on it)."""

    services: AppServices
    _clearing = False
    _resume_visit: UUID | None = None
    _prompting = False

    @property
    def locked(self) -> bool:
        """Whether the store is locked (or was never opened): only unlock and duress work."""
        return self.services.unlocked_at is None or self.services.store.is_locked

    def lock_now(self, reason: str) -> None:
        """Save drafts, lock the store, remove every screen, and show only the lock screen."""
        if self.locked and isinstance(self.screen, UnlockScreen):
            return
        visit = next((s.session.visit.id for s in self.screen_stack if hasattr(s, "session")), None)
        try:
            self.save_open_forms()
            self.services.lock()
        finally:
            self._resume_visit = visit
            self._prompting = False
            self.clear_notifications()
            self._clear_screens()
            self.push_screen(UnlockScreen(self.services, reason))
            self.refresh(repaint=True, layout=True)
            self.post_message(self.ScreensCleared())

    class ScreensCleared(Message):
        """The lock removed every screen (handled in the app's own message loop)."""

    def on_lock_wall_screens_cleared(self, _message: ScreensCleared) -> None:
        """Empty the list of screens Textual last drew behind a dialog.

        Textual keeps that list in the context of the app's message loop until the next
        mouse event, and every widget started since holds a copy of that context: after a
        lock those are screens full of patient data, to be freed with the rest. The list
        is emptied in place, so every copy lets go of them.
        """
        with contextlib.suppress(LookupError):
            visible_screen_stack.get().clear()

    def _clear_screens(self) -> None:
        """Pop every screen but the blank base: their widgets hold patient data."""
        self._clearing = True
        self.forget_kept_screens()
        try:
            while len(self.screen_stack) > 1:
                self.pop_screen()
        finally:
            self._clearing = False

    def forget_kept_screens(self) -> None:
        """Let go of screens kept for reuse off the stack (the app fills this in)."""

    def save_open_forms(self) -> None:
        """Every open form into its draft before the lock takes the screens away (the app
        fills this in)."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While locked no app action runs but duress and quit (keys, palette, timers)."""
        return not self.locked or action in ACTIONS_WHILE_LOCKED

    def push_screen(  # type: ignore[override]
        self,
        screen: Screen[Any] | str,
        callback: Any = None,
        wait_for_dismiss: bool = False,
        *,
        mode: str | None = None,
    ) -> Any:
        """Open a screen; while locked, only the lock screen opens (nothing else is shown)."""
        if self.locked and not isinstance(screen, UnlockScreen):
            log.info("a screen was asked for while locked: refused")
            return AwaitComplete.nothing()
        return super().push_screen(screen, callback, wait_for_dismiss, mode=mode)  # type: ignore[call-overload]

    def switch_screen(self, screen: Screen[Any] | str) -> AwaitComplete:
        """Replace the top screen; never while locked (it would replace the lock screen)."""
        if self.locked:
            log.info("a screen switch was asked for while locked: refused")
            return AwaitComplete.nothing()
        return super().switch_screen(screen)

    def pop_screen(self) -> AwaitComplete:
        """Close the top screen; while locked only the lock's own clearing pops."""
        if self.locked and not self._clearing:
            return AwaitComplete.nothing()
        return super().pop_screen()
