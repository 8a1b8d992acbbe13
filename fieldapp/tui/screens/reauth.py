"""Prove it is you again: the bedside PIN (or the passphrase) before an act that carries
your name, such as signing a note.

The app is open, but the laptop may have been left on the bedside table: whoever signs
types the PIN the clinician set for the shift, or the passphrase when no PIN is set (or
after too many wrong PINs). A wrong one signs nothing and counts against the same limits
as at the lock screen. Returns True once confirmed, None when cancelled.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from fieldapp.errors import (
    QuickUnlockUnavailable,
    StoreError,
    UnlockBackoff,
    WrongPassphrase,
    WrongPin,
)
from fieldapp.services.context import AppServices
from fieldapp.tui.screens.base import ClosesOnlyItself


class ReauthDialog(ClosesOnlyItself, ModalScreen[bool | None]):
    """Asks for the PIN (when one is set) or the passphrase; True once it is right."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="reauth-cancel"),
    ]

    def __init__(self, services: AppServices, title: str, explain: str) -> None:
        super().__init__()
        self.services = services
        self.title_text = title
        self.explain = explain
        self.pin_mode = services.store.has_pin

    def compose(self) -> ComposeResult:
        """Title, what is being confirmed, the PIN or passphrase box, a message line."""
        with Vertical(id="reauth-box", classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            yield Static(self.explain, id="reauth-explain", markup=False)
            yield Input(placeholder="PIN", password=True, restrict=r"[0-9]*", id="reauth-pin")
            yield Input(placeholder="passphrase", password=True, id="reauth-passphrase")
            yield Static("", id="reauth-message", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Use the passphrase", id="reauth-use-passphrase")
                yield Button("Cancel", id="reauth-cancel")

    def on_mount(self) -> None:
        """Show the right box, with the cursor in it."""
        self._show_mode()

    def _show_mode(self) -> None:
        pin = self.query_one("#reauth-pin", Input)
        passphrase = self.query_one("#reauth-passphrase", Input)
        pin.display = self.pin_mode
        passphrase.display = not self.pin_mode
        self.query_one("#reauth-use-passphrase", Button).display = self.pin_mode
        (pin if self.pin_mode else passphrase).focus()
        what = "your bedside PIN" if self.pin_mode else "your passphrase"
        self._message(f"Type {what}, then Enter.")

    def _box(self) -> Input:
        return self.query_one("#reauth-pin" if self.pin_mode else "#reauth-passphrase", Input)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """The passphrase instead of the PIN, or cancel."""
        event.stop()
        if event.button.id == "reauth-cancel":
            self.dismiss(None)
        else:
            self.pin_mode = False
            self._show_mode()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Check the PIN or passphrase in a worker: key derivation is slow on purpose."""
        event.stop()
        secret = event.value
        event.input.value = ""
        if not secret:
            self._message(f"Type the {'PIN' if self.pin_mode else 'passphrase'}, then Enter.")
            return
        event.input.disabled = True
        self._message("Checking…")
        self.confirm(secret, self.pin_mode)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def confirm(self, secret: str, with_pin: bool) -> None:
        """Check the credential off the UI thread and report back."""
        try:
            self.services.confirm_identity(secret, with_pin)
        except WrongPin as exc:
            plural = "try" if exc.tries_left == 1 else "tries"
            self.app.call_from_thread(
                self._refused, f"Wrong PIN: not signed. {exc.tries_left} {plural} left."
            )
        except QuickUnlockUnavailable as exc:
            self.app.call_from_thread(self._pin_gone, str(exc))
        except UnlockBackoff as exc:
            self.app.call_from_thread(self._refused, str(exc))
        except WrongPassphrase:
            self.app.call_from_thread(self._refused, "Wrong passphrase: not signed.")
        except StoreError as exc:  # e.g. the store locked meanwhile: the lock screen follows
            self.app.call_from_thread(self._refused, str(exc))
        else:
            self.app.call_from_thread(self._confirmed)

    def _confirmed(self) -> None:
        if self.is_attached:  # the lock may have taken the dialog away meanwhile
            self.dismiss(True)

    def _refused(self, message: str) -> None:
        if not self.is_attached:
            return
        box = self._box()
        box.disabled = False
        box.focus()
        self._message(message)

    def _pin_gone(self, message: str) -> None:
        if not self.is_attached:
            return
        self.query_one("#reauth-pin", Input).disabled = False
        self.pin_mode = False
        self._show_mode()
        self._message(message)

    def _message(self, text: str) -> None:
        self.query_one("#reauth-message", Static).update(text)

    def action_cancel(self) -> None:
        """Close without confirming: nothing is signed."""
        self.dismiss(None)
