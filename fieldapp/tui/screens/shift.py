"""The start-of-shift check: the credentials the clinic holds, and the kit checked once."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from fieldapp.errors import FieldAppError
from fieldapp.services.answers import Item, parse_answer
from fieldapp.services.checklist import items
from fieldapp.services.clock import today
from fieldapp.services.shift import credentials, profile, record_check, shift_items, todays_check
from fieldapp.tui.screens.base import FieldScreen
from fieldapp.tui.widgets.field import Field, FormScroll

STATE_STYLE = {"ok": "green", "warn": "bold yellow", "blocked": "bold white on red"}
STATE_MARK = {"ok": "✓", "warn": "!", "blocked": "✗"}


def _checker(item: Item):  # type: ignore[no-untyped-def]
    return lambda text: parse_answer(item, text)[1]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "y" if value else "n"
    return "" if value is None else str(value)


class ShiftScreen(FieldScreen):
    """Credentials on top (from the clinic's profile), the shift's items below."""

    STYLES: ClassVar[tuple[str, ...]] = ("forms.tcss", "shift.tcss")
    """Its stylesheets in fieldapp/tui/styles/, read as it first opens."""

    AUTO_FOCUS = ".field-input"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save shift check", id="shift-save"),
        Binding("escape", "leave", "Back", id="shift-leave"),
    ]

    def __init__(self, services: Any) -> None:
        super().__init__(services)
        self.items = shift_items(items())

    def compose(self) -> ComposeResult:
        """Title, credentials, the shift's questions, status line and footer."""
        yield self.compose_chrome_top()
        yield Static("", id="shift-title", markup=False)
        with VerticalScroll(id="shift-body"):
            yield Static("", id="shift-credentials")
            yield Static("Stock: reading the ledger…", id="shift-stock", markup=False)
            yield Static(
                "Checked once for the whole shift; each visit's checklist shows these answers.",
                id="shift-explain",
            )
            with FormScroll(id="shift-form"):
                for item in self.items:
                    yield Field(item.id, item.label, _checker(item), placeholder=item.hint)
        yield from self.compose_chrome_bottom()

    def on_mount(self) -> None:
        """Show the credentials; a check done earlier today fills the answers in."""
        self.show_credentials()
        self.load_stock()
        done = todays_check(self.services)
        if done is not None:
            for field in self.query(Field):
                if field.field_id in done.answers:
                    field.value = _text(done.answers[field.field_id])
        self.show_title()

    def show_title(self) -> None:
        """The day, and whether the check is done (by whom, when)."""
        day = today(self.services.clock)
        done = todays_check(self.services)
        state = (
            f"done by {done.recorded_by} at {done.recorded_at:%H:%M} (save again to correct it)"
            if done is not None
            else "not done yet"
        )
        self.query_one("#shift-title", Static).update(f"Start of shift · {day:%a %d %b} · {state}")

    def show_credentials(self) -> None:
        """Each credential with its state: current, expiring soon, or blocking."""
        services = self.services
        day = today(services.clock)
        states = sorted({v.address.state for v in services.store.visits_for_day(day)})
        held = profile(services)
        text = Text("Credentials (from the clinic", "bold")
        if held is not None:
            at = held.updated_at.astimezone(services.clock.now().tzinfo)
            text.append(f", set by {held.updated_by} on {at:%Y-%m-%d}", "bold")
        text.append("):\n", "bold")
        warn_days = services.settings.shift.credential_warn_days
        for found in credentials(held, day, warn_days, states):
            style = STATE_STYLE[found.state]
            text.append(f" {STATE_MARK[found.state]} {found.label}: {found.value}", style)
            if found.note:
                text.append(f"  {found.note}", "" if found.state == "ok" else style)
            text.append("\n")
        self.query_one("#shift-credentials", Static).update(text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="shift")
    def load_stock(self) -> None:
        """The vials carried today, from the ledger (its first read decrypts its entries)."""
        carried = self.services.ledger.carried()
        if carried:
            names = ", ".join(f"{v.vial} ({v.in_vial_mg.normalize():f} mg)" for v in carried)
            line = f"Stock (the ledger, F3): {len(carried)} carried: {names}"
        else:
            line = "Stock (the ledger, F3): no vial carried yet today. Carry the day's with c."
        self.app.call_from_thread(self.query_one("#shift-stock", Static).update, line)

    def action_save(self) -> None:
        """Record the shift's answers (refused, the form stays as typed)."""
        texts = {f.field_id: f.value for f in self.query(Field)}
        try:
            record_check(self.services, self.items, texts)
        except FieldAppError as exc:
            self.notify(str(exc), severity="error", markup=False, timeout=10)
            return
        self.notify("Start-of-shift check saved: the visits' checklists take these answers.")
        self.show_title()

    def action_leave(self) -> None:
        """Back to where the clinician was."""
        self.app.pop_screen()
