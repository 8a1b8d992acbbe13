"""Settings the clinician makes on the laptop: the quick-unlock PIN and the duress key's
acknowledgement."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, RadioButton, RadioSet, Static

from fieldapp.errors import FieldAppError
from fieldapp.services.context import AppServices
from fieldapp.services.duress import ACKNOWLEDGEMENTS, DuressChannel
from fieldapp.tui.screens.base import FieldScreen

NOTHING = "(nothing at all)"


class SettingsScreen(FieldScreen):
    """Set or forget the PIN; choose what the duress key shows."""

    STYLES: ClassVar[tuple[str, ...]] = ("settings.tcss",)
    """Its stylesheets in fieldapp/tui/styles/, read as it first opens."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Back", id="settings-leave"),
        Binding("ctrl+s", "set_pin", "Set PIN", id="settings-set-pin"),
    ]

    def __init__(self, services: AppServices, duress: DuressChannel | None) -> None:
        super().__init__(services)
        self.duress = duress

    def compose(self) -> ComposeResult:
        """The PIN part, then the duress part."""
        yield self.compose_chrome_top()
        with VerticalScroll(id="settings-body"):
            yield Static("Quick unlock", classes="settings-title")
            yield Static("", id="pin-state", markup=False)
            yield Input(
                placeholder=f"new PIN ({self.services.settings.store.pin_min_digits}+ digits)",
                password=True,
                restrict=r"[0-9]*",
                id="new-pin",
            )
            yield Input(
                placeholder="the same PIN again", password=True, restrict=r"[0-9]*", id="repeat-pin"
            )
            with Horizontal(id="pin-buttons"):
                yield Button("Set PIN", id="set-pin", variant="primary")
                yield Button("Forget PIN", id="forget-pin")
            yield Static("Duress key (ctrl+e)", classes="settings-title")
            yield Static("", id="duress-state", markup=False)
            if self.duress is not None:
                yield Static("What the screen shows when it is pressed:")
                chosen = self.duress.acknowledgement
                with RadioSet(id="duress-ack"):
                    for words in ACKNOWLEDGEMENTS:
                        yield RadioButton(words or NOTHING, value=words == chosen)
        yield from self.compose_chrome_bottom()

    def on_mount(self) -> None:
        """Say what is set now."""
        self.show_state()
        self.query_one("#new-pin", Input).focus()

    def show_state(self) -> None:
        """The PIN's and the duress key's state, in words."""
        store, settings = self.services.store, self.services.settings.store
        if store.has_pin and self.services.passphrase_at is not None:
            until = self.services.passphrase_at + timedelta(hours=settings.reentry_hours)
            pin = (
                f"A PIN is set: it unlocks until {until:%H:%M}, then the passphrase is needed "
                f"again. {settings.pin_max_tries} wrong PINs also need the passphrase."
            )
        else:
            pin = "No PIN is set: the passphrase unlocks. A PIN lasts until the re-entry."
        self.query_one("#pin-state", Static).update(pin)
        if self.duress is None:
            duress = "This laptop keeps no duress box: the key records duress in the store only."
        elif self.duress.ready:
            duress = (
                "Ready: a duress signal reaches the clinic from any screen, locked or not; "
                "offline it waits and goes as soon as the network returns."
            )
        else:
            duress = (
                "Not ready: this laptop has no duress credential yet (enrol it, then sync once)."
                " Until then duress is recorded in the store and sent with the next sync."
            )
        self.query_one("#duress-state", Static).update(duress)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Set or forget the PIN."""
        if event.button.id == "set-pin":
            self.action_set_pin()
        elif event.button.id == "forget-pin":
            self.services.store.forget_pin()
            self.notify("PIN forgotten: the passphrase unlocks.")
            self.show_state()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the PIN boxes sets the PIN."""
        event.stop()
        self.action_set_pin()

    def action_set_pin(self) -> None:
        """Check the two boxes agree, then wrap the keys under the PIN (in a worker)."""
        first = self.query_one("#new-pin", Input)
        again = self.query_one("#repeat-pin", Input)
        if first.value != again.value:
            self.notify("The two PINs differ: type them again.", severity="error")
            first.value = again.value = ""
            first.focus()
            return
        pin, first.value, again.value = first.value, "", ""
        self.set_pin(pin)

    @work(thread=True, exclusive=True, exit_on_error=False, group="pin")
    def set_pin(self, pin: str) -> None:
        """Set the PIN off the UI thread (Argon2id is slow on purpose)."""
        try:
            self.services.store.set_pin(pin)
        except FieldAppError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", markup=False)
        else:
            self.app.call_from_thread(self._pin_set)

    def _pin_set(self) -> None:
        self.notify("PIN set for this shift.")
        self.show_state()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        """Keep the chosen acknowledgement."""
        if self.duress is not None and event.radio_set.pressed_index >= 0:
            self.duress.choose_acknowledgement(ACKNOWLEDGEMENTS[event.radio_set.pressed_index])

    def action_leave(self) -> None:
        """Back to where the clinician was."""
        self.app.pop_screen()
