"""The safety checklist: the form, a live panel of every rule result, hold and hard stop."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Static

from fieldapp.clinical.readiness import ReadinessDecision
from fieldapp.errors import FieldAppError
from fieldapp.services.approvals import ApprovalLink
from fieldapp.services.checklist import AnswersRefused, ChecklistRun, Item, items, parse_answer
from fieldapp.services.visit import VisitSession
from fieldapp.tui.deferred import deferred
from fieldapp.tui.screens.approval import RemoteApprovalDialog
from fieldapp.tui.screens.entry import Ask, EntryDialog
from fieldapp.tui.screens.step import StepScreen
from fieldapp.tui.widgets.field import Field, FormScroll
from sync.approvals import AnswerRefused, RequestPublic

OUTCOME_STYLE = {
    "proceed": "green",
    "proceed_with_flags": "yellow",
    "hold": "bold yellow",
    "hard_stop": "bold red",
    "emergency": "bold white on red",
}
OUTCOME_TEXT = {
    "proceed": "PROCEED",
    "proceed_with_flags": "PROCEED with flags",
    "hold": "HOLD: the infusion waits",
    "hard_stop": "HARD STOP: no infusion today",
    "emergency": "EMERGENCY: call 911",
}


def _required(text: str) -> str | None:
    return None if text.strip() else "required"


def _yes(text: str) -> str | None:
    return None if text.strip().lower() in ("yes", "no") else "yes or no"


def _checker(item: Item):  # type: ignore[no-untyped-def]
    return lambda text: parse_answer(item, text)[1]


class ChecklistScreen(StepScreen):
    """Answers on the left, the engine's rule results on the right, live."""

    STEP = "checklist"
    BINDINGS: ClassVar[list[BindingType]] = [
        *StepScreen.BINDINGS,
        Binding("ctrl+s", "submit", "Submit", id="checklist-submit"),
        # Priority: the focused field's Input would take ctrl+a as "cursor home".
        Binding("ctrl+a", "approve", "Ask prescriber", id="checklist-approve", priority=True),
        Binding("ctrl+t", "phone_order", "Phone order", id="checklist-phone-order", show=False),
        # Offered only at a hard stop or an emergency; priority over the field's ctrl+d.
        Binding("ctrl+d", "decline", "Decline visit", id="checklist-decline", priority=True),
    ]

    def __init__(self, session: VisitSession) -> None:
        super().__init__(session)
        self.run = ChecklistRun(session)
        self.decision: ReadinessDecision | None = None

    def compose(self) -> ComposeResult:
        """Form and rule panel side by side (stacked when narrow)."""
        yield self.compose_chrome_top()
        yield self.visit_banner()
        with Horizontal(id="checklist-body"):
            with FormScroll(id="checklist-form"):
                for item in self.run.asked():
                    yield Field(item.id, item.label, _checker(item), placeholder=item.hint)
            with VerticalScroll(id="rules-panel"):
                yield Static("", id="decision-banner")
                yield Static("", id="rules")
                before = Static(self.answered_before(), id="answered-before")
                before.display = bool(self.run.before)
                yield before
                yield Static("", id="record-findings")
        yield self.buttons(
            Button("Submit", id="submit", variant="primary"),
            Button("Ask prescriber…", id="approve", variant="warning"),
            Button("Decline visit", id="decline", variant="error"),
        )
        yield from self.compose_chrome_bottom()

    def on_mount(self) -> None:
        """Bring back the draft and judge it; show what the clinical record says."""
        self.restore_draft()
        self.rejudge()
        self.show_record()

    def answered_before(self) -> Text:
        """The questions not asked here: answered by the clinic's profile or at the start
        of the shift, each with its answer, by whom and when."""
        text = Text()
        before = self.run.before
        if not before:
            return text
        text.append("Answered before this visit (not asked here):\n", "bold")
        groups: dict[str, list[Item]] = {}
        for item in items():
            if item.id in before:
                groups.setdefault(before[item.id].source_line(), []).append(item)
        for source, asked in groups.items():
            text.append(source + ":\n", "italic")
            for item in asked:
                text.append(f"· {item.label}: ", "dim")
                text.append(before[item.id].shown())
                text.append(self._expiry_note(before[item.id].value) + "\n", "bold yellow")
        return text

    def _expiry_note(self, value: object) -> str:
        """For an expiry date: expired, or how soon when within the clinic's warning."""
        if not isinstance(value, date):
            return ""
        left = (value - self.services.clock.now().date()).days
        if left < 0:
            return " (expired)"
        warn = self.services.settings.shift.credential_warn_days
        return f" (in {left} days)" if left <= warn else ""

    def show_record(self) -> None:
        """Every entry of the patient's record as the vocabulary read it; unknown ones first."""
        findings = sorted(self.run.record().findings, key=lambda f: f.review is None)
        text = Text("From the clinical record:\n", "bold")
        for finding in findings:
            style = "bold yellow" if finding.review else "dim"
            text.append(f"{'?' if finding.review else '·'} {finding.shown()}\n", style)
        if not findings:
            text.append("no entries\n", "dim")
        self.query_one("#record-findings", Static).update(text)

    def edited(self, event: Field.Edited) -> None:
        """Every keystroke: the engine judges again."""
        self.rejudge()

    def rejudge(self) -> None:
        """Ask the engine and show each rule's result and why."""
        self.run.texts = self.texts()
        try:
            decision = self.judge(self.run.decide)
        except AnswersRefused as refused:
            self.show_refusal(refused)
            return
        if decision is None:
            self.show_refusal(AnswersRefused([]))
            return
        self.decision = decision
        self.show(
            "#decision-banner",
            Text(OUTCOME_TEXT[decision.outcome], OUTCOME_STYLE[decision.outcome]),
            f"outcome-{decision.outcome.replace('_', '-')}",
        )
        lines = Text()
        for reason in sorted(decision.reasons, key=lambda r: r.outcome != "hard_stop"):
            lines.append(f"● {reason.outcome.replace('_', ' ')}: ", OUTCOME_STYLE[reason.outcome])
            lines.append(reason.message)
            if reason.setting:
                lines.append(f"  ({reason.setting})", "dim")
            lines.append("\n")
        if not decision.reasons:
            lines.append("No rule fired.", "green")
        self.show("#rules", lines)
        approvable = any(r.outcome == "hold" and r.approvable for r in decision.reasons)
        self.query_one("#approve", Button).disabled = not approvable
        declinable = decision.outcome in ("hard_stop", "emergency")
        decline = self.query_one("#decline", Button)
        if decline.display != declinable:
            decline.display = declinable
            self.refresh_bindings()  # the key line offers ctrl+d exactly when the button shows

    def show_refusal(self, refused: AnswersRefused) -> None:
        """The engine cannot judge the answers: say which, mark them, allow no step on."""
        self.decision = None
        banner = Text("CANNOT JUDGE: check the answers marked", "bold red")
        self.show("#decision-banner", banner, "outcome-hard-stop")
        self.show("#rules", Text(str(refused)))
        fields = self.fields()
        for item_id in refused.item_ids:
            if item_id in fields:
                fields[item_id].mark("The protocol engine cannot take this answer: check it")
        self.query_one("#approve", Button).disabled = True
        if self.query_one("#decline", Button).display:
            self.query_one("#decline", Button).display = False
            self.refresh_bindings()

    def declinable(self) -> bool:
        """Whether the answers stop the visit (a hard stop or an emergency)."""
        return self.decision is not None and self.decision.outcome in ("hard_stop", "emergency")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Decline only when the answers stop the visit."""
        if action == "decline":
            return self.declinable()
        return super().check_action(action, parameters)

    def action_decline(self) -> None:
        """ctrl+d: the Decline visit button, from the keyboard."""
        self.decline()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Submit, approve or decline."""
        if event.button.id == "submit":
            self.action_submit()
        elif event.button.id == "approve":
            self.action_approve()
        elif event.button.id == "decline":
            self.decline()

    def first_problem(self) -> bool:
        """Point at the first answer that is wrong (True when there is one)."""
        for field in self.fields().values():
            if field.problem:
                self.notify(field.problem, severity="error", markup=False)
                field.focus_input()
                return True
        return False

    def action_submit(self) -> None:
        """Record the checklist; only proceed moves on to the dose."""
        self.rejudge()
        if self.first_problem() or self.decision is None:
            return
        outcome = self.decision.outcome
        if outcome in ("hold",):
            self.notify(
                "On hold: fix the answers, or ask the prescriber to release it (Ask prescriber).",
                severity="warning",
            )
            return
        if outcome in ("hard_stop", "emergency"):
            self.notify("Hard stop: the infusion is blocked. Decline the visit.", severity="error")
            return
        if self.attempt(self.run.submit) is None:
            return
        self.after_orders(self.done)

    def after_orders(self, then: Callable[[], None]) -> None:
        """Show the follow-ups the decision started (until acknowledged), then go on."""
        assert self.decision is not None
        headline = OUTCOME_TEXT[self.decision.outcome]
        asked = [r.message for r in self.decision.reasons if r.action_ids]
        if not self.show_orders(headline, asked, then=then):
            then()

    def link(self) -> ApprovalLink:
        """The line to the clinic for this laptop's requests."""
        s = self.services
        return ApprovalLink(s.sync, s.store, s.settings.sync.timeout_s)

    def action_approve(self) -> None:
        """Ask the prescriber, through the clinic, to release the holds; wait for the answer."""
        self.rejudge()
        pending = self.attempt(self.run.approval_request)
        if pending is not None:
            self.app.push_screen(RemoteApprovalDialog(self.link(), pending), self._answered)

    def _answered(self, found: RequestPublic | None) -> None:
        """Check the answer and judge again with it; a refused one is reported and shown."""
        if found is None:
            return
        link = self.link()
        try:
            decision = self.run.apply_answer(found, link.pinned_key)
        except AnswerRefused as refused:
            pending = self.run.pending
            if pending is not None:
                self.run_worker(
                    deferred(link.report, pending, refused.reason), group="approval-report"
                )
            self.notify(f"Answer refused: {refused}", severity="error", markup=False)
            return
        except FieldAppError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.rejudge()
        answer = found.answer
        assert answer is not None
        if answer.decision == "decline":
            self.notify(
                f"Declined by {answer.answered_by}: {answer.note}", severity="warning", markup=False
            )
        else:
            self.notify(
                f"Approved by {answer.answered_by} (signed): now "
                f"{decision.outcome.replace('_', ' ')}.",
                markup=False,
            )

    def action_phone_order(self) -> None:
        """No data to reach the clinic: record the prescriber's telephone order, read back."""
        asks = [
            Ask("given_by", "Prescriber (clinic user name)", _required),
            Ask("order", "The order, exactly as given", _required),
            Ask("read_back", "Read back and confirmed? (yes/no)", _yes),
        ]
        explain = (
            "Only holds the protocol lets a telephone order release. The order goes to the "
            "prescriber to co-sign at the next sync."
        )

        def taken(answers: dict[str, str] | None) -> None:
            if answers is None:
                return
            read_back = answers["read_back"].strip().lower() == "yes"
            decision = self.attempt(
                self.run.take_verbal_order, answers["given_by"], answers["order"], read_back
            )
            if decision is not None:
                self.rejudge()
                self.notify(
                    f"Telephone order recorded: now {decision.outcome.replace('_', ' ')}.",
                    markup=False,
                )

        self.rejudge()
        self.app.push_screen(EntryDialog("Telephone order", asks, explain), taken)

    def decline(self) -> None:
        """Record the hard-stopped checklist and end the visit without an infusion."""
        self.rejudge()
        if self.decision is None or self.decision.outcome not in ("hard_stop", "emergency"):
            return
        record = self.attempt(self.run.submit)
        if record is not None:
            self.session.decline("Hard stop at the safety checklist")
            self.notify(
                "Visit declined: the hard stop is recorded. Check out when you leave.",
                severity="warning",
            )
            self.after_orders(self.done)
