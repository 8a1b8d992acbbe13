"""Recovery: the observation timer, Aldrete/PADSS, departure criteria, the decision."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Checkbox, Static

from fieldapp.services.clock import clock_time, minutes_left, whole_minutes
from fieldapp.services.followups import FollowUps
from fieldapp.services.recovery import Recovery
from fieldapp.services.validation import spec_for
from fieldapp.services.visit import VisitSession
from fieldapp.tui.screens.step import StepScreen
from fieldapp.tui.widgets.field import Field, FormScroll
from sync.records import RecoveryRecord, VitalsReading

# (answer key, spec): the spec's range comes from the record schema.
SPECS = [
    ("aldrete", spec_for(RecoveryRecord, "aldrete", "Aldrete total")),
    ("padss", spec_for(RecoveryRecord, "padss", "PADSS total")),
    (
        "pain_nrs_after",
        spec_for(RecoveryRecord, "pain_nrs_after", "Pain NRS now (0–10)", required=False),
    ),
    ("systolic", spec_for(VitalsReading, "systolic_mmhg", "Systolic now", "mmHg")),
    ("diastolic", spec_for(VitalsReading, "diastolic_mmhg", "Diastolic now", "mmHg")),
    ("heart_rate", spec_for(VitalsReading, "heart_rate_bpm", "Heart rate now", "bpm")),
    ("spo2", spec_for(VitalsReading, "spo2_pct", "SpO₂ now", "%", required=False)),
    ("rass", spec_for(VitalsReading, "rass", "RASS now", "", required=False)),
]
NAUSEA = ("none", "minimal", "moderate", "severe")
CHECKS = (
    ("oriented_x3", "Oriented ×3"),
    ("gait_steady", "Gait steady or at baseline"),
    ("responsible_adult", "Responsible adult present for the rest of the day"),
    ("written_instructions", "Written instructions and 24-h number given"),
    ("next_day_call", "Next-day phone call arranged"),
    ("fall_risk_handover", "Fall-risk handover to the responsible adult"),
)


class RecoveryScreen(StepScreen):
    """The departure check; not cleared means stay and observe."""

    STEP = "recovery"
    BINDINGS: ClassVar[list[BindingType]] = [
        *StepScreen.BINDINGS,
        Binding("ctrl+s", "record", "Record", id="recovery-record"),
    ]

    def __init__(self, session: VisitSession) -> None:
        super().__init__(session)
        self.recovery = Recovery(session)

    def compose(self) -> ComposeResult:
        """Timer, scores, criteria, the live decision."""
        yield self.compose_chrome_top()
        yield self.visit_banner()
        yield Static("", id="observation-timer")
        with Horizontal(id="recovery-body"):
            with FormScroll(id="recovery-form"):
                for key, spec in SPECS:
                    yield Field(key, spec.label, spec.problem)
                yield Field("nausea", "Nausea", _nausea, "none", " / ".join(NAUSEA))
                yield Field("responsible_adult_name", "Responsible adult", lambda t: None)
                for key, label in CHECKS:
                    yield Checkbox(label, id=f"check-{key.replace('_', '-')}")
            with VerticalScroll(id="recovery-panel"):
                yield Static("", id="recovery-decision")
        yield self.buttons(Button("Record assessment", id="record", variant="primary"))
        yield from self.compose_chrome_bottom()

    def on_mount(self) -> None:
        """Restore the draft and start the observation timer."""
        self.restore_draft()
        self.rejudge()
        self.set_interval(1.0, self.update_timer)

    def update_timer(self) -> None:
        """Minutes observed, and how many are still needed."""
        clock = self.services.clock
        now, ended = clock.now(), self.session.status_at("infusion_ended")
        until = self.recovery.observation_until()
        if ended is None or until is None:
            text = "The infusion has not ended yet"
        else:
            text = f"Ended {clock_time(ended, clock)} · observed {whole_minutes(now - ended)} min"
            # "Done" only once the whole minimum has passed: 29.5 of 30 minutes is not done.
            left = minutes_left(until - now)
            text += (
                f" · minimum until {clock_time(until, clock)} ({left} min to go)"
                if left
                else " · minimum observation done"
            )
        tasks = FollowUps(self.session)
        for task in tasks.open():
            timed = task.due_at is not None and task.owner == "clinician"
            if timed and task.action in ("rescore_recovery", "post_stop_recheck"):
                assert task.due_at is not None
                late = task.due_at < self.services.clock.now()
                text += f" · {task.action.replace('_', ' ')} {'OVERDUE since' if late else 'at'} "
                text += clock_time(task.due_at, self.services.clock)
        self.query_one("#observation-timer", Static).update(text)
        if self.app.screen is self and tasks.sweep():
            self.show_orders(
                "ESCALATION: the patient has not recovered in time",
                ["Stay with the patient. Carry out each action below."],
            )

    def answers(self) -> dict[str, Any]:
        """The answers as the service takes them (invalid numbers left out)."""
        texts = self.texts()
        answers: dict[str, Any] = {}
        for key, spec in SPECS:
            value, problem = spec.check(texts.get(key, ""))
            if value is not None and problem is None:
                answers[key] = value
        nausea = texts.get("nausea", "").strip()
        answers["nausea"] = nausea if nausea in NAUSEA else "none"
        answers["responsible_adult_name"] = texts.get("responsible_adult_name", "").strip()
        for key, _ in CHECKS:
            answers[key] = self.query_one(f"#check-{key.replace('_', '-')}", Checkbox).value
        return answers

    def edited(self, event: Field.Edited) -> None:
        """Judge again on every change."""
        self.rejudge()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        """Ticks count too."""
        self.rejudge()

    def rejudge(self) -> None:
        """Show the engine's decision and every missing criterion."""
        decision = self.judge(self.recovery.decide, self.answers())
        text = Text()
        if decision is None:
            text.append("CANNOT JUDGE: check the answer marked", "bold red")
            self.query_one("#recovery-decision", Static).update(text)
            return
        if decision.outcome == "cleared":
            text.append("CLEARED to leave", "bold green")
        else:
            text.append("NOT CLEARED: stay with the patient", "bold red")
        for reason in decision.reasons:
            text.append(f"\n● {reason.message}")
        text.append(self.pain_line())
        self.query_one("#recovery-decision", Static).update(text)
        self.update_timer()

    def pain_line(self) -> Text:
        """The pain now against before the infusion (the course's response), or a reminder
        to score it: without it the history has no "NRS after" for today."""
        before = self.recovery.pain_before()
        after = self.answers().get("pain_nrs_after")
        if after is None:
            return Text("\n○ Score the pain now (NRS): the course's response needs it.", "yellow")
        line = f"\n○ Pain NRS {after}"
        change = self.recovery.pain_change(after)
        if before is not None:
            line += f", before {before}"
        if change is not None:
            line += f": {change}"
        return Text(line)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Record."""
        if event.button.id == "record":
            self.action_record()

    def action_record(self) -> None:
        """Save the assessment; only a cleared one moves on to the note."""
        result = self.attempt(self.recovery.record, self.answers())
        if result is None:
            return
        _, decision = result
        if decision.outcome == "cleared":
            self.notify("Cleared: write the session note.")
            self.done()
        else:
            self.notify(
                "Not cleared: recorded. Keep observing and assess again.",
                severity="warning",
                timeout=10,
            )


def _nausea(text: str) -> str | None:
    return None if text.strip() in NAUSEA else f"Nausea must be one of {', '.join(NAUSEA)}"
