"""The dose: the order in, the engine's arithmetic shown line by line, a double-check out."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Checkbox, Static

from fieldapp.clinical.dosing import DoseResult
from fieldapp.errors import FieldAppError
from fieldapp.services import engine
from fieldapp.services.approvals import ApprovalLink
from fieldapp.services.checklist import ChecklistRun
from fieldapp.services.infusion import (
    CheckerRefused,
    DoseForm,
    cap_override_request,
    compute,
    confirm_dose,
    prepared,
    remote_check_request,
    with_cap_override,
    with_remote_check,
)
from fieldapp.services.ledger import Vial
from fieldapp.services.validation import spec_for
from fieldapp.services.visit import VisitSession
from fieldapp.tui.deferred import deferred
from fieldapp.tui.screens.approval import RemoteApprovalDialog
from fieldapp.tui.screens.step import StepScreen
from fieldapp.tui.widgets.field import Field, FormScroll
from sync.approvals import Answer, AnswerRefused, RequestPublic
from sync.records import DoseOrder, SubstanceEvent

KINDS = ("template", "infusion_rate", "infusion_total", "bolus")
# Each number's range is the record schema's for what it becomes (the order, the vial).
NUMBERS = {
    "weight_kg": spec_for(DoseOrder, "weight_kg", "Weight (kg)", "kg", "float", False),
    "height_cm": spec_for(DoseOrder, "height_cm", "Height (cm)", "cm", "float", False),
    "mg_per_kg": spec_for(DoseOrder, "mg_per_kg", "Dose (mg/kg)", "mg/kg", "float", False),
    "mg_per_kg_per_h": spec_for(
        DoseOrder, "mg_per_kg_per_h", "Rate (mg/kg/h)", "mg/kg/h", "float", False
    ),
    "duration_min": spec_for(DoseOrder, "duration_min", "Duration (min)", "min", "int", False),
    "vial_mg_per_ml": spec_for(
        DoseOrder, "vial_concentration_mg_per_ml", "Vial strength (mg/mL)", "mg/mL", "float", False
    ),
    "vial_ml": spec_for(SubstanceEvent, "fill_ml", "Vial volume (mL)", "mL", "float", False),
    "bag_ml": spec_for(DoseOrder, "bag_volume_ml", "Bag volume (mL)", "mL", "float", False),
    "bag_drug_mg": spec_for(DoseOrder, "dose_mg", "Drug into bag (mg)", "mg", "float", False),
    # the drug drawn into a syringe and diluted: no stronger than any vial may be
    "diluted_to_mg_per_ml": spec_for(
        DoseOrder, "vial_concentration_mg_per_ml", "Diluted to (mg/mL)", "mg/mL", "float", False
    ),
}


def _kind(text: str) -> str | None:
    return None if text.strip() in KINDS else f"one of: {', '.join(KINDS)}"


def _sex(text: str) -> str | None:
    return None if text.strip() in ("female", "male") else "female or male (for dosing weight)"


def _any(text: str) -> str | None:
    return None


def _name(text: str) -> str | None:
    return None if text.strip() else "a name is required"


class DoseScreen(StepScreen):
    """Order fields on the left, the arithmetic and caps on the right."""

    STEP = "dose"
    BINDINGS: ClassVar[list[BindingType]] = [
        *StepScreen.BINDINGS,
        Binding("ctrl+s", "confirm", "Confirm dose", id="dose-confirm"),
        Binding("ctrl+o", "override", "Ask override", id="dose-override", show=False),
        Binding("ctrl+k", "remote_check", "Remote check", id="dose-remote-check", show=False),
    ]

    def __init__(self, session: VisitSession) -> None:
        super().__init__(session)
        self.result: DoseResult | None = None
        self.form: DoseForm | None = None
        self.vials: dict[str, Vial] | None = None
        self.checked_for: dict[str, str] | None = None
        """The order as it stood when the double-check was ticked."""
        self.override: DoseForm | None = None
        """The form as the prescriber's signed session-cap override left it."""
        self.remote_check: Answer | None = None
        """No colleague present: the prescriber's signed check of the arithmetic."""

    def _defaults(self) -> dict[str, str]:
        p = self.session.patient
        run = ChecklistRun(self.session)
        last = self.session.last_checklist_answers()
        run.texts = {k: str(v) for k, v in last.items()}
        weight = run.weight_kg() or p.weight_kg
        return {
            "kind": "template",
            "template": "depression",
            "weight_kg": str(weight or ""),
            "height_cm": str(p.height_cm or ""),
            "sex": p.sex if p.sex in ("female", "male") else "",
            "vial_mg_per_ml": "10",
            "vial_ml": "20",
            "bag_ml": "100",
        }

    def compose(self) -> ComposeResult:
        """The order, the arithmetic, and the double-check."""
        defaults = self._defaults()
        yield self.compose_chrome_top()
        yield self.visit_banner()
        with Horizontal(id="dose-body"):
            with FormScroll(id="dose-form"):
                yield Field("kind", "Order kind", _kind, defaults["kind"], " / ".join(KINDS))
                yield Field("template", "Template", lambda t: None, defaults["template"])
                yield Field("sex", "Sex for dosing", _sex, defaults["sex"])
                for key, spec in NUMBERS.items():
                    yield Field(
                        key,
                        spec.label,
                        spec.problem,
                        defaults.get(key, ""),
                        placeholder=spec.bounds.text(),
                    )
                yield Field(
                    "vial", "Vial to draw from", self._vial_problem, placeholder="a carried vial"
                )
                yield Static("Loading the vials carried today…", id="dose-vials", markup=False)
                yield Checkbox(
                    "I re-weighed the patient: this weight is right", id="weight-confirm"
                )
                if engine.protocol().dosing.session_cap_override_allowed:
                    yield Static(
                        "Over the session cap: ctrl+o asks the prescriber to override it.",
                        id="dose-override-hint",
                        markup=False,
                    )
                yield Field("prescriber", "Ordering prescriber", _name)
                yield Field("checker", "Second checker (enrolled here)", _name)
                yield Field(
                    "checker_pin",
                    "Checker's own PIN (they type it)",
                    _any,
                    password=True,
                    placeholder="their PIN signs the check",
                )
                yield Checkbox(
                    "I double-checked dose, draw and pump rate with the person named",
                    id="double-check",
                )
            with VerticalScroll(id="dose-panel"):
                yield Static("", id="dose-outcome")
                yield Static("", id="dose-steps")
        yield self.buttons(Button("Confirm dose", id="confirm", variant="primary"))
        yield from self.compose_chrome_bottom()

    def on_mount(self) -> None:
        """Bring back the draft, compute, and find the vials carried today."""
        self.query_one("#weight-confirm", Checkbox).display = False
        self.restore_draft()
        self.recompute()
        self.load_vials()

    def on_screen_resume(self) -> None:
        """Back from the ledger (F3): a vial carried there is offered at once."""
        if self.vials is not None:
            self.load_vials()

    @work(thread=True, exclusive=True, exit_on_error=False, group="vials")
    def load_vials(self) -> None:
        """Read the ledger off the UI thread (the first read decrypts every entry)."""
        vials = self.services.ledger.carried()
        self.app.call_from_thread(self.show_vials, vials)

    def show_vials(self, vials: list[Vial]) -> None:
        """List the carried vials and pick the first when none is chosen yet."""
        self.vials = {v.vial: v for v in vials}
        note = self.query_one("#dose-vials", Static)
        if not vials:
            note.update("No vial carried: carry one on the ledger (F3) first.")
        else:
            note.update(
                "Carried: "
                + ", ".join(f"{v.vial} ({v.mg_per_ml} mg/mL, {v.in_vial_ml:.1f} mL)" for v in vials)
            )
        fields = self.fields()
        if vials and not fields["vial"].value.strip():
            fields["vial"].value = vials[0].vial
            fields["vial_mg_per_ml"].value = str(vials[0].mg_per_ml)
            fields["vial_ml"].value = str(vials[0].fill_ml)
        else:
            fields["vial"].recheck()  # typed before the vials were known

    def _vial_problem(self, text: str) -> str | None:
        if self.vials is None:
            return None
        if text.strip() not in self.vials:
            known = ", ".join(self.vials) or "none carried"
            return f"Vial must be one carried today ({known})"
        return None

    def edited(self, event: Field.Edited) -> None:
        """Every keystroke: the engine computes again; a double-check no longer holds."""
        self.recompute()
        box = self.query_one("#double-check", Checkbox)
        if box.value and self.checked_for is not None and self._order() != self.checked_for:
            box.value = False
            self.notify("The order changed: double-check it again.", severity="warning")

    def _order(self) -> dict[str, str]:
        """What the double-check vouches for: every field but the two names."""
        texts = self.texts()
        names = ("prescriber", "checker", "checker_pin")
        return {k: v.strip() for k, v in texts.items() if k not in names}

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        """The double-check remembers the order it vouches for (also when a draft brings it
        back); confirming the weight shows the dose worked out on it."""
        if event.checkbox.id == "double-check":
            self.checked_for = self._order() if event.value else None
        elif event.checkbox.id == "weight-confirm":
            self.recompute()

    def _form(self) -> DoseForm | None:
        t = self.texts()
        if any(f.problem for f in self.fields().values()):
            return None

        def num(key: str) -> Decimal | None:
            return Decimal(t[key]) if t.get(key, "").strip() else None

        try:
            form = DoseForm(
                kind=t.get("kind", "").strip(),
                template=t.get("template", "").strip() or None,
                weight_kg=num("weight_kg") or Decimal(0),
                height_cm=num("height_cm") or Decimal(0),
                sex=t.get("sex", "").strip(),
                vial_mg_per_ml=num("vial_mg_per_ml") or Decimal(0),
                vial_ml=num("vial_ml") or Decimal(0),
                prescriber=t.get("prescriber", "").strip(),
                mg_per_kg=num("mg_per_kg"),
                mg_per_kg_per_h=num("mg_per_kg_per_h"),
                duration_min=num("duration_min"),
                bag_ml=num("bag_ml"),
                bag_drug_mg=num("bag_drug_mg"),
                diluted_to_mg_per_ml=num("diluted_to_mg_per_ml"),
                session_override_by=self.override.session_override_by if self.override else None,
                session_override=self.override.session_override if self.override else None,
                weight_confirmed=self.query_one("#weight-confirm", Checkbox).value,
            )
        except (InvalidOperation, ValueError):
            return None
        # The weights to compare with and what was given come from the visit, not the form.
        return prepared(form, self.session)

    def recompute(self) -> None:
        """Show the engine's arithmetic, or why it cannot compute yet."""
        outcome = self.query_one("#dose-outcome", Static)
        steps = self.query_one("#dose-steps", Static)
        self.form = self._form()
        self.result = None
        if self.form is None:
            outcome.update(Text("Fill in the order to see the dose.", "yellow"))
            steps.update("")
            return
        try:
            self.result = self.judge(compute, self.form)
        except FieldAppError as exc:
            outcome.update(Text(f"Cannot compute: {exc}", "yellow"))
            steps.update("")
            return
        if self.result is None:
            outcome.update(Text("Cannot compute: check the field marked.", "yellow"))
            steps.update("")
            return
        style = {"ok": "green", "ok_with_warnings": "yellow", "refused": "bold red"}
        outcome.update(
            Text(self.result.outcome.replace("_", " ").upper(), style[self.result.outcome])
        )
        confirm = self.query_one("#weight-confirm", Checkbox)
        weight_doubtful = any(
            r.rule_id in ("weight_changed", "weight_differs_today") for r in self.result.reasons
        )
        confirm.display = weight_doubtful
        if any(r.rule_id == "weight_unconfirmed" for r in self.result.reasons):
            outcome.update(Text("CONFIRM THE WEIGHT before the dose is shown", "bold red"))
        lines = Text()
        for step in self.result.steps:
            lines.append(f"{step.label}: ", "bold")
            lines.append(f"{step.formula} = ")
            lines.append(f"{step.value}\n", "bold")
        for reason in self.result.reasons:
            lines.append(f"● {reason.message}\n", style.get(reason.outcome, "yellow"))
        steps.update(lines)
        self.query_one("#confirm", Button).disabled = self.result.outcome == "refused"

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Confirm."""
        if event.button.id == "confirm":
            self.action_confirm()

    def action_override(self) -> None:
        """Ask the prescriber, through the clinic, to let this order exceed the cap."""
        self.recompute()
        if self.form is None:
            self.notify("The order is incomplete: see the fields marked.", severity="error")
            return
        pending = self.attempt(cap_override_request, self.session, self.form)
        if pending is None:
            return
        s = self.services
        link = ApprovalLink(s.sync, s.store, s.settings.sync.timeout_s)
        form = self.form

        def answered(found: RequestPublic | None) -> None:
            if found is None:
                return
            try:
                self.override = with_cap_override(form, pending, found, link.pinned_key)
            except AnswerRefused as refused:
                self.run_worker(
                    deferred(link.report, pending, refused.reason), group="override-report"
                )
                self.notify(f"Answer refused: {refused}", severity="error", markup=False)
                return
            except FieldAppError as exc:
                self.notify(str(exc), severity="error", markup=False)
                return
            self.notify(f"Override signed by {found.answer.answered_by if found.answer else ''}.")
            self.recompute()

        title = "Ask the prescriber to override the session cap"
        self.app.push_screen(RemoteApprovalDialog(link, pending, title), answered)

    def action_remote_check(self) -> None:
        """No colleague present: ask the prescriber to check the arithmetic remotely."""
        self.recompute()
        if self.form is None:
            self.notify("The order is incomplete: see the fields marked.", severity="error")
            return
        pending = self.attempt(remote_check_request, self.session, self.form)
        if pending is None:
            return
        s = self.services
        link = ApprovalLink(s.sync, s.store, s.settings.sync.timeout_s)

        def answered(found: RequestPublic | None) -> None:
            if found is None:
                return
            try:
                self.remote_check = with_remote_check(pending, found, link.pinned_key)
            except AnswerRefused as refused:
                self.run_worker(
                    deferred(link.report, pending, refused.reason), group="check-report"
                )
                self.notify(f"Answer refused: {refused}", severity="error", markup=False)
                return
            except FieldAppError as exc:
                self.notify(str(exc), severity="error", markup=False)
                return
            self.notify(
                f"Checked remotely by {self.remote_check.answered_by} (signed): confirm the dose.",
                markup=False,
            )

        title = "Ask the prescriber to check the dose's arithmetic"
        self.app.push_screen(RemoteApprovalDialog(link, pending, title), answered)

    def _confirm(self, checker: str, vial: str, pin: str) -> DoseOrder:
        """Save the order signed by the checker; a PIN that did not sign is cleared."""
        assert self.form is not None and self.result is not None
        try:
            return confirm_dose(
                self.session, self.form, self.result, checker, vial, pin, self.remote_check
            )
        except CheckerRefused:
            self.fields()["checker_pin"].value = ""
            raise

    def action_confirm(self) -> None:
        """Save the order once it is computed, allowed and double-checked."""
        self.recompute()
        if self.form is None or self.result is None:
            self.notify("The order is incomplete: see the fields marked.", severity="error")
            return
        if not self.query_one("#double-check", Checkbox).value:
            self.notify("Tick the double-check before confirming.", severity="error")
            return
        texts = self.texts()
        checker, vial = texts.get("checker", ""), texts.get("vial", "")
        pin = texts.get("checker_pin", "")
        saved = self.attempt(self._confirm, checker, vial, pin)
        if saved is not None:
            self.done()
