"""Which screens have keys, for the help screen (imported lazily to avoid cycles)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from textual.binding import BindingType


def screen_bindings() -> Iterable[tuple[str, Sequence[BindingType]]]:
    """(screen title, its bindings) for every main screen."""
    from fieldapp.tui.screens.checklist import ChecklistScreen
    from fieldapp.tui.screens.dose import DoseScreen
    from fieldapp.tui.screens.evv import EvvScreen
    from fieldapp.tui.screens.ledger import LedgerScreen
    from fieldapp.tui.screens.monitor import MonitorScreen
    from fieldapp.tui.screens.note import NoteScreen
    from fieldapp.tui.screens.recovery import RecoveryScreen
    from fieldapp.tui.screens.settings import SettingsScreen
    from fieldapp.tui.screens.shift import ShiftScreen
    from fieldapp.tui.screens.step import StepScreen
    from fieldapp.tui.screens.today import TodayScreen

    shared = len(StepScreen.BINDINGS)

    yield "today", TodayScreen.BINDINGS
    yield "check-in/out", EvvScreen.BINDINGS
    yield "visit", StepScreen.BINDINGS
    yield "checklist", ChecklistScreen.BINDINGS[shared:]
    yield "dose", DoseScreen.BINDINGS[shared:]
    yield "infusion", MonitorScreen.BINDINGS[shared:]
    yield "recovery", RecoveryScreen.BINDINGS[shared:]
    yield "note", NoteScreen.BINDINGS[shared:]
    yield "ledger", LedgerScreen.BINDINGS
    yield "settings", SettingsScreen.BINDINGS
    yield "start of shift", ShiftScreen.BINDINGS
