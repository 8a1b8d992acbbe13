"""Break-glass: ask for a patient outside the assignment, then see them under a banner.

`BreakGlassScreen` is the request: the patient's id (dispatch reads it out), a coded reason,
the clinician's own words and how long (the clinic's setting at most). It needs the clinic
server; offline it says so and grants nothing. `BreakGlassPatientScreen` shows the patient
under "BREAK-GLASS, expires HH:MM" once the sync has brought them, and hides them the
second the grant ends (the next sync takes the record off the laptop).
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import ValidationError
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static

from fieldapp.services import break_glass
from fieldapp.services.break_glass import BreakGlassUnavailable
from fieldapp.services.context import AppServices
from fieldapp.tui.deferred import deferred
from fieldapp.tui.screens.base import FieldScreen
from sync.records import PatientSummary


def _problem(exc: ValidationError) -> str:
    """The first problem of the form, in words (never the typed value)."""
    names = {"patient_id": "Patient id", "reason_code": "Reason", "reason": "Why", "minutes": "For"}
    first = exc.errors()[0]
    where = names.get(str(first["loc"][0]) if first["loc"] else "", "The form")
    return f"{where}: {first['msg']}"


class BreakGlassScreen(FieldScreen):
    """The request form; on a grant it opens the patient's screen."""

    STYLES: ClassVar[tuple[str, ...]] = ("break_glass.tcss",)
    """Its stylesheets in fieldapp/tui/styles/, read as it first opens."""

    AUTO_FOCUS = "#bg-patient"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Back", id="break-glass-leave"),
        Binding("ctrl+s", "ask", "Break the glass", id="break-glass-ask"),
    ]

    def __init__(self, services: AppServices) -> None:
        super().__init__(services)
        self.asking = False

    def compose(self) -> ComposeResult:
        """The warning, the form, the answer."""
        yield self.compose_chrome_top()
        yield Static(
            "Break-glass: see a patient who is not yours (a colleague's, in an emergency). "
            "The clinic grants it for a set time, audits every view and tells the supervisor "
            "at once.",
            id="bg-warning",
        )
        # Above the form, not under it: at 80x24 the form scrolls, and the answer (the
        # grant, a refusal, "needs the clinic server") must be seen without scrolling.
        yield Static("", id="bg-answer", markup=False)
        with VerticalScroll(id="bg-form"):
            yield Label("Patient id (ask dispatch)")
            yield Input(id="bg-patient", placeholder="e.g. 3f2c…-…")
            yield Label("Reason")
            yield Select(break_glass.reason_choices(), id="bg-code", prompt="Choose the reason")
            yield Label("Why, in your words")
            yield Input(id="bg-reason", max_length=500)
            yield Label("For how many minutes (empty: the clinic's longest)")
            yield Input(id="bg-minutes", type="integer")
            with Horizontal(id="bg-buttons"):
                yield Button("Break the glass", id="bg-ask", variant="error")
        yield from self.compose_chrome_bottom()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """The only button asks."""
        if event.button.id == "bg-ask":
            self.action_ask()

    def action_leave(self) -> None:
        """Back without asking."""
        self.app.pop_screen()

    def say(self, text: str) -> None:
        """Show the answer under the form."""
        self.query_one("#bg-answer", Static).update(text)

    def action_ask(self) -> None:
        """Check the form here, then ask the clinic in a worker."""
        if self.asking:
            return
        code = self.query_one("#bg-code", Select).value
        minutes = self.query_one("#bg-minutes", Input).value.strip()
        try:
            patient_id = UUID(self.query_one("#bg-patient", Input).value.strip())
        except ValueError:
            self.say("Patient id: not a patient id (dispatch reads it from the visit).")
            return
        if code is Select.BLANK:
            self.say("Reason: choose one.")
            return
        self.asking = True
        self.say("Asking the clinic…")
        self.run_worker(
            deferred(
                self._ask, patient_id, str(code), self.query_one("#bg-reason", Input).value, minutes
            ),
            exclusive=True,
        )

    async def _ask(self, patient_id: UUID, code: str, reason: str, minutes: str) -> None:
        try:
            grant = await break_glass.ask(
                self.services, patient_id, code, reason, int(minutes) if minutes else None
            )
        except ValidationError as exc:
            self.say(_problem(exc))
        except BreakGlassUnavailable as exc:
            self.say(str(exc))
        else:
            self.app.switch_screen(BreakGlassPatientScreen(self.services, grant.id))
            self.field_app.sync_now()
        finally:
            self.asking = False


class BreakGlassPatientScreen(FieldScreen):
    """The patient under the break-glass banner, while the grant holds."""

    STYLES: ClassVar[tuple[str, ...]] = ("break_glass.tcss",)
    """Its stylesheets in fieldapp/tui/styles/, read as it first opens."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Back", id="break-glass-patient-leave"),
    ]

    def __init__(self, services: AppServices, grant_id: UUID) -> None:
        super().__init__(services)
        self.grant_id = grant_id
        self.from_clinic: PatientSummary | None = None
        """The patient as the clinic answered this screen's read (audited there)."""
        self.ended_at_clinic = False

    def compose(self) -> ComposeResult:
        """Banner, then the patient."""
        yield self.compose_chrome_top()
        yield Static("", id="bg-banner", markup=False)
        with VerticalScroll(id="bg-patient-body"):
            yield Static("", id="bg-patient-text", markup=False)
        yield from self.compose_chrome_bottom()

    def on_mount(self) -> None:
        """Show it now and check the grant every second (it ends on the clock)."""
        self.show_access()
        self.set_interval(1, self.show_access)
        self.read_again()

    def read_again(self) -> None:
        """Read the patient from the clinic (each read is audited there), in a worker."""
        self.run_worker(deferred(self._read), group="break-glass-read", exclusive=True)

    async def _read(self) -> None:
        try:
            self.from_clinic = await break_glass.read_from_clinic(self.services, self.grant_id)
        except BreakGlassUnavailable:
            self.ended_at_clinic = True
        self.show_access()

    def action_leave(self) -> None:
        """Back."""
        self.app.pop_screen()

    def show_access(self) -> None:
        """The banner and the patient, or why the patient is not shown."""
        if self.services.store.is_locked:
            return
        access = break_glass.access(self.services, self.grant_id)
        now = self.services.clock.now()
        banner = self.query_one("#bg-banner", Static)
        body = self.query_one("#bg-patient-text", Static)
        if access is None:
            banner.update("BREAK-GLASS ended: this access is over")
            body.update("The access has ended and its record has left this laptop.")
            return
        banner.update(access.banner(now))
        patient = self.from_clinic or access.patient
        if not access.grant.active(now) or self.ended_at_clinic:
            body.update("The access has ended: the patient is no longer shown.")
        elif patient is None:
            body.update("Granted. Fetching the patient's record from the clinic…")
        else:
            source = (
                "Read from the clinic (this view is in its audit trail)."
                if self.from_clinic is not None
                else "From this laptop's copy: the clinic cannot be asked now (it audited "
                "handing the record over)."
            )
            body.update(patient_text(patient) + "\n\n" + source)


def patient_text(p: PatientSummary) -> str:
    """What the clinician needs first about a patient that is not theirs."""
    lines = [
        f"{p.display_name}  born {p.date_of_birth:%Y-%m-%d}  {p.sex}  phone {p.phone}",
        f"{p.address.street}, {p.address.city}",
        f"Allergies: {', '.join(p.allergies) or 'none recorded'}",
        f"Medications: {', '.join(p.medications) or 'none recorded'}",
        f"Diagnoses: {', '.join(d.name for d in p.diagnoses) or 'none recorded'}",
        f"Conditions: {', '.join(p.conditions) or 'none recorded'}",
        f"Safety flags: {', '.join(p.safety_flags) or 'none'}",
    ]
    if p.weight_kg is not None:
        lines.append(f"Weight: {p.weight_kg:g} kg")
    lines.append(f"Infusions completed: {p.infusions_completed}")
    return "\n".join(lines)
