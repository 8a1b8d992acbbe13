"""The session note: a SOAP draft prefilled from the visit; sign; then addenda only."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Button, Label, Static, TextArea

from fieldapp.services.recovery import SOAP, Note
from fieldapp.services.visit import VisitSession
from fieldapp.tui.screens.step import StepScreen


class NoteScreen(StepScreen):
    """Four text areas; after signing they are read-only and an addendum box appears."""

    STEP = "note"
    AUTO_FOCUS = "TextArea"
    BINDINGS: ClassVar[list[BindingType]] = [
        *StepScreen.BINDINGS,
        Binding("ctrl+s", "sign", "Sign", id="note-sign"),
        Binding("ctrl+o", "check_out", "Check-out", id="note-checkout"),
    ]

    def __init__(self, session: VisitSession) -> None:
        super().__init__(session)
        self.note = Note(session)

    def compose(self) -> ComposeResult:
        """SOAP sections, the addendum box, buttons."""
        signed = self.note.signed
        fields = {k: getattr(signed, k) for k in SOAP} if signed is not None else self.note.draft()
        yield self.compose_chrome_top()
        yield self.visit_banner()
        with VerticalScroll(id="note-form"):
            yield Static("", id="note-state")
            for key in SOAP:
                yield Label(key.capitalize(), classes="note-label")
                yield TextArea(fields.get(key, ""), id=f"soap-{key}", read_only=signed is not None)
            yield Label("Addendum", classes="note-label", id="addendum-label")
            yield TextArea("", id="addendum")
            yield Static("", id="addenda", markup=False)
        yield self.buttons(
            Button("Sign note", id="sign", variant="primary"),
            Button("Add addendum", id="amend"),
            Button("Go to check-out", id="checkout", variant="success"),
        )
        yield from self.compose_chrome_bottom()

    def on_mount(self) -> None:
        """Show the note's state."""
        self.show_state()

    def soap(self) -> dict[str, str]:
        """The four sections as typed."""
        return {k: self.query_one(f"#soap-{k}", TextArea).text for k in SOAP}

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        """Keep the draft as typed (a signed note has no draft)."""
        if self.note.signed is None and event.text_area.id != "addendum":
            self.note.save_draft(self.soap())

    def show_state(self) -> None:
        """Draft or signed; which buttons apply."""
        signed = self.note.signed
        state = self.query_one("#note-state", Static)
        if signed is None:
            state.update("Draft (saved encrypted as you type). Sign when complete.")
        else:
            state.update(f"Signed by {signed.signed_by} at {signed.signed_at:%H:%M}. Addenda only.")
            for key in SOAP:
                self.query_one(f"#soap-{key}", TextArea).read_only = True
        self.query_one("#sign", Button).display = signed is None
        for wid in ("#amend", "#addendum", "#addendum-label", "#checkout"):
            self.query_one(wid).display = signed is not None
        addenda = self.session.addenda()
        self.query_one("#addenda", Static).update(
            "\n".join(f"Addendum {a.recorded_at:%H:%M}: {a.text}" for a in addenda)
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Sign, amend or go on."""
        if event.button.id == "sign":
            self.action_sign()
        elif event.button.id == "amend":
            self.amend()
        elif event.button.id == "checkout":
            self.action_check_out()

    def action_sign(self) -> None:
        """Sign: the note is frozen from now on."""
        if self.attempt(self.note.sign, self.soap()) is not None:
            self.notify("Note signed.")
            self.show_state()

    def amend(self) -> None:
        """Add the addendum typed below the signed note."""
        box = self.query_one("#addendum", TextArea)
        if self.attempt(self.note.amend, box.text) is not None:
            box.text = ""
            self.notify("Addendum added.")
            self.show_state()

    def action_check_out(self) -> None:
        """On to check-out once signed."""
        if self.note.signed is None:
            self.notify("Sign the note first.", severity="error")
            return
        self.done()
