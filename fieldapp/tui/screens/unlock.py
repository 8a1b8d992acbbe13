"""The unlock screen: the passphrase, the wrong-passphrase message, and the back-off."""

from __future__ import annotations

from datetime import datetime, timedelta

from textual import work
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Input, Static

from fieldapp.errors import StoreError, UnlockBackoff, WrongPassphrase
from fieldapp.services.context import AppServices


class UnlockScreen(Screen[bool]):
    """Asks for the passphrase; dismisses with True once the store is open.

    Opaque on purpose: when the app locks, this covers every screen beneath it.
    """

    AUTO_FOCUS = "#passphrase"

    def __init__(self, services: AppServices, reason: str) -> None:
        super().__init__()
        self.services = services
        self.reason = reason
        self.retry_at: datetime | None = None

    def compose(self) -> ComposeResult:
        """Title, reason, the passphrase box and a message line."""
        with Center(), Vertical(id="unlock-box"):
            yield Static("fieldapp", id="unlock-title")
            yield Static(self.reason, id="unlock-reason", markup=False)
            yield Input(placeholder="passphrase", password=True, id="passphrase")
            yield Static("", id="unlock-message", markup=False)

    def on_mount(self) -> None:
        """Tick once a second so the back-off countdown moves."""
        self.set_interval(1.0, self._tick)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Try the passphrase in a worker: key derivation is slow on purpose."""
        event.stop()
        if self.retry_at is not None:
            self._tick()
            return
        passphrase = event.value
        event.input.value = ""
        if not passphrase:
            self._message("Type the passphrase, then Enter.")
            return
        event.input.disabled = True
        self._message("Unlocking…")
        self.try_unlock(passphrase)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def try_unlock(self, passphrase: str) -> None:
        """Unlock the store off the UI thread and report back."""
        try:
            self.services.unlock(passphrase)
        except UnlockBackoff as exc:
            self.app.call_from_thread(self._backoff, exc.retry_after_s)
        except WrongPassphrase as exc:
            self.app.call_from_thread(self._failed, str(exc))
        except StoreError as exc:
            self.app.call_from_thread(self._failed, str(exc))
        else:
            self.app.call_from_thread(self.dismiss, True)

    def _failed(self, message: str) -> None:
        self._message(message)
        box = self.query_one("#passphrase", Input)
        box.disabled = False
        box.focus()

    def _backoff(self, retry_after_s: float) -> None:
        self.retry_at = self.services.clock.now() + timedelta(seconds=retry_after_s)
        self._tick()

    def _tick(self) -> None:
        if self.retry_at is None:
            return
        left = (self.retry_at - self.services.clock.now()).total_seconds()
        box = self.query_one("#passphrase", Input)
        if left <= 0:
            self.retry_at = None
            box.disabled = False
            box.focus()
            self._message("You can try again now.")
            return
        box.disabled = True
        self._message(f"Too many wrong passphrases: locked, try again in {max(1, round(left))} s.")

    def _message(self, text: str) -> None:
        self.query_one("#unlock-message", Static).update(text)
