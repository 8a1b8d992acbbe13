"""The dispatcher's board: every visit of the day, alerts first, the map, publish and re-plan.

The screen never speaks HTTP itself: it is built with a `BoardContext` whose backend does.
Network calls run in async workers; the planner runs in a thread worker while a progress
bar shows the step. The lone-worker ladder is re-evaluated every second against the clock,
so a visit becomes overdue on the board without waiting for the next poll.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, ProgressBar, Static

from fieldapp.dispatch.replan import Replan, replan
from fieldapp.dispatch.watch import DayWatch, VisitWatch, watch_day
from fieldapp.tui.board.confirm import ConfirmScreen
from fieldapp.tui.board.ports import BoardContext
from fieldapp.tui.board.routemap import MapData, MapRoute, RouteMap
from fieldapp.tui.widgets.fit_table import Cell, Col, FitTable
from sync.client import SyncError
from sync.server.plan_models import Board, BoardTask, RosterClinician

DUE_MIN = 10
"""The Due now column never gets narrower: "+32m " and the ladder step's first words."""
# Due now, Live, Window and ETA matter most: they keep their width; who and which visit
# give way ("…"), the panel beside the table shows them in full.
COLUMNS = (
    Col(""),
    Col("Clinician", shrink_to=3),
    Col("#"),
    Col("Visit", shrink_to=4),
    Col("Patient", shrink_to=6),
    Col("Due now", shrink_to=DUE_MIN, last=1),
    Col("Live"),
    Col("Window"),
    Col("ETA"),
)
WIDE = 140
"""Below this many columns the map and the detail go under the table."""
# Short words for the device statuses, so the table fits beside the map.
LIVE_WORDS = {
    "en_route": "en route",
    "arrived": "arrived",
    "infusion_started": "infusing",
    "infusion_ended": "infused",
    "check_in": "safe",
    "checked_out": "out",
    "declined": "declined",
    "duress": "DURESS",
}
PLAN_STEPS = ("Fetching the board", "Finding the roster", "Planning", "Storing the draft", "Done")
ALERT_STYLE = {"emergency": "bold white on red"}


class BoardScreen(Screen[None]):
    """Routes with live status, the ladder on every visit under way, the map."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh", "Refresh", id="board-refresh"),
        Binding("n", "replan", "Re-plan", id="board-replan"),
        Binding("p", "publish", "Publish", id="board-publish"),
        Binding("x", "cancel_visit", "Cancel visit", id="board-cancel"),
        Binding("m", "toggle_map", "Map", id="board-map"),
        Binding("q", "app.quit", "Quit", id="board-quit"),
    ]

    def __init__(self, ctx: BoardContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.board: Board | None = None
        self.day_watch: DayWatch = DayWatch(rows=[], duress=[])
        self.seen_duress: set[tuple[str, datetime]] = set()

    def compose(self) -> ComposeResult:
        """Banner, table and side panel (map, detail), planning progress, keys."""
        yield Header()
        yield Static("Loading the board…", id="board-banner", markup=False)
        yield Static("", id="board-break-glass", markup=False)
        with Horizontal(id="board-body"):
            yield FitTable(COLUMNS, id="board-table", cursor_type="row", zebra_stripes=True)
            with Vertical(id="board-side"):
                yield RouteMap(id="board-map")
                yield Static("", id="board-detail", markup=False)
        with Horizontal(id="board-planning"):
            yield Static("", id="board-progress-label", markup=False)
            yield ProgressBar(total=len(PLAN_STEPS) - 1, id="board-progress", show_eta=False)
        yield Footer()

    def on_mount(self) -> None:
        """Set the columns, load the day, then poll the server and tick the ladder."""
        self.title = f"Dispatch board — {self.ctx.day.isoformat()}"
        self.set_class(self.app.size.width < WIDE, "narrow")
        for note in self.ctx.notes:
            self.notify(note, severity="warning", timeout=30, markup=False)
        self.load_board()
        self.set_interval(self.ctx.poll_s, self.load_board)
        self.set_interval(1.0, self.recompute)

    def on_resize(self, event: events.Resize) -> None:
        """Narrow terminals: the map and the detail go under the table."""
        self.set_class(event.size.width < WIDE, "narrow")

    # -- loading and showing -----------------------------------------------------------

    @work(exclusive=True, group="board", exit_on_error=False)
    async def load_board(self) -> None:
        """Fetch the day's board from the server."""
        try:
            board = await self.ctx.backend.board(self.ctx.day)
        except SyncError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.show_board(board)

    def show_board(self, board: Board) -> None:
        """Take a new board and redraw everything."""
        self.board = board
        self.recompute()
        self.query_one(RouteMap).show(self.map_data())

    def recompute(self) -> None:
        """Apply the ladder at the clock's now; ring for a duress signal not seen before."""
        if self.board is None:
            return
        self.day_watch = watch_day(self.board, self.ctx.protocol, self.ctx.clock.now())
        fresh = [d for d in self.day_watch.duress if d not in self.seen_duress]
        if fresh:
            self.seen_duress.update(fresh)
            self.app.bell()
            for clinician, at in fresh:
                self.notify(
                    f"DURESS from {clinician} at {self._hm(at)}: "
                    f"{self.ctx.protocol.lone_worker.duress_action}",
                    severity="error",
                    timeout=120,
                    markup=False,
                )
        self._fill_table()
        self._set_banner()
        self._set_break_glass()

    def _task_state(self, task: BoardTask) -> str:
        """done, or overdue once its due time has passed on this clock, else open."""
        if task.state == "done":
            return "done"
        due = task.due_at
        return "overdue" if due is not None and due < self.ctx.clock.now() else task.state

    def _hm(self, moment: datetime | None) -> str:
        if moment is None or self.board is None:
            return ""
        return moment.astimezone(ZoneInfo(self.board.timezone)).strftime("%H:%M")

    def _fill_table(self) -> None:
        table = self.query_one(FitTable)
        selected = self.selected_visit()
        table.show([(str(row.visit.id), self._cells(row)) for row in self.day_watch.rows])
        keys = [str(row.visit.id) for row in self.day_watch.rows]
        if selected in keys:
            table.move_cursor(row=keys.index(selected), animate=False)
        self._show_detail()

    def _cells(self, row: VisitWatch) -> list[Cell]:
        v = row.visit
        window = f"{self._hm(v.window_start)}–{self._hm(v.window_end)}"
        live = ""
        if v.live:
            live = f"{LIVE_WORDS.get(v.live, v.live)} {self._hm(v.live_at)}"
        elif v.status == "cancelled":
            live = "cancelled"
        due = ""
        if row.step == "emergency":
            due = "emergency"
        elif row.decision is not None and row.step != "none":
            # Minutes first: when the column is narrow, the step's words give way.
            due = f"+{int(row.decision.minutes_overdue)}m {row.step.replace('_', ' ')}"
        elif any(self._task_state(t) == "overdue" for t in v.tasks):
            due = "task overdue"
        mark = "‼" if row.step == "emergency" else ("!" if row.alert else "")
        cells: list[Cell] = [
            mark,
            row.clinician_id or "—",
            str(v.route_order or ""),
            v.ref or str(v.id)[:8],
            v.patient_name or "",
            due,
            live,
            window,
            self._hm(v.eta),
        ]
        if not row.alert:
            return cells
        style = ALERT_STYLE.get(row.step, "bold yellow")
        return [Text(str(cell), style=style) for cell in cells]

    def _set_banner(self) -> None:
        banner = self.query_one("#board-banner", Static)
        alerts = self.day_watch.alerts()
        banner.set_class(bool(self.day_watch.duress), "duress")
        banner.set_class(bool(alerts) and not self.day_watch.duress, "overdue")
        if self.day_watch.duress:
            clinician, at = self.day_watch.duress[-1]
            banner.update(
                f"DURESS — {clinician} at {self._hm(at)}: "
                f"{self.ctx.protocol.lone_worker.duress_action}"
            )
        elif alerts:
            worst = alerts[0]
            action = worst.decision.actions[-1] if worst.decision and worst.decision.actions else ""
            banner.update(f"{len(alerts)} overdue. {worst.clinician_id}: {worst.step} — {action}")
        else:
            total = len(self.day_watch.rows)
            banner.update(f"All clear: {total} visits, no one overdue.")

    def _set_break_glass(self) -> None:
        """Break-glass accesses awaiting a supervisor's review, one line each (hidden when
        there are none): who, whose patient, the coded reason, when, still open or ended."""
        line = self.query_one("#board-break-glass", Static)
        accesses = self.board.break_glass if self.board is not None else []
        line.display = bool(accesses)
        now = self.ctx.clock.now()
        line.update(
            "\n".join(
                f"BREAK-GLASS awaiting supervisor review: {a.clinician} → "
                f"{a.patient_name or a.patient_id} ({a.reason_code.replace('_', ' ')}), "
                f"{self._hm(a.granted_at)}–{self._hm(a.expires_at)}, "
                + ("open now" if a.expires_at > now else "ended")
                for a in accesses
            )
        )

    def selected_visit(self) -> str | None:
        """The id of the visit under the cursor."""
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:  # an empty or just-cleared table has no cell there
            return None
        return str(key.value) if key.value is not None else None

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        """Show the highlighted visit's details."""
        self._show_detail()

    def _show_detail(self) -> None:
        chosen = self.selected_visit()
        row = next((r for r in self.day_watch.rows if str(r.visit.id) == chosen), None)
        detail = self.query_one("#board-detail", Static)
        if row is None:
            detail.update("")
            return
        v = row.visit
        lines = [
            f"{v.ref or v.id}  {v.patient_name or ''}  {v.phone or ''}",
            v.address,
            f"Safety: {', '.join(v.safety_flags) or 'none'}",
            *(
                f"Safety note: {n.category.replace('_', ' ')} ({n.level}), "
                + ("REVIEW DUE" if n.review_due else f"review by {n.review_on}")
                + f", expires {n.expires_on}"
                for n in v.safety_notes
            ),
            "Check-ins: " + (", ".join(f"{e.status} {self._hm(e.at)}" for e in v.events) or "none"),
        ]
        if v.review_flags:
            lines.append(f"Review: {', '.join(v.review_flags)}")
        for task in v.tasks:
            state = self._task_state(task)
            lines.append(
                f"Task for the {task.owner}: {task.action.replace('_', ' ')}, "
                + (f"due {self._hm(task.due_at)}, " if task.due_at else "")
                + (state.upper() if state == "overdue" else state)
            )
        if row.decision is not None:
            lines.append(f"Expected check-out {self._hm(row.decision.expected_end)}")
            lines += [f"→ {action}" for action in row.decision.actions]
        detail.update("\n".join(lines))

    def map_data(self) -> MapData:
        """The board as map routes (stops in route order) and loose visits."""
        if self.board is None:
            return MapData()
        alerted = {r.clinician_id for r in self.day_watch.alerts()}
        routes = [
            MapRoute(
                c.clinician_id,
                [(v.lat, v.lon) for v in c.visits if v.lat is not None and v.lon is not None],
                alert=c.clinician_id in alerted,
            )
            for c in self.board.clinicians
        ]
        loose = [
            (v.lat, v.lon)
            for v in self.board.unassigned
            if v.lat is not None and v.lon is not None and v.status != "cancelled"
        ]
        return MapData(routes, loose)

    # -- actions -------------------------------------------------------------------------

    def action_refresh(self) -> None:
        """Fetch the board now."""
        self.load_board()

    def action_toggle_map(self) -> None:
        """Show or hide the map."""
        side = self.query_one("#board-map")
        side.display = not side.display

    def action_replan(self) -> None:
        """Re-plan the rest of the day around the visits under way."""
        if self.ctx.routing is None:
            self.notify("Re-planning needs the routing config.", severity="error")
            return
        self.replan_day()

    def _progress(self, step: int) -> None:
        self.query_one("#board-planning").set_class(step < len(PLAN_STEPS) - 1, "active")
        self.query_one(ProgressBar).update(progress=step)
        self.query_one("#board-progress-label", Static).update(PLAN_STEPS[step])

    @work(exclusive=True, group="plan", exit_on_error=False)
    async def replan_day(self) -> None:
        """Fetch, plan in a thread, store the draft; the bar follows each step."""
        try:
            self._progress(0)
            board = await self.ctx.backend.board(self.ctx.day)
            self.show_board(board)
            self._progress(1)
            roster = self.ctx.roster or await self._latest_roster()
            if not roster:
                self._progress(len(PLAN_STEPS) - 1)
                self.notify(
                    "No roster for this day: start the board with --clinicians, "
                    "or publish a plan made with one.",
                    severity="error",
                )
                return
            self._progress(2)
            result: Replan = await self.run_planner(board, roster).wait()
            self._progress(3)
            stored = await self.ctx.backend.store_plan(
                self.ctx.day, result.plan, [r.model_dump(mode="json") for r in roster]
            )
        except SyncError as exc:
            self._progress(len(PLAN_STEPS) - 1)
            self.notify(str(exc), severity="error", markup=False)
            return
        self._progress(len(PLAN_STEPS) - 1)
        totals = stored.totals
        self.notify(
            f"Draft plan stored: {totals.get('visits_planned', 0)} visits planned, "
            f"{totals.get('visits_unassigned', 0)} left out, {len(result.fixed)} under way kept. "
            "Press p to publish.",
            markup=False,
        )

    @work(thread=True, exclusive=True, group="planner", exit_on_error=False)
    def run_planner(self, board: Board, roster: list[RosterClinician]) -> Replan:
        """The solver, off the event loop."""
        assert self.ctx.routing is not None
        return replan(board, roster, self.ctx.clock.now(), self.ctx.routing)

    async def _latest_roster(self) -> list[RosterClinician]:
        for summary in await self.ctx.backend.plans(self.ctx.day):
            plan = await self.ctx.backend.plan(summary.id)
            if plan.roster:
                return plan.roster
        return []

    def action_publish(self) -> None:
        """Publish the newest draft plan of the day (asks first)."""
        self.publish_draft()

    @work(exclusive=True, group="publish", exit_on_error=False)
    async def publish_draft(self) -> None:
        """Find the newest draft, confirm, publish, refresh."""
        try:
            plans = await self.ctx.backend.plans(self.ctx.day)
            draft = next((p for p in plans if p.status == "draft"), None)
            if draft is None:
                self.notify("No draft plan for this day: re-plan first (n).", severity="warning")
                return
            planned = draft.totals.get("visits_planned", 0)
            question = (
                f"Publish the draft of {self._hm(draft.created_at)} with {planned} visits? "
                "Each clinician's laptop receives its route at its next sync."
            )
            if not await self.app.push_screen_wait(ConfirmScreen(question)):
                return
            result = await self.ctx.backend.publish(draft.id)
        except SyncError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.notify(
            f"Published: {len(result.created) + len(result.changed)} visits assigned, "
            f"{len(result.unchanged)} unchanged, {len(result.kept_under_way)} under way kept.",
            markup=False,
        )
        self.load_board()

    def action_cancel_visit(self) -> None:
        """Cancel the visit under the cursor (asks first)."""
        chosen = self.selected_visit()
        if chosen is None:
            return
        self.cancel_visit(chosen)

    @work(exclusive=True, group="cancel", exit_on_error=False)
    async def cancel_visit(self, visit_id: str) -> None:
        """Confirm, cancel at the server, show the board after it."""
        row = next((r for r in self.day_watch.rows if str(r.visit.id) == visit_id), None)
        label = (row.visit.ref or visit_id[:8]) if row else visit_id[:8]
        if not await self.app.push_screen_wait(
            ConfirmScreen(f"Cancel visit {label}? Its clinician's laptop is told at its next sync.")
        ):
            return
        try:
            board = await self.ctx.backend.cancel(visit_id)
        except SyncError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.show_board(board)
        self.notify(f"Cancelled {label}. Press n to re-plan the rest of the day.", markup=False)
