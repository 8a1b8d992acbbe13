"""The infusion monitor: elapsed time, vitals due, each reading judged at once, a chart."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from fieldapp.clinical.monitoring import MonitoringDecision
from fieldapp.clinical.reasons import fmt
from fieldapp.clinical.scales import CADSS_ITEM_MAX, CADSS_ITEMS, CADSS_TOTAL_MAX, cadss
from fieldapp.services import engine
from fieldapp.services.clock import Clock, clock_time
from fieldapp.services.followups import FollowUps
from fieldapp.services.infusion import Infusion
from fieldapp.services.validation import read_whole, spec_for
from fieldapp.services.visit import VisitSession
from fieldapp.tui.screens.step import StepScreen
from fieldapp.tui.widgets.field import Field, FormScroll
from fieldapp.tui.widgets.vitals_chart import VitalsChart, legend
from sync.records import VitalsReading

SPECS = [
    spec_for(VitalsReading, "systolic_mmhg", "Systolic", "mmHg"),
    spec_for(VitalsReading, "diastolic_mmhg", "Diastolic", "mmHg"),
    spec_for(VitalsReading, "heart_rate_bpm", "Heart rate", "bpm"),
    spec_for(VitalsReading, "spo2_pct", "SpO₂", "%"),
    spec_for(VitalsReading, "spo2_low_seconds", "SpO₂ low for", "s", required=False),
    spec_for(VitalsReading, "resp_rate_per_min", "Resp. rate", "/min", required=False),
    spec_for(VitalsReading, "rass", "RASS", "", required=False),
]
ACTION_TEXT = {
    "continue": "CONTINUE",
    "pause": "PAUSE the infusion",
    "stop": "STOP the infusion",
    "emergency": "EMERGENCY: stop, call 911",
}


class MonitorScreen(StepScreen):
    """Start, record readings, see the judgement and the trend, end the infusion."""

    STEP = "monitor"
    BINDINGS: ClassVar[list[BindingType]] = [
        *StepScreen.BINDINGS,
        Binding("ctrl+s", "record", "Record vitals", id="monitor-record"),
        Binding("ctrl+t", "start", "Start", id="monitor-start"),
        Binding("ctrl+n", "end", "End infusion", id="monitor-end"),
    ]

    def __init__(self, session: VisitSession) -> None:
        super().__init__(session)
        self.infusion = Infusion(session)
        self.last_decision: MonitoringDecision | None = None

    def compose(self) -> ComposeResult:
        """Timer, judgement, vitals form, side effects, chart, buttons."""
        yield self.compose_chrome_top()
        yield self.visit_banner()
        yield Static("", id="monitor-timer")
        yield Static("", id="judgement")
        with Horizontal(id="monitor-body"):
            with FormScroll(id="monitor-form"):
                for spec in SPECS:
                    yield Field(spec.name, spec.label, spec.problem)
                yield Field(
                    "symptoms",
                    "Side effects",
                    lambda t: None,
                    placeholder="comma list, e.g. chest pain, seizure",
                )
                yield Field(
                    "cadss",
                    "CADSS",
                    _cadss,
                    placeholder=CADSS_HINT,
                )
            with Vertical(id="chart-box"):
                with Vertical(id="chart-plot"):
                    yield VitalsChart(id="vitals-chart")
                    yield Static(legend(), id="chart-legend")
                yield Static("", id="readings-list", markup=False)
        yield self.buttons(
            Button("Start infusion", id="start", variant="success"),
            Button("Record vitals", id="record", variant="primary"),
            Button("End infusion", id="end", variant="warning"),
        )
        yield from self.compose_chrome_bottom()

    def on_mount(self) -> None:
        """Restore the draft, draw, and tick the timer."""
        self.restore_draft()
        self.redraw()
        self.set_interval(1.0, self.update_timer)

    def update_timer(self) -> None:
        """Elapsed time and when the next vitals are due."""
        timer = self.query_one("#monitor-timer", Static)
        started = self.infusion.started_at
        self.query_one("#start", Button).display = started is None
        self.query_one("#record", Button).display = started is not None and not self.infusion.ended
        self.query_one("#end", Button).display = started is not None and not self.infusion.ended
        if started is None:
            timer.update("Not started. Check the pump, then Start infusion.")
            return
        if self.infusion.ended:
            timer.update("Infusion ended.")
            return
        self.sweep()
        elapsed = self.infusion.elapsed_min()
        due = self.infusion.next_due()
        now = self.services.clock.now()
        clock = self.services.clock
        text = Text(f"Started {clock_time(started, clock)} · {int(elapsed)} min  ·  ")
        if due is not None and now >= due:
            text.append(f"VITALS DUE (since {clock_time(due, clock)})", "bold reverse yellow")
        elif due is not None:
            every = fmt(self.infusion.interval_minutes())
            text.append(f"next BP {clock_time(due, clock)} (every {every} min)")
        rr_due = self.infusion.rr_rass_due()
        if rr_due is not None:
            late = now >= rr_due
            text.append("  ·  ")
            text.append(
                f"RR/RASS {'DUE' if late else 'next'} {clock_time(rr_due, clock)}",
                "bold reverse yellow" if late else "",
            )
        waiting = FollowUps(self.session).open()
        if waiting:
            text.append(f"  ·  {len(waiting)} task(s) open (F7)")
        timer.update(text)

    def sweep(self) -> None:
        """Overdue tasks are recorded; an escalation now due is shown at once."""
        if self.app.screen is not self:
            return
        if FollowUps(self.session).sweep():
            self.show_orders("ESCALATION", ["A follow-up's time has run out."])

    def redraw(self) -> None:
        """The judgement banner and the chart from the recorded readings."""
        readings = self.infusion.readings()
        banner = self.query_one("#judgement", Static)
        if readings:
            last = readings[-1]
            action = last.judgement or "continue"
            text = Text(ACTION_TEXT[action], "bold")
            for reason in last.reasons:
                text.append(f"\n● {reason.message}")
            if self.last_decision is not None:
                for order in self.last_decision.actions:
                    text.append(f"\n→ {order}", "bold")
            banner.update(text)
            banner.set_classes(f"judgement-{action}")
        else:
            banner.update("No readings yet.")
            banner.set_classes("judgement-none")
        zone = self.services.clock.now().tzinfo
        points = [r for r in readings if r.systolic_mmhg and r.diastolic_mmhg and r.heart_rate_bpm]
        self.query_one(VitalsChart).show(
            [r.taken_at.astimezone(zone) for r in points],
            [r.systolic_mmhg or 0 for r in points],
            [r.diastolic_mmhg or 0 for r in points],
            [r.heart_rate_bpm or 0 for r in points],
        )
        self.query_one("#readings-list", Static).update(
            "\n".join(reading_line(r, self.services.clock) for r in reversed(readings))
            or "Readings appear here, newest first."
        )
        self.update_timer()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Start, record or end."""
        {"start": self.action_start, "record": self.action_record, "end": self.action_end}[
            str(event.button.id)
        ]()

    def action_start(self) -> None:
        """Start the infusion."""
        if self.attempt(self.infusion.start) is not None:
            self.notify("Infusion started.")
            self.redraw()

    def values(self) -> dict[str, Any] | None:
        """The reading as typed, or None (with a notice) when a field is wrong."""
        texts, values = self.texts(), {}
        for spec in SPECS:
            value, problem = spec.check(texts.get(spec.name, ""))
            if problem:
                self.notify(problem, severity="error")
                return None
            if value is not None:
                values[spec.name] = value
        symptoms = [s.strip() for s in texts.get("symptoms", "").split(",") if s.strip()]
        cadss = texts.get("cadss", "").strip()
        if cadss:
            problem = _cadss(cadss)
            if problem:
                self.notify(problem, severity="error")
                return None
            values.update(cadss_values(cadss))
        values["symptoms"] = symptoms
        return values

    def action_record(self) -> None:
        """Judge and save the reading; a stop or emergency ends the infusion."""
        values = self.values()
        if values is None:
            return
        result = self.attempt(self.infusion.record, values)
        if result is None:
            return
        _, decision = result
        self.last_decision = decision
        fields = self.fields()
        for field in fields.values():
            field.value = ""
        self.services.drafts.discard(self.draft_key)
        self.redraw()
        # The next reading starts at the first vital, not six shift+Tabs back.
        fields[SPECS[0].name].focus_input()
        if decision.action != "continue":
            self.app.bell()
            if decision.action == "pause":
                self.notify(ACTION_TEXT["pause"], severity="warning", timeout=30)
            else:
                self.notify(ACTION_TEXT[decision.action], severity="error", timeout=30)
        if self.infusion.ended:
            self.notify("The infusion was stopped and is ended. Go on to recovery.", timeout=15)
            headline = ACTION_TEXT[decision.action]
            orders = [r.message for r in decision.reasons] + [f"→ {a}" for a in decision.actions]
            if not self.show_orders(headline, orders, then=self.done):
                self.set_timer(0.1, self.done)

    def action_end(self) -> None:
        """End the infusion as planned."""
        if self.attempt(self.infusion.end) is not None:
            self.done()


JUDGEMENT_WORDS = {
    "continue": "continue",
    "pause": "PAUSE",
    "stop": "STOP",
    "emergency": "EMERGENCY",
}


def reading_line(reading: VitalsReading, clock: Clock) -> str:
    """One reading for the list beside the chart: time, BP, HR, SpO₂, the judgement."""
    bp = f"{reading.systolic_mmhg or '–'}/{reading.diastolic_mmhg or '–'}"
    hr = f"HR {reading.heart_rate_bpm}" if reading.heart_rate_bpm is not None else "HR –"
    spo2 = f"{reading.spo2_pct}%" if reading.spo2_pct is not None else "–"
    judged = JUDGEMENT_WORDS.get(reading.judgement or "continue", reading.judgement or "")
    return f"{clock_time(reading.taken_at, clock)} {bp} {hr} {spo2} {judged}"


CADSS_HINT = f"{CADSS_ITEMS} digits 0–{CADSS_ITEM_MAX}, or the total 0–{CADSS_TOTAL_MAX}"


def _cadss(text: str) -> str | None:
    """One digit per item, or the total."""
    raw = text.strip()
    item_digits = "".join(str(n) for n in range(CADSS_ITEM_MAX + 1))
    if len(raw) == CADSS_ITEMS and all(c in item_digits for c in raw):
        return None
    total = read_whole(raw) if len(raw) <= 2 else None  # "²" is no digit here
    if total is None or not 0 <= total <= CADSS_TOTAL_MAX:
        return (
            f"CADSS must be {CADSS_ITEMS} digits 0–{CADSS_ITEM_MAX} (one per item) "
            f"or a total 0–{CADSS_TOTAL_MAX}"
        )
    return None


def cadss_values(text: str) -> dict[str, Any]:
    """The reading's CADSS fields: item-level answers scored by the engine, or a total."""
    raw = text.strip()
    if len(raw) == CADSS_ITEMS:
        items = [int(c) for c in raw]
        result = cadss(items, engine.protocol().scales.cadss)
        return {"cadss_items": items, "cadss_total": result.total}
    return {"cadss_total": int(raw)}
