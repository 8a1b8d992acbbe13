"""Which screens have keys, for the help screen (imported lazily to avoid cycles)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from textual.binding import BindingType


def screen_bindings() -> Iterable[tuple[str, Sequence[BindingType]]]:
    """(screen title, its bindings) for every main screen."""
    from fieldapp.tui.screens.today import TodayScreen

    yield "today", TodayScreen.BINDINGS
