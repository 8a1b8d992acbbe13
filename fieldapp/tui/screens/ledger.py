"""Controlled substances: the vials carried today, every entry, and the day's reconciliation.

The screen speaks mg, the unit of the orders and the reasons, with mL beside it: waste and
breakage are typed in mg and the dialog shows the mL at the vial's strength as typed (a
count is measured in mL, with the mg beside it). Every entry is recorded by its dialog,
which stays open with what was typed when the entry is refused. A return asks first. The
outcome of the last entry stays on the line under the title, above any older notice.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar, Literal

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from fieldapp.clinical.ledger import DayLedger
from fieldapp.errors import FieldAppError
from fieldapp.services.approvals import ApprovalLink
from fieldapp.services.clock import today
from fieldapp.services.ledger import Vial, mg_problem, ml_of, ml_text, parse_mg
from fieldapp.services.validation import spec_for
from fieldapp.tui.deferred import deferred
from fieldapp.tui.screens.approval import RemoteApprovalDialog
from fieldapp.tui.screens.base import FieldScreen
from fieldapp.tui.screens.confirm import ConfirmDialog
from fieldapp.tui.screens.entry import Ask, EntryDialog
from fieldapp.tui.widgets.fit_table import Cell, Col, FitTable
from sync.approvals import AnswerRefused, RequestPublic
from sync.records import SubstanceEvent

Severity = Literal["information", "warning", "error"]

# What is left (mg, then its mL) and the vial's state first and whole: they matter most
# at the bedside. Every amount is mg but the mL beside what is left and the vial's own
# label (strength, fill); the vial's name gives way last.
COLUMNS = (
    Col("Vial", shrink_to=6, last=1),
    Col("Left mg"),
    Col("mL"),
    Col("Status", shrink_to=10),
    Col("Given"),
    Col("Wasted"),
    Col("Broken"),
    Col("mg/mL"),
    Col("Fill mL", shrink_to=4),
)
STATUS_STYLE = {
    "balanced": "green",
    "overage": "yellow",
    "incomplete": "bold yellow",
    "discrepancy": "bold white on red",
}


# The ranges are the ledger record's (`SubstanceEvent`), the one definition.
_ml = spec_for(SubstanceEvent, "ml", "The amount", "mL", "float").problem
_strength = spec_for(
    SubstanceEvent, "concentration_mg_per_ml", "Strength", "mg/mL", "float"
).problem
_fill = spec_for(SubstanceEvent, "fill_ml", "Fill volume", "mL", "float").problem


def _yes_no(text: str) -> str | None:
    return None if text.strip().lower() in ("yes", "no") else "Answer yes or no."


def _said_yes(text: str) -> bool:
    return text.strip().lower() == "yes"


def _required(label: str) -> Callable[[str], str | None]:
    return lambda text: None if text.strip() else f"{label} is required"


class LedgerScreen(FieldScreen):
    """The day's vials with their running balance; entries through small dialogs."""

    STYLES: ClassVar[tuple[str, ...]] = ("ledger.tcss",)
    """Its stylesheets in fieldapp/tui/styles/, read as it first opens."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "carry", "Carry vial", id="ledger-carry"),
        Binding("w", "waste", "Waste", id="ledger-waste"),
        Binding("b", "breakage", "Breakage", id="ledger-breakage"),
        Binding("n", "count", "Count", id="ledger-count"),
        Binding("t", "give_back", "Return", id="ledger-return"),
        Binding("v", "resolve", "Resolve", id="ledger-resolve"),
        Binding("ctrl+d", "close_day", "Close day", id="ledger-close"),
        Binding("escape", "leave", "Back", id="ledger-leave"),
    ]

    def __init__(self, services: Any) -> None:
        super().__init__(services)
        self.vials: list[Vial] = []
        self.ledger: DayLedger | None = None

    def compose(self) -> ComposeResult:
        """Title, the vials table beside the reasons, status line and footer."""
        yield self.compose_chrome_top()
        yield Static("Loading the ledger…", id="ledger-title")
        yield Static("", id="ledger-message", markup=False)
        with Horizontal(id="ledger-body"):
            yield FitTable(COLUMNS, id="ledger-vials", cursor_type="row")
            with VerticalScroll(id="ledger-panel"):
                yield Static("", id="ledger-reasons")
        yield from self.compose_chrome_bottom()

    def on_mount(self) -> None:
        """Read the ledger."""
        self.load_ledger()

    @work(thread=True, exclusive=True, exit_on_error=False, group="ledger")
    def load_ledger(self) -> None:
        """Reconcile the day off the UI thread (the first read decrypts every entry)."""
        book = self.services.ledger
        ledger, vials = book.day(), book.vials()
        self.app.call_from_thread(self.show, ledger, vials)

    def show(self, ledger: DayLedger, vials: list[Vial]) -> None:
        """Fill the table and the reasons from the engine's reconciliation."""
        self.ledger, self.vials = ledger, vials
        table = self.query_one("#ledger-vials", FitTable)
        rows = []
        for vial in vials:
            n = ledger.vials[vial.vial].numbers
            status = vial.status.upper() + (" · locked" if vial.locked else "")
            status += "" if vial.carried else " · returned"
            cells: list[Cell] = [
                vial.vial,
                _num(vial.in_vial_mg),
                f"{vial.in_vial_ml:.2f}",
                Text(status, STATUS_STYLE.get(vial.status, "")),
                _num(n.get("administered_mg")),
                _num(n.get("wasted_mg")),
                _num(n.get("breakage_mg")),
                f"{_num(vial.mg_per_ml)}",
                _num(vial.fill_ml),
            ]
            rows.append((vial.vial, cells))
        table.show(rows)
        day = today(self.services.clock)
        title = f"Controlled substances · {day:%a %d %b}"
        if vials:
            state = "reconciles" if ledger.may_close else "does not close yet"
            noun = "vial" if len(vials) == 1 else "vials"
            title += f" · {len(vials)} {noun} · the day {state}"
        self.query_one("#ledger-title", Static).update(title)
        self.query_one("#ledger-reasons", Static).update(self._reasons(ledger))
        table.focus()

    def _reasons(self, ledger: DayLedger) -> Text:
        text = Text()
        if not ledger.vials:
            text.append("No vial carried today. Carry one with c.", "dim")
            return text
        head = "DAY RECONCILES" if ledger.may_close else f"DAY {ledger.status.upper()}"
        text.append(head + "\n", "bold green" if ledger.may_close else "bold red")
        for reason in ledger.reasons:
            text.append(f"● {reason.message}", STATUS_STYLE.get(reason.outcome, ""))
            text.append("\n")
        for duty in ledger.obligations:
            text.append(f"→ {duty.kind.replace('_', ' ')} due {duty.due}\n", "bold")
        return text

    def selected(self) -> str:
        """The vial under the cursor ("" when none)."""
        table = self.query_one("#ledger-vials", FitTable)
        if not self.vials or table.cursor_row < 0:
            return ""
        return self.vials[min(table.cursor_row, len(self.vials) - 1)].vial

    # -- entries -------------------------------------------------------------------------

    def say(self, text: str, severity: Severity = "information") -> None:
        """The outcome of the last entry: on the line under the title (never under older
        notices) and as a notice."""
        line = self.query_one("#ledger-message", Static)
        line.update(text)
        line.set_classes(f"-{severity}")
        self.notify(text, severity=severity, markup=False, timeout=10)

    def _ask(
        self,
        title: str,
        asks: list[Ask],
        save: Callable[[dict[str, str]], Any],
        explain: str,
        said: Callable[[dict[str, str], Any], str] | None = None,
        derived: Callable[[dict[str, str]], str] | None = None,
    ) -> None:
        """A dialog that records the entry itself: refused, it stays open with what was
        typed; recorded, the ledger is read again and `said` tells what was done."""
        dialog = EntryDialog(title, asks, explain, save=save, derived=derived)

        def done(answers: dict[str, str] | None) -> None:
            if answers is None:
                return
            if said is not None:
                self.say(said(answers, dialog.saved))
            self.load_ledger()

        self.app.push_screen(dialog, done)

    def _vial(self, name: str) -> Vial | None:
        return next((v for v in self.vials if v.vial == name.strip()), None)

    def _mg_beside(self, answers: dict[str, str]) -> str:
        """The mL of the mg typed, at the vial's strength."""
        vial = self._vial(answers.get("vial", ""))
        if vial is None:
            return "Name a vial carried today to see the mL."
        if mg_problem(answers.get("mg", "")) is not None:
            return (
                f"Vial {vial.vial}: {_num(vial.mg_per_ml)} mg/mL, {_num(vial.in_vial_mg)} mg left."
            )
        mg = parse_mg(answers["mg"])
        ml = ml_of(mg, vial.mg_per_ml)
        return f"= {ml_text(ml)} at {_num(vial.mg_per_ml)} mg/mL (vial {vial.vial})"

    def _mg_beside_ml(self, answers: dict[str, str]) -> str:
        """The mg of the mL measured, at the vial's strength."""
        vial = self._vial(answers.get("vial", ""))
        if vial is None:
            return "Name a vial carried today to see the mg."
        if _ml(answers.get("ml", "")) is not None:
            return f"Vial {vial.vial}: {_num(vial.mg_per_ml)} mg/mL."
        mg = (Decimal(answers["ml"].strip()) * vial.mg_per_ml).quantize(Decimal("0.01"))
        return f"= {_num(mg)} mg at {_num(vial.mg_per_ml)} mg/mL (vial {vial.vial})"

    def action_carry(self) -> None:
        """Take a vial out for the day."""
        self._ask(
            "Carry a vial",
            [
                Ask("vial", "Vial id (label)", _required("Vial id")),
                Ask("strength", "Strength (mg/mL)", _strength, "10"),
                Ask("fill", "Fill volume (mL)", _fill, "20"),
                Ask("lot", "Lot", lambda t: None),
            ],
            lambda a: self.services.ledger.carry(
                a["vial"], Decimal(a["strength"]), Decimal(a["fill"]), a["lot"]
            ),
            "Only the day's scheduled quantity. A vial new to this laptop is received first.",
            said=lambda a, _: f"Vial {a['vial']} carried.",
        )

    def action_waste(self) -> None:
        """Record witnessed waste, typed in mg."""
        self._ask(
            "Waste (witnessed)",
            [
                Ask("vial", "Vial id", _required("Vial id"), self.selected()),
                Ask("mg", "Wasted (mg)", mg_problem),
                Ask("witness", "Witness", _required("A witness")),
                Ask("licensed", "Witness licensed? (yes/no)", _yes_no),
            ],
            lambda a: self.services.ledger.waste_mg(
                a["vial"], parse_mg(a["mg"]), a["witness"], _said_yes(a["licensed"])
            ),
            "The witness watches the waste in person and is named here.",
            said=lambda a, entry: (
                f"Wasted {a['mg']} mg ({ml_text(Decimal(str(entry.ml)))}) from vial "
                f"{a['vial']}, witnessed by {a['witness']}."
            ),
            derived=self._mg_beside,
        )

    def action_breakage(self) -> None:
        """Record a broken or spilled vial, typed in mg."""
        self._ask(
            "Breakage or spill",
            [
                Ask("vial", "Vial id", _required("Vial id"), self.selected()),
                Ask("mg", "Lost (mg)", mg_problem),
                Ask("witness", "Witnesses (A; B)", _required("The witnesses")),
                Ask("licensed", "All licensed? (yes/no)", _yes_no),
            ],
            lambda a: self.services.ledger.breakage_mg(
                a["vial"], parse_mg(a["mg"]), a["witness"], _said_yes(a["licensed"])
            ),
            "Name both witnesses, separated by ';'.",
            said=lambda a, entry: (
                f"Breakage of {a['mg']} mg ({ml_text(Decimal(str(entry.ml)))}) recorded on "
                f"vial {a['vial']}."
            ),
            derived=self._mg_beside,
        )

    def action_count(self) -> None:
        """Record a physical count of a vial (measured in mL, the mg beside it)."""
        self._ask(
            "Count a vial",
            [
                Ask("vial", "Vial id", _required("Vial id"), self.selected()),
                Ask("ml", "Measured in the vial (mL)", _ml),
            ],
            self._count,
            "Measure what is left. Short beyond the tolerance opens an incident.",
            said=lambda a, _: f"Vial {a['vial']} counted: {a['ml']} mL.",
            derived=self._mg_beside_ml,
        )

    def _count(self, answers: dict[str, str]) -> None:
        opened = self.services.ledger.count(answers["vial"], Decimal(answers["ml"]))
        if opened:
            self.app.bell()
            self.notify(
                f"Discrepancy on vial {answers['vial']}: an incident is open and the vial is "
                "locked. Call the supervisor.",
                severity="error",
                markup=False,
                timeout=20,
            )

    def action_resolve(self) -> None:
        """Ask the supervisor, through the clinic, to rule on the selected vial's
        discrepancy; the signed ruling resolves it."""
        vial = self.selected()
        if not vial:
            self.notify("Choose the vial with the discrepancy.", severity="warning")
            return
        try:
            pending = self.services.ledger.ruling_request(vial)
        except FieldAppError as exc:
            self.notify(str(exc), severity="error", markup=False, timeout=10)
            return
        s = self.services
        link = ApprovalLink(s.sync, s.store, s.settings.sync.timeout_s)
        title = f"Ask the supervisor to rule on vial {vial}"

        def ruled(found: RequestPublic | None) -> None:
            if found is None:
                return
            try:
                record = self.services.ledger.resolve(vial, found, link.pinned_key)
            except AnswerRefused as refused:
                self.run_worker(
                    deferred(link.report, pending, refused.reason), group="ruling-report"
                )
                self.notify(f"Ruling refused: {refused}", severity="error", markup=False)
                return
            except FieldAppError as exc:
                self.notify(str(exc), severity="error", markup=False, timeout=10)
                return
            loss = (
                "a significant loss (DEA duties added)"
                if record.significant_loss
                else ("not a significant loss")
            )
            self.notify(f"{record.witness} ruled (signed): {loss}.", markup=False)
            self.load_ledger()

        self.app.push_screen(RemoteApprovalDialog(link, pending, title), ruled)

    def action_give_back(self) -> None:
        """Return the vial under the cursor to the base, once the clinician says yes."""
        name = self.selected()
        vial = self._vial(name)
        if vial is None:
            self.say("No vial to return.", "warning")
            return
        if not vial.carried:
            self.say(f"Vial {name} is not carried: nothing to return.", "warning")
            return
        question = (
            f"Return vial {name} to the base now? By the ledger it holds "
            f"{_num(vial.in_vial_mg)} mg ({ml_text(vial.in_vial_ml)}). Once returned it "
            "cannot be drawn from today; count it first (n) if you have not."
        )

        def answered(yes: bool | None) -> None:
            if not yes:
                self.say(f"Vial {name} not returned: still carried.")
                return
            try:
                self.services.ledger.give_back(name)
            except FieldAppError as exc:
                self.say(str(exc), "error")
            else:
                at = self.services.clock.now()
                self.say(f"Vial {name} returned to the base at {at:%H:%M}.")
            self.load_ledger()

        self.app.push_screen(ConfirmDialog(f"Return vial {name}", question, "Return"), answered)

    def action_close_day(self) -> None:
        """Close the day: refused until every vial reconciles."""
        try:
            self.services.ledger.close_day()
        except FieldAppError as exc:
            self.say(str(exc), "error")
        else:
            self.say(
                "The day is closed: every vial reconciles. "
                "The clinic gets the close at the next sync."
            )
        self.load_ledger()

    def action_leave(self) -> None:
        """Back to where the clinician was."""
        self.app.pop_screen()


def _num(value: Decimal | None) -> str:
    """A Decimal as written ("39.5", "150", "0.25"), or "–" when none."""
    return "–" if value is None else f"{value.normalize():f}"
