"""Python's full garbage collections when the clinician pauses, not inside a keystroke.

A full (generation 2) collection walks every object the process holds. With a long form
open (the safety checklist: some 400 widgets and their render caches) that was 50 to
150 ms, and the interpreter starts one whenever enough objects have piled up: on a
keystroke like any other, which then took that much longer (most of the slowest key
presses in `benchmarks/tui_bench.py`). While the app runs:

- what was alive as it started (modules, classes, the app itself) is frozen out of the
  collector's walk (`gc.freeze`): it lives as long as the process anyway;
- the interpreter's own full collections come ten times less often (the young
  generations are collected as before: they are cheap);
- a full collection runs once the clinician has paused a second (no key, no click),
  once per pause.

Nothing else changes: memory that is garbage is still given back, at the next pause
rather than at a random keystroke. On exit the interpreter's settings are put back.

Before that, while `fieldapp` starts (`hold_for_launch`, from loading the modules to the
app's first screen), there are no collections at all: loading pydantic, the record models
and the screens made the interpreter walk every object a dozen times over, one of them a
full collection of all it had loaded (about 90 million instructions of a launch, against
40 for a bare Textual app). What a launch allocates is nearly all kept (modules, classes,
the app); the little garbage it leaves is frozen with the rest and given back at exit.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

PAUSE_S = 1.0
"""Seconds without a key or a click after which a full collection may run."""
FULL_EVERY = 10
"""How many times less often the interpreter starts a full collection on its own."""


_held_for_launch = False
"""Whether `hold_for_launch` turned the collector off (and `IdleCollector.start` should
turn it back on)."""


def hold_for_launch() -> None:
    """No garbage collection until the app's first screen (`IdleCollector.start`): call
    first thing when `fieldapp` starts, before the app's modules load."""
    global _held_for_launch
    if gc.isenabled():
        gc.disable()
        _held_for_launch = True


def release_after_launch() -> None:
    """The collector back on, if `hold_for_launch` turned it off (also where the app never
    got as far as its first screen)."""
    global _held_for_launch
    if _held_for_launch:
        _held_for_launch = False
        gc.enable()


class IdleCollector:
    """Full collections at pauses; `start` when the app starts, `stop` when it ends."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._last_activity = now()
        self._pending = False  # activity since the last full collection
        self._saved: tuple[int, int, int] | None = None
        self.collections = 0
        """Full collections this collector ran (for tests and the benchmark)."""

    def start(self) -> None:
        """Freeze what is alive now and make the interpreter's full collections rare."""
        if self._saved is not None:
            return
        self._saved = gc.get_threshold()
        young, middle, full = self._saved
        gc.set_threshold(young, middle, full * FULL_EVERY)
        gc.freeze()
        release_after_launch()

    def stop(self) -> None:
        """Put the interpreter's collector back as it was."""
        if self._saved is None:
            return
        gc.set_threshold(*self._saved)
        self._saved = None
        gc.unfreeze()

    def activity(self) -> None:
        """A key or a click."""
        self._last_activity = self._now()
        self._pending = True

    def collect_if_paused(self) -> bool:
        """Run a full collection if the clinician has paused since the last activity
        (once per pause); True when it ran."""
        if not self._pending or self._now() - self._last_activity < PAUSE_S:
            return False
        self._pending = False
        gc.collect()
        self.collections += 1
        return True
