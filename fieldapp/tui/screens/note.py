"""The session note: a SOAP draft prefilled from the visit; sign (PIN or passphrase again);
then addenda only, each with its author and time, read above the signed note."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Button, Label, Static, TextArea

from fieldapp.services.recovery import SOAP, Note
from fieldapp.services.visit import StepRefused, VisitSession
from fieldapp.tui.screens.reauth import ReauthDialog
from fieldapp.tui.screens.step import StepScreen

SIGNED_ONLY = frozenset({"amend", "write_addendum", "check_out"})
"""Actions that exist only once the note is signed (the footer shows them only then)."""


class NoteScreen(StepScreen):
    """Four text areas to sign; once signed, the addenda and the box for a new one come
    first (where the signed note is read), and the four sections below are read-only."""

    STEP = "note"
    AUTO_FOCUS = ""  # on_mount decides: the first section, or a signed note's addendum box
    BINDINGS: ClassVar[list[BindingType]] = [
        *StepScreen.BINDINGS,
        Binding("ctrl+s", "sign", "Sign", id="note-sign"),
        # The same key saves an addendum once signed: only one of the two is ever offered.
        Binding("ctrl+s", "amend", "Save addendum", id="note-amend"),
        Binding("ctrl+n", "write_addendum", "New addendum", id="note-addendum"),
        Binding("ctrl+o", "check_out", "Check-out", id="note-checkout"),
    ]

    def __init__(self, session: VisitSession) -> None:
        super().__init__(session)
        self.note = Note(session)
        self._signed = self.note.signed is not None

    def compose(self) -> ComposeResult:
        """The note's state; once signed, the addenda and a new one's box; then SOAP."""
        signed = self.note.signed
        fields = {k: getattr(signed, k) for k in SOAP} if signed is not None else self.note.draft()
        yield self.compose_chrome_top()
        yield self.visit_banner()
        # The state stays in view above the form: draft or signed, by whom and when.
        yield Static("", id="note-state", markup=False)
        with VerticalScroll(id="note-form"):
            yield Static("", id="addenda", markup=False)
            yield Label("New addendum (Ctrl+S saves it)", classes="note-label", id="addendum-label")
            yield TextArea("", id="addendum")
            for key in SOAP:
                yield Label(key.capitalize(), classes="note-label")
                yield TextArea(fields.get(key, ""), id=f"soap-{key}", read_only=signed is not None)
        yield self.buttons(
            Button("Sign note", id="sign", variant="primary"),
            Button("Save addendum", id="amend"),
            Button("Go to check-out", id="checkout", variant="success"),
        )
        yield from self.compose_chrome_bottom()

    def on_mount(self) -> None:
        """Show the note's state; a signed note opens at its addendum box."""
        self.show_state()
        first = "#addendum" if self._signed else "#soap-subjective"
        self.set_focus(self.query_one(first, TextArea), scroll_visible=False)

    def soap(self) -> dict[str, str]:
        """The four sections as typed."""
        return {k: self.query_one(f"#soap-{k}", TextArea).text for k in SOAP}

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        """Keep the draft as typed (a signed note has no draft)."""
        if not self._signed and event.text_area.id != "addendum":
            self.note.save_draft(self.soap())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer only what can be done now: Sign before signing, addenda and check-out after."""
        if action == "sign":
            return not self._signed
        if action == "check_out":  # a visit already checked out is only read and amended
            return self._signed and self.session.step != "done"
        if action in SIGNED_ONLY:
            return self._signed
        return True

    def show_state(self) -> None:
        """Draft or signed; which parts and buttons apply."""
        signed = self.note.signed
        self._signed = signed is not None
        state = self.query_one("#note-state", Static)
        if signed is None:
            state.update("Draft (saved encrypted as you type). Sign when complete: Ctrl+S.")
        else:
            at = self._local(signed.signed_at)
            state.update(
                f"Signed by {signed.signed_by} at {at:%H:%M}. The note no longer changes: "
                "add an addendum (Ctrl+N)."
            )
            for key in SOAP:
                self.query_one(f"#soap-{key}", TextArea).read_only = True
        self.query_one("#sign", Button).display = signed is None
        for wid in ("#amend", "#addendum", "#addendum-label", "#addenda"):
            self.query_one(wid).display = signed is not None
        self.query_one("#checkout", Button).display = self.check_action("check_out", ()) is True
        addenda = self.session.addenda()
        self.query_one("#addenda", Static).update(
            "\n".join(
                f"Addendum by {a.recorded_by} at {self._local(a.recorded_at):%H:%M}: {a.text}"
                for a in addenda
            )
            or "No addenda yet."
        )
        self.refresh_bindings()

    def _local(self, when: datetime | None) -> datetime:
        """A recorded time in the clinic's zone (the clock's)."""
        now = self.services.clock.now()
        return (when or now).astimezone(now.tzinfo)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Sign, amend or go on."""
        if event.button.id == "sign":
            self.action_sign()
        elif event.button.id == "amend":
            self.action_amend()
        elif event.button.id == "checkout":
            self.action_check_out()

    def action_sign(self) -> None:
        """Sign, after the bedside PIN (or the passphrase): the note is frozen from then on."""
        fields = self.soap()
        try:
            self.note.check_signable(fields)
        except StepRefused as exc:
            self.notify(str(exc), severity="error", markup=False, timeout=8)
            return

        def confirmed(ok: bool | None) -> None:
            if not ok:
                self.notify("Not signed: the note stays a draft.", markup=False)
                return
            if self.attempt(self.note.sign, fields) is not None:
                self.notify("Note signed.")
                self.show_state()
                self.query_one("#addendum", TextArea).focus()

        self.app.push_screen(
            ReauthDialog(
                self.services,
                "Sign the session note",
                f"Signing as {self.services.user}. Once signed the note never changes.",
            ),
            confirmed,
        )

    def action_write_addendum(self) -> None:
        """To the addendum box (at the top, above the signed note)."""
        box = self.query_one("#addendum", TextArea)
        box.focus()
        self.query_one("#note-form", VerticalScroll).scroll_home(animate=False)

    def action_amend(self) -> None:
        """Save the addendum typed, with its author and time."""
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
