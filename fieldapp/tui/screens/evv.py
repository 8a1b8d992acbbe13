"""Check-in and check-out: the six EVV elements, and the location attested without a fix."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widget import AwaitMount
from textual.widgets import Button, Checkbox, Static

from fieldapp.errors import FieldAppError
from fieldapp.services.visit import (
    MIN_REASON_CHARS,
    SERVICE_TYPE,
    AnotherVisitOpen,
    VisitSession,
)
from fieldapp.tui.screens.step import StepScreen
from fieldapp.tui.widgets.field import Field


class EvvScreen(StepScreen):
    """Shows the EVV elements; en route, then check in (or, at the end, check out)."""

    # Space ticks the attestation straight away; ctrl+s then checks in or out.
    AUTO_FOCUS = "#evv-attest"
    BINDINGS: ClassVar[list[BindingType]] = [
        *StepScreen.BINDINGS,
        Binding("ctrl+r", "en_route", "En route", id="evv-en-route"),
        Binding("ctrl+s", "confirm", "Check in/out", id="evv-confirm"),
    ]

    def __init__(self, session: VisitSession, checkout: bool = False) -> None:
        super().__init__(session)
        self.checkout = checkout
        self.STEP = "checkout" if checkout else "checkin"  # type: ignore[misc]
        self.reason = _reason_field()

    def compose(self) -> ComposeResult:
        """The visit, its EVV elements, the attestation and the buttons."""
        yield self.compose_chrome_top()
        yield self.visit_banner()
        with VerticalScroll(id="evv-form"):
            yield Static(self._elements(), id="evv-elements", markup=False)
            yield Static("No location fix on this device.", id="evv-fix")
            yield Checkbox("I attest that I am at the patient's address", id="evv-attest")
            # Shown only when another visit is still checked in (see `arrive`).
            why = Static("", id="evv-second", markup=False)
            why.display = False
            yield why
            en_route = Button("En route", id="en-route")
            en_route.display = self._offers_en_route()
            yield self.buttons(
                en_route, Button(self._confirm_label(), id="confirm", variant="primary")
            )
        yield from self.compose_chrome_bottom()

    def on_mount(self) -> None:
        """Bring back the attestation (and a reason) typed before a lock or a crash."""
        self._restore()

    def show_visit(self, session: VisitSession, checkout: bool = False) -> None:
        """Show another visit's check-in (or check-out) on this screen, already built.

        The app keeps one check-in screen while unlocked and refills it for each visit it
        opens: a new one costs Textual five times the refill (benchmarks/tui_bench.py).
        Everything the last visit put here is replaced; what the draft kept comes back.
        """
        self.session = session
        self.checkout = checkout
        self.STEP = "checkout" if checkout else "checkin"  # type: ignore[misc]
        self.forget_form()
        self.query_one("#visit-banner", Static).update(self.banner_text())
        self.query_one("#evv-elements", Static).update(self._elements())
        attest = self.query_one("#evv-attest", Checkbox)
        with attest.prevent(Checkbox.Changed):  # not a tick: nothing to save
            attest.value = False
        second = self.query_one("#evv-second", Static)
        second.update("")
        second.display = False
        self.query_one("#en-route", Button).display = self._offers_en_route()
        self.query_one("#confirm", Button).label = self._confirm_label()
        self.reason.reset()
        self.reason.display = False
        self.query_one("#evv-form", VerticalScroll).scroll_home(animate=False)
        attest.focus()
        self._restore()

    def _restore(self) -> None:
        self.restore_draft()
        if self.reason.value.strip():
            self.ask_reason()

    def _elements(self) -> str:
        """The visit's window, address and flags, and the six EVV elements."""
        s = self.session
        address = s.visit.address
        unit = f" {address.unit}" if address.unit else ""
        return "\n".join(
            [
                f"Window   {s.visit.window_start:%H:%M}–{s.visit.window_end:%H:%M}"
                f"   ETA {s.visit.eta:%H:%M}"
                if s.visit.eta
                else "",
                f"Address  {address.street}{unit}, {address.city}",
                f"Flags    {', '.join(s.visit.safety_flags) or 'none'}",
                "",
                "EVV: service type, patient, date, location, clinician, time",
                f"  {SERVICE_TYPE} · {s.patient.display_name} · "
                f"{self.services.clock.now():%Y-%m-%d} · (location below) · "
                f"{self.services.user} · (time of the press)",
            ]
        )

    def _offers_en_route(self) -> bool:
        return not self.checkout and not self.session.has_status("en_route")

    def _confirm_label(self) -> str:
        return "Check out" if self.checkout else "Arrived: check in"

    def fields(self) -> dict[str, Field]:
        """The form's fields, the reason for a second open visit among them (shown or not:
        its text is part of the draft either way)."""
        return {**super().fields(), "second_reason": self.reason}

    def ask_reason(self) -> AwaitMount | None:
        """Show the reason field above the buttons; the first time it is mounted (await
        that before giving it the focus)."""
        reason = self.reason
        reason.display = True
        if reason.parent is not None:
            return None
        form = self.query_one("#evv-form", VerticalScroll)
        return form.mount(reason, before=form.query_one(".step-buttons"))

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        """En route or confirm."""
        if event.button.id == "en-route":
            self.action_en_route()
        elif event.button.id == "confirm":
            await self.action_confirm()

    def action_en_route(self) -> None:
        """Leaving for this visit."""
        if self.attempt(self.session.en_route) is None and self.session.has_status("en_route"):
            self.notify("En route recorded.")
            self.query_one("#en-route", Button).display = False

    async def action_confirm(self) -> None:
        """Check in or out, with the attestation standing in for a location fix."""
        attested = self.query_one("#evv-attest", Checkbox).value
        if self.checkout:
            if self.attempt(self.session.check_out, None, None, attested) is not None:
                self.notify("Checked out.")
                self.done()
            return
        field = self.reason
        try:
            self.session.arrive(None, None, attested, second_reason=field.value)
        except AnotherVisitOpen as exc:
            # Ask for the reason right here, keeping what was ticked and typed.
            why = self.query_one("#evv-second", Static)
            why.update(str(exc))
            why.display = True
            mounted = self.ask_reason()
            if mounted is not None:
                # Keys typed meanwhile wait, then go to the field, not to the tick box.
                await mounted
            field.focus_input()
            self.notify(str(exc), severity="error", markup=False, timeout=12)
            return
        except FieldAppError as exc:
            self.notify(str(exc), severity="error", markup=False, timeout=8)
            return
        self.notify("Checked in." + (" Reason recorded." if field.display else ""))
        self.done()


def _reason(text: str) -> str | None:
    if len(text.strip()) < MIN_REASON_CHARS:
        return f"Say why in at least {MIN_REASON_CHARS} characters"
    return None


def _reason_field() -> Field:
    """Asked for only when another visit is still checked in (see `action_confirm`): built
    here, mounted then, so opening a visit does not style and mount a hidden field (a fifth
    of the time Textual took to open this screen)."""
    reason = Field(
        "second_reason",
        "Why a second open visit",
        _reason,
        placeholder="e.g. the first patient's check-out was missed",
    )
    reason.display = False
    return reason
