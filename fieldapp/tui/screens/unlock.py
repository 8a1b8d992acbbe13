"""The lock screen: the passphrase or the quick-unlock PIN, and the visit's timers.

It is the only screen of a locked app: locking removes every other screen first, so
nothing beneath it holds patient data. During an infusion or the recovery watch it shows
what is safe to show — how long the infusion has run, when vitals are due, the lone-worker
timer — from the app's `SafeWatch` (times only), and rings once when vitals fall due.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

from textual import work
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Static

from fieldapp.errors import QuickUnlockUnavailable, StoreError, UnlockBackoff
from fieldapp.services.context import AppServices

if TYPE_CHECKING:
    from fieldapp.tui.app import FieldApp


class UnlockScreen(Screen[bool]):
    """Asks for the PIN (when one is set) or the passphrase; then the app opens again.

    Opaque on purpose, and alone on the screen stack while the app is locked.
    """

    AUTO_FOCUS = None

    def __init__(self, services: AppServices, reason: str) -> None:
        super().__init__()
        self.services = services
        self.reason = reason
        self.retry_at: datetime | None = None
        self.pin_mode = services.store.has_pin
        self._rang_for: datetime | None = None

    def compose(self) -> ComposeResult:
        """Title, reason, the visit's timers, the PIN or passphrase box, a message line."""
        with Center(), Vertical(id="unlock-box"):
            yield Static("fieldapp", id="unlock-title")
            yield Static(self.reason, id="unlock-reason", markup=False)
            yield Static("", id="lock-watch", markup=False)
            yield Input(placeholder="passphrase", password=True, id="passphrase")
            yield Input(placeholder="PIN", password=True, restrict=r"[0-9]*", id="pin")
            yield Static("", id="unlock-message", markup=False)
            yield Button("Use the passphrase", id="use-passphrase", compact=True)

    def on_mount(self) -> None:
        """Show the right box, and tick once a second (back-off countdown, timers)."""
        self._show_mode()
        self._tick()
        self.set_interval(1.0, self._tick)

    @property
    def field_app(self) -> FieldApp:
        """The app, typed."""
        return cast("FieldApp", self.app)

    def _show_mode(self) -> None:
        pin = self.query_one("#pin", Input)
        passphrase = self.query_one("#passphrase", Input)
        pin.display = self.pin_mode
        self.query_one("#use-passphrase", Button).display = self.pin_mode
        passphrase.display = not self.pin_mode
        (pin if self.pin_mode else passphrase).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """The passphrase instead of the PIN."""
        event.stop()
        self.pin_mode = False
        self._show_mode()
        self._message("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Try the PIN or passphrase in a worker: key derivation is slow on purpose."""
        event.stop()
        if self.retry_at is not None:
            self._tick()
            return
        secret = event.value
        event.input.value = ""
        with_pin = event.input.id == "pin"
        if not secret:
            self._message(f"Type the {'PIN' if with_pin else 'passphrase'}, then Enter.")
            return
        event.input.disabled = True
        self._message("Unlocking…")
        self.try_unlock(secret, with_pin)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def try_unlock(self, secret: str, with_pin: bool) -> None:
        """Unlock the store off the UI thread and report back."""
        try:
            if with_pin:
                self.services.unlock_with_pin(secret)
            else:
                self.services.unlock(secret)
        except UnlockBackoff as exc:
            self.app.call_from_thread(self._backoff, exc.retry_after_s)
        except QuickUnlockUnavailable as exc:
            self.app.call_from_thread(self._pin_refused, str(exc))
        except StoreError as exc:  # a wrong passphrase or PIN, or a store that cannot open
            self.app.call_from_thread(self._failed, str(exc))
        else:
            self.app.call_from_thread(self.field_app.unlocked)

    def _box(self) -> Input:
        return self.query_one("#pin" if self.pin_mode else "#passphrase", Input)

    def _failed(self, message: str) -> None:
        self._message(message)
        box = self._box()
        box.disabled = False
        box.focus()

    def _pin_refused(self, message: str) -> None:
        self.query_one("#pin", Input).disabled = False
        self.pin_mode = False
        self._show_mode()
        self._message(message)

    def _backoff(self, retry_after_s: float) -> None:
        self.retry_at = self.services.clock.now() + timedelta(seconds=retry_after_s)
        self._tick()

    def _tick(self) -> None:
        self.show_watch()
        if self.retry_at is None:
            return
        left = (self.retry_at - self.services.clock.now()).total_seconds()
        box = self._box()
        if left <= 0:
            self.retry_at = None
            box.disabled = False
            box.focus()
            self._message("You can try again now.")
            return
        box.disabled = True
        self._message(f"Too many wrong passphrases: locked, try again in {max(1, round(left))} s.")

    def show_watch(self) -> None:
        """The visit's timers, times only; a bell once when vitals fall due."""
        now = self.services.clock.now()
        watch = self.services.watch
        lines = watch.lines(now)
        lone = self.services.lone_worker.state()
        if self.services.lone_worker.checked_in_at is not None:
            lines.append(f"Safety: {lone.text}")
        found = self.query("#lock-watch")
        if not found:
            return  # pushed this instant: the app's tick came before the first compose
        panel = found.first(Static)
        panel.update("\n".join(lines))
        panel.display = bool(lines)
        panel.set_class(watch.vitals_due(now) or lone.overdue, "-due")
        if watch.vitals_due(now) and self._rang_for != watch.vitals_due_at:
            self._rang_for = watch.vitals_due_at
            self.app.bell()

    def _message(self, text: str) -> None:
        self.query_one("#unlock-message", Static).update(text)
