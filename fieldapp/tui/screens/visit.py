"""Which screen shows which step of a visit."""

from __future__ import annotations

from fieldapp.services.visit import VisitSession
from fieldapp.tui.screens.checklist import ChecklistScreen
from fieldapp.tui.screens.dose import DoseScreen
from fieldapp.tui.screens.evv import EvvScreen
from fieldapp.tui.screens.monitor import MonitorScreen
from fieldapp.tui.screens.note import NoteScreen
from fieldapp.tui.screens.recovery import RecoveryScreen
from fieldapp.tui.screens.step import StepScreen


def screen_for(session: VisitSession) -> StepScreen:
    """The screen for the step the visit is at."""
    step = session.step
    if step == "checkin":
        return EvvScreen(session)
    if step == "checkout":
        return EvvScreen(session, checkout=True)
    screens: dict[str, type[StepScreen]] = {
        "checklist": ChecklistScreen,
        "dose": DoseScreen,
        "monitor": MonitorScreen,
        "recovery": RecoveryScreen,
        "note": NoteScreen,
        "done": NoteScreen,
    }
    return screens[step](session)
