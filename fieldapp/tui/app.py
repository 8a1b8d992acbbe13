"""FieldApp: the clinician's terminal app, built with its store, settings and sync client.

The app holds no clinical or storage logic: it owns the screens, the keys, the command
palette, the session timers' tick, and the one handler every unexpected error reaches.
"""

from __future__ import annotations

import contextlib
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer

from fieldapp.errors import FieldAppError, Locked
from fieldapp.services import safety
from fieldapp.services.clock import Clock
from fieldapp.services.context import START, AppServices
from fieldapp.services.duress import DuressChannel
from fieldapp.services.ports import StorePort
from fieldapp.services.status import status_info
from fieldapp.services.syncing import SyncFactory
from fieldapp.settings import Settings
from fieldapp.tui.boundary import ErrorBoundary
from fieldapp.tui.collector import PAUSE_S, IdleCollector
from fieldapp.tui.commands import MainActions
from fieldapp.tui.deferred import deferred
from fieldapp.tui.duress_key import DuressKey
from fieldapp.tui.kept_screen import KeptCheckIn
from fieldapp.tui.screens.error import ErrorScreen
from fieldapp.tui.screens.help import HelpScreen, KeyRow
from fieldapp.tui.screens.today import TodayScreen
from fieldapp.tui.screens.unlock import UnlockScreen
from fieldapp.tui.styles import load_styles
from fieldapp.tui.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from fieldapp.services.visit import VisitSession

# Screens past today's list, the clinical engine and the network client are imported
# where first used: the app opens on today's list without paying for them.

NARROW_BELOW = 100
"""Terminal width (columns) under which the app lays panels out one above the other."""


class FieldApp(DuressKey):
    """The app; tests build it with a temporary store and a `ManualClock`."""

    CSS_PATH = "fieldapp.tcss"
    TITLE = "fieldapp"
    COMMANDS = App.COMMANDS | {MainActions}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Keys", id="help"),
        Binding("ctrl+l", "lock", "Lock", id="lock", priority=True),
        Binding("ctrl+e", "duress", "Duress", id="duress", priority=True, show=False),
        # Off the footer (F1 and the palette list them): every footer key is a widget a
        # new screen builds, and opening a visit must stay quick.
        Binding("f2", "today", "Today", id="today", show=False),
        Binding("f3", "ledger", "Ledger", id="ledger", show=False),
        Binding("f4", "sync", "Sync", id="sync", show=False),
        Binding("f5", "lone_check_in", "Safe check-in", id="lone-check-in", show=False),
        Binding("f8", "settings", "Settings", id="settings", show=False),
        Binding("f9", "shift", "Start of shift", id="shift", show=False),
        # Tab moves the focus as the app reads it, before the next key is handed on. As the
        # screen's own binding it ran only once the focused field had passed the Tab back
        # up, and fast typing had by then sent the next answer to the old field (7098).
        Binding("tab", "focus_next", "Next field", id="focus-next", show=False, priority=True),
        Binding(
            "shift+tab",
            "focus_previous",
            "Previous field",
            id="focus-previous",
            show=False,
            priority=True,
        ),
    ]

    def __init__(
        self,
        store: StorePort,
        settings: Settings,
        sync: Any = None,
        clock: Clock | None = None,
        duress: DuressChannel | None = None,
    ) -> None:
        """`sync` is a client (with `sync_once`) or a `SyncFactory` called after unlock;
        `duress` defaults to the duress box beside the store's file."""
        super().__init__()
        # No animations: each frame of a smooth scroll lays the whole form out again (40 ms
        # on the checklist), while the clinician is already typing into the field it brings.
        self.animation_level = "none"
        client = sync if hasattr(sync, "sync_once") else None
        self._sync_factory: SyncFactory | None = sync if client is None and callable(sync) else None
        self.services = AppServices(store, settings, sync=client, clock=clock)
        self.settings = settings
        path = getattr(store, "path", None)
        if duress is None and path is not None:
            duress = DuressChannel.beside(path, settings.sync)
        self.duress = duress
        self._clearing = False
        self._resume_visit: UUID | None = None
        self._opened_before = False
        self._sync_timer: Timer | None = None
        self._sync_again = False
        self._prompting = False
        self.boundary = ErrorBoundary(self)
        self.collector = IdleCollector()
        self.kept_check_in = KeptCheckIn(self)

    # -- start, lock and unlock ----------------------------------------------------------

    def on_mount(self) -> None:
        """Apply theme and keys, hook drafts into locking; open, or ask for the passphrase."""
        self.theme = self.settings.ui.theme
        self.set_class(self.size.width < NARROW_BELOW, "narrow")
        if self.settings.ui.keys:
            self.set_keymap(self.settings.ui.keys)
        self.services.store.on_before_lock.append(self.services.drafts.flush)
        self.set_interval(1.0, self.tick)
        self.collector.start()
        self.set_interval(PAUSE_S / 2, self.collector.collect_if_paused)
        self.send_duress()  # a signal left from before a crash or a restart goes now
        if self.services.store.is_locked:
            self.push_screen(UnlockScreen(self.services, START.message))
        else:
            # Built with an unlocked store (the demo): no passphrase screen at start.
            self.services.opened()
            self._opened()

    def push_screen(  # type: ignore[override]
        self,
        screen: Screen[Any] | str,
        callback: Any = None,
        wait_for_dismiss: bool = False,
        *,
        mode: str | None = None,
    ) -> Any:
        """Open a screen, its own stylesheets read first (`fieldapp/tui/styles/`)."""
        load_styles(self, screen)
        return super().push_screen(screen, callback, wait_for_dismiss, mode=mode)

    def switch_screen(self, screen: Screen[Any] | str) -> Any:
        """Replace the top screen, the new one's stylesheets read first."""
        load_styles(self, screen)
        return super().switch_screen(screen)

    def on_resize(self, event: events.Resize) -> None:
        """Below `NARROW_BELOW` columns the panels go under their forms (see the .tcss)."""
        self.set_class(event.size.width < NARROW_BELOW, "narrow")

    def unlocked(self) -> None:
        """The lock screen opened the store: back to where the clinician was."""
        if self.locked or not isinstance(self.screen, UnlockScreen):
            return
        self.pop_screen()
        self._opened()
        if self._warn_if_rows_off():
            self.sync_now()

    def _opened(self) -> None:
        """Today's list, then the visit that was open (or in progress), and a sync."""
        from fieldapp.services.resume import AT_THE_BEDSIDE, resume_visit

        session = resume_visit(self.services)
        pressed, self.services.duress_while_locked = self.services.duress_while_locked, []
        for at in pressed:  # the signal went out already; now the record of it too
            safety.duress(self.services, at)
        self.push_screen(TodayScreen(self.services))
        visit, self._resume_visit = self._resume_visit, None
        if visit is None and not self._opened_before and session is not None:
            # After a restart mid-infusion or mid-recovery, straight back to its timers.
            visit = session.visit.id if session.step in AT_THE_BEDSIDE else None
        self._opened_before = True
        if visit is not None:
            self.open_visit(visit)
        self.refresh_status()
        self.start_sync()

    async def on_event(self, event: events.Event) -> None:
        """Every key and click counts as activity for the idle lock."""
        if isinstance(event, events.Key | events.MouseDown):
            self.services.note_activity()
            self.collector.activity()
        try:
            await super().on_event(event)
        except Exception as error:  # a binding's action: the app's own loop must go on
            self.boundary.catch(error)

    def tick(self) -> None:
        """Once a second: lock when due, prompt when overdue, refresh the status line."""
        if not self.screen_stack:  # closing: the last screen is gone before the timer
            return
        if isinstance(self.screen, UnlockScreen):
            self.screen.show_watch()
        reason = self.services.due_lock()
        if reason is not None:
            self.lock_now(reason)
            return
        self.refresh_status()
        self.prompt_if_overdue()

    def prompt_if_overdue(self) -> None:
        """Ask "are you safe?" when the lone-worker ladder reaches a step nobody answered."""
        if self._prompting or not self._usable():
            return
        state = self.services.lone_worker.needs_prompt()
        if state is None:
            return
        from fieldapp.tui.screens.overdue import OverdueDialog

        self._prompting = True
        self.bell()
        dialog = OverdueDialog(state, safety.default_extension_minutes())
        self.push_screen(dialog, partial(self._answered_prompt, state.step_id))

    def _answered_prompt(self, step_id: str | None, answer: tuple[str, int] | None) -> None:
        self._prompting = False
        kind, minutes = answer or ("safe", 0)
        if kind == "duress":
            self.action_duress()
        elif kind == "extend":
            safety.extend_visit(self.services, minutes)
            self.notify(f"Recorded: safe, check-out due in {minutes} min.")
            self.push_soon()
        else:
            safety.safe_check_in(self.services)
            if step_id is not None:
                self.services.lone_worker.acknowledge(step_id)
            self.notify("Safe check-in recorded.")
            self.push_soon()
        self.refresh_status()

    def refresh_status(self) -> None:
        """Give the status line of the current screen fresh facts."""
        if not self._usable():
            return
        try:
            info = status_info(self.services)
        except Locked:
            return
        for line in self.screen.query(StatusLine):
            line.info = info

    def _warn_if_rows_off(self) -> bool:
        """Say so when the unlock found clinic records missing or older than the clinic's
        manifest (the store fetches them again at the next sync)."""
        warning = self.services.unlock_warning()
        if warning is not None:
            self.notify(warning, severity="warning", markup=False, timeout=15)
        return warning is not None

    def relock(self, reason: str) -> None:
        """Cover the app with a fresh lock screen (the last one stopped); locks first if the
        store is still open."""
        if not self.locked:
            self.lock_now(reason)
            return
        self._clearing = True
        try:
            with contextlib.suppress(Exception):
                self.pop_screen()
        finally:
            self._clearing = False
        self.push_screen(UnlockScreen(self.services, reason))

    # -- actions -------------------------------------------------------------------------

    def action_lock(self) -> None:
        """Lock now (drafts are saved first)."""
        if not isinstance(self.screen, UnlockScreen):
            self.lock_now("Locked. Drafts were saved.")

    def action_command_palette(self) -> None:
        """The palette, unless one is open already (under a dialog that came up on it)."""
        from fieldapp.tui.commands import FieldPalette

        if self.use_command_palette and not any(
            s.has_class("--textual-command-palette") for s in self.screen_stack
        ):
            self.push_screen(FieldPalette(id="--command-palette"))

    def action_help(self) -> None:
        """Show every key."""
        if self._usable():
            self.push_screen(HelpScreen(self.key_rows()))

    def action_today(self) -> None:
        """Back to today's list."""
        while (
            not self.locked
            and len(self.screen_stack) > 2
            and not isinstance(self.screen, TodayScreen)
        ):
            self.pop_screen()

    def action_ledger(self) -> None:
        """The controlled-substance ledger."""
        from fieldapp.tui.screens.ledger import LedgerScreen

        if self._usable() and not isinstance(self.screen, LedgerScreen):
            self.push_screen(LedgerScreen(self.services))

    def _usable(self) -> bool:
        """Whether the store is open and no unlock screen covers the app."""
        return not self.locked and not isinstance(self.screen, UnlockScreen)

    def action_sync(self) -> None:
        """The sync screen."""
        from fieldapp.tui.screens.sync import SyncScreen

        if self._usable() and not isinstance(self.screen, SyncScreen):
            self.push_screen(SyncScreen(self.services))

    def action_shift(self) -> None:
        """The start-of-shift check: credentials from the clinic, the kit once."""
        from fieldapp.tui.screens.shift import ShiftScreen

        if self._usable() and not isinstance(self.screen, ShiftScreen):
            self.push_screen(ShiftScreen(self.services))

    def action_settings(self) -> None:
        """The quick-unlock PIN and the duress key's acknowledgement."""
        from fieldapp.tui.screens.settings import SettingsScreen

        if self._usable() and not isinstance(self.screen, SettingsScreen):
            self.push_screen(SettingsScreen(self.services, self.duress))

    def action_break_glass(self) -> None:
        """Ask for a patient outside the assignment (needs the clinic server)."""
        from fieldapp.tui.screens.break_glass import BreakGlassScreen

        if self._usable() and not isinstance(self.screen, BreakGlassScreen):
            self.push_screen(BreakGlassScreen(self.services))

    def action_break_glass_open(self) -> None:
        """The newest break-glass patient still granted, under its banner."""
        if self._usable():
            self.run_worker(
                deferred(self._open_break_glass),
                group="break-glass",
                exclusive=True,
                exit_on_error=False,
            )

    async def _open_break_glass(self) -> None:
        try:
            await self._find_break_glass()
        except Exception as exc:  # the one error route, never a traceback
            self.report_error(exc)

    async def _find_break_glass(self) -> None:
        from fieldapp.services import break_glass
        from fieldapp.tui.screens.break_glass import BreakGlassPatientScreen

        def live() -> list[break_glass.Access]:
            now = self.services.clock.now()
            return [a for a in break_glass.accesses(self.services) if a.grant.active(now)]

        found = live()
        if not found and await break_glass.recover(self.services):  # an answer lost earlier
            found = live()
            self.sync_now()  # its patient comes with the next pull (if not here already)
        if not found:
            self.notify("No break-glass access holds now.")
        elif self._usable():
            self.push_screen(BreakGlassPatientScreen(self.services, found[0].grant.id))

    def action_lone_check_in(self) -> None:
        """A lone-worker "I am safe" check-in."""
        if self.locked:
            return
        safety.safe_check_in(self.services)
        self.notify("Safe check-in recorded.")
        self.push_soon()

    # -- sync ----------------------------------------------------------------------------

    def start_sync(self) -> None:
        """After unlock: build the client if enrolled, sync once, then every interval."""
        services, state = self.services, self.services.sync_state
        if services.sync is None and self._sync_factory is not None:
            try:
                services.sync = self._sync_factory(self._sync_progress)
            except FieldAppError as exc:
                state.why_not = f"Sync is not available: {exc}"
            if services.sync is None:
                state.why_not = (
                    "Sync is not configured: this laptop is not enrolled "
                    "(`fieldapp enroll --server URL --code CODE`)."
                )
        state.configured = services.sync is not None
        if services.sync is None:
            return
        if self._sync_timer is None:
            self._schedule_routine_sync()
        self.sync_now()

    def _schedule_routine_sync(self) -> None:
        """The next routine sync, after the client's interval give or take a quarter, so
        laptops unlocked together at the start of a shift do not sync in step all day."""
        sync = self.services.sync
        delay = sync.next_interval() if sync is not None else self.settings.sync.interval_s
        self._sync_timer = self.set_timer(delay, self._routine_sync)

    def _routine_sync(self) -> None:
        self.sync_now()
        self._schedule_routine_sync()

    def sync_now(self, manual: bool = False) -> None:
        """Run one sync round in an async worker (or once more after the running one)."""
        services, state = self.services, self.services.sync_state
        if services.sync is None:
            if manual:
                self.notify(state.why_not, severity="warning", markup=False)
            return
        if services.store.is_locked:
            return
        if state.running:
            self._sync_again = True
            if manual:
                self.notify("A sync is running; another follows it.")
            return
        state.begin(services.clock.now(), manual)
        self._show_sync()
        self.run_worker(deferred(self._sync_round), group="sync", exit_on_error=False)

    async def _sync_round(self) -> None:
        from sync.client import DeviceRevoked

        services, state = self.services, self.services.sync_state
        try:
            await self._send_cosign_requests()  # before the telephone orders they co-sign
            report = await services.sync.sync_once()
        except DeviceRevoked as exc:
            state.fail(exc, services.clock.now())
            services.sync, state.configured, state.why_not = None, False, str(exc)
            self.push_screen(ErrorScreen(str(exc)))
        except Exception as exc:  # any sync failure: the records wait in the outbox
            state.fail(exc, services.clock.now())
            self.notify(f"Sync failed: {state.error}", severity="warning", markup=False)
        else:
            state.finish(report, services.clock.now())
            await self._after_sync()
            self._break_glass_after_sync()
            await self._send_cosign_requests()  # orders taken while this round ran
        self._show_sync()
        self.refresh_status()
        if self._sync_again:
            self._sync_again = False
            self.sync_now()

    def _break_glass_after_sync(self) -> None:
        """Forget grants that have ended (this sync took their patients off the laptop);
        a break-glass screen shows what the sync brought."""
        from fieldapp.tui.screens.break_glass import BreakGlassPatientScreen

        if self.services.store.is_locked:
            return
        self.services.store.forget_break_glass(self.services.clock.now())
        for screen in self.screen_stack:
            if isinstance(screen, BreakGlassPatientScreen):
                screen.show_access()

    async def _send_cosign_requests(self) -> None:
        """Telephone orders taken offline go to the prescriber's co-sign queue now (the
        clinic raises any it has not had from the order's record, so none escapes)."""
        from fieldapp.services.approvals import ApprovalLink
        from fieldapp.services.verbal import REFUSED_NOTE, CosignQueue

        s = self.services
        queue = CosignQueue(s.drafts)
        try:  # a store locked meanwhile: they go at the next sync
            if not queue.pending():
                return
            flushed = await queue.flush(ApprovalLink(s.sync, s.store, s.settings.sync.timeout_s))
        except FieldAppError:
            return
        if flushed.refused:
            self.notify(REFUSED_NOTE, severity="warning")

    def _sync_progress(self, event: Any) -> None:
        self.services.sync_state.progress(event)
        self._show_sync()

    def _show_sync(self) -> None:
        from fieldapp.tui.screens.sync import SyncScreen

        for screen in self.screen_stack:
            if isinstance(screen, SyncScreen):
                screen.show_state(self.services.sync_state)

    def push_soon(self) -> None:
        """Ask sync to send the outbox now, when sync is configured."""
        self.sync_now()

    def open_visit(self, visit_id: UUID) -> None:
        """Open one visit at its current step."""
        from fieldapp.services.visit import VisitSession

        try:
            session = VisitSession.load(self.services, visit_id)
        except FieldAppError as exc:
            self.report_error(exc)
            return
        if session.step == "checkin":
            self.services.current_visit = None
        elif session.step != "done":
            self.services.current_visit = session
        self.push_screen(self.kept_check_in.screen_for(session))

    def advance_visit(self, session: VisitSession) -> None:
        """The step is recorded: show the next one (or today's list when done)."""
        if session.step == "done":
            self.action_today()
            return
        self.switch_screen(self.kept_check_in.screen_for(session))

    def open_history(self, patient_id: UUID) -> None:
        """Open one patient's history."""
        from fieldapp.tui.screens.history import HistoryScreen

        if self._usable():
            self.push_screen(HistoryScreen(self.services, patient_id))

    # -- errors --------------------------------------------------------------------------

    def report_error(self, error: BaseException) -> None:
        """The one place errors end up: expected ones as a notice, others to the boundary."""
        if isinstance(error, Locked):
            self.lock_now(str(error))
        elif isinstance(error, FieldAppError):
            self.notify(str(error), severity="error", markup=False, timeout=8)
        else:
            self.boundary.catch(error)

    def _handle_exception(self, error: Exception) -> None:
        # Textual's hook for every error no handler caught (a message handler, a timer, a
        # worker). Its own quits and prints a traceback with local variables: patient data.
        # There is no public hook for this; the boundary logs, tells and repairs instead.
        self.boundary.catch(error)

    # -- keys ----------------------------------------------------------------------------

    def key_rows(self) -> list[KeyRow]:
        """(where, key, what, id) for every binding of the app and its screens."""
        from fieldapp.tui.screens import registry

        rows: list[KeyRow] = []
        keymap = dict(self.settings.ui.keys)
        for where, bindings in [("everywhere", self.BINDINGS), *registry.screen_bindings()]:
            for binding in bindings:
                if not isinstance(binding, Binding) or binding.id is None:
                    continue
                key = keymap.get(binding.id, binding.key)
                rows.append((where, key, binding.description, binding.id))
        rows.append(("everywhere", "ctrl+p", "Command palette", "command-palette"))
        rows.append(("everywhere", "ctrl+q", "Quit (drafts are saved)", "quit"))
        return rows

    async def on_unmount(self) -> None:
        """Close the sync client's connections when the app built the client; put the
        garbage collector back."""
        self.collector.stop()
        client = self.services.sync
        if self._sync_factory is not None and client is not None:
            with contextlib.suppress(Exception):  # closing is best effort at exit
                await client.http.aclose()
        if self.duress is not None:
            await self.duress.close()

    def forget_kept_screens(self) -> None:
        """The lock lets go of the kept check-in screen with the rest."""
        self.kept_check_in.forget()

    def save_open_forms(self) -> None:
        """Every open step's form into its draft (edits not yet handled included)."""
        from fieldapp.tui.screens.step import save_open_forms

        save_open_forms(self.screen_stack)

    async def action_quit(self) -> None:
        """Save drafts, then quit."""
        self.save_open_forms()
        self.services.drafts.flush()
        self.exit()

    def screen_for_tests(self) -> Screen[Any]:
        """The current screen (a stable name for tests)."""
        return self.screen
