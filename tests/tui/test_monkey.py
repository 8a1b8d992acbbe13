"""The monkey: random keys and random text, typed fast, on every screen of a visit, the
ledger, the sync screen and the lock screen (hypothesis drives a real app over a real
store). Whatever is pressed: no error reaches the app's boundary, no traceback is drawn,
and while the app is locked none of the store's patient names, addresses or dates of birth
is anywhere on the screen.

`MONKEY_KEYSTROKES` (environment) sets the total budget; it defaults to the 20,000 the
issue asks of CI. Every run draws new examples (new seeds); a failure prints the example.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from textual import events

from fieldapp.services.clock import ManualClock
from fieldapp.services.errorlog import error_log_path
from fieldapp.services.recovery import SOAP, Note
from fieldapp.settings import Settings
from fieldapp.store.store import Store
from fieldapp.tui.app import FieldApp
from fieldapp.tui.screens.ledger import LedgerScreen
from fieldapp.tui.screens.sync import SyncScreen
from fieldapp.tui.screens.unlock import UnlockScreen
from tests.tui.conftest import PASSPHRASE, STORE_SETTINGS
from tests.tui.helpers import screen_text, workers_done
from tests.tui.states import bring_to

SCREENS = (
    "checkin",
    "checklist",
    "dose",
    "monitor",
    "recovery",
    "note",
    "checkout",
    "ledger",
    "sync",
    "lock",
)
EXAMPLES = 4
"""Examples per screen: each is a fresh app over a fresh copy of the store (hypothesis's
first is its simplest, the others are drawn at random)."""
BUDGET = int(os.environ.get("MONKEY_KEYSTROKES", "20000"))
PER_EXAMPLE = max(50, BUDGET // (len(SCREENS) * EXAMPLES))
CHECK_EVERY = 40
"""Keystrokes between two looks at the whole screen (and always after a lock)."""

KEYS = (
    *("tab", "shift+tab", "enter", "escape", "backspace", "delete", "space"),
    *("up", "down", "left", "right", "home", "end", "pageup", "pagedown"),
    *("ctrl+s", "ctrl+a", "ctrl+r", "ctrl+t", "ctrl+n", "ctrl+o", "ctrl+d", "ctrl+p"),
    *("ctrl+l", "ctrl+e", "ctrl+c", "ctrl+v", "ctrl+w", "ctrl+u", "ctrl+k", "ctrl+h"),
    *("f1", "f2", "f3", "f4", "f5", "f6", "h", "r", "s", "c", "w", "b", "n", "t", "v", "y"),
)
# Out of range, not numbers, odd digits, markup, and the shapes the forms ask for.
NASTY = (
    "720",
    "101",
    "368",
    "140",
    "1280/82",
    "128/820",
    "-1",
    "0",
    "99999999999999",
    "1e999",
    "nan",
    "inf",
    "-0",
    "1_0",
    "²",
    "٣",
    "９",
    "3.",
    ".5",
    "12,5",
    "7098",
    "45",
    "36.8",
    "128/82",
    "76",
    "98",
    "14",
    "2026-02-30",
    "2026-03-10",
    "y",
    "n",
    "yes",
    "maybe",
    "template",
    "bolus",
    "female",
    "V-0310-A",
    "[bold]x[/bold]",
    "[/]",
    "\\",
    "🙂",
    "a" * 80,
)
KEY = st.sampled_from(KEYS).map(lambda key: ("key", key))
NASTY_TEXT = st.sampled_from(NASTY).map(lambda text: ("text", text))
ANY_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12).map(
    lambda text: ("text", text)
)
# Time passing: mostly a little (the visit's timers move), now and then past the idle lock.
LATER = st.sampled_from((1, 1, 2, 3, 6, 15)).map(lambda minutes: ("later", minutes))
UNLOCK = st.just(("unlock", ""))  # the right passphrase, when locked: the monkey gets back in
# Weighted by repetition: keys most, then text, then time and the passphrase.
ACTION = st.one_of(KEY, KEY, KEY, NASTY_TEXT, NASTY_TEXT, ANY_TEXT, LATER, UNLOCK)


@dataclass
class Patrol:
    """What one run saw: keystrokes sent, and patient data seen on a locked screen."""

    keystrokes: int = 0
    locked_looks: int = 0
    leaks: list[str] = field(default_factory=list)
    screens: set[str] = field(default_factory=set)


def patient_data(store: Store) -> set[str]:
    """Every patient name part, street and date of birth the store holds (unlocked)."""
    found: set[str] = set()
    for visit in store.visits_for_day(store_day(store)):
        patient = store.patient(visit.patient_id)
        if patient is None:
            continue
        found.update(part for part in patient.display_name.split() if len(part) > 3)
        found.add(patient.address.street)
        found.add(patient.date_of_birth.isoformat())
        found.add(f"{patient.date_of_birth:%m/%d/%Y}")
    return found


def store_day(store: Store) -> Any:
    from tests.tui.conftest import DAY

    return DAY


def build(template: Path, folder: Path, step: str) -> tuple[FieldApp, ManualClock]:
    """A fresh app over a copy of the template store, the first visit at `step`."""
    from datetime import datetime

    from fieldapp.demo.seattle import SEATTLE

    path = folder / "c01.store"
    shutil.copy(template, path)
    clock = ManualClock(datetime(2026, 3, 10, 8, 30, tzinfo=SEATTLE))
    settings_ = Settings.model_validate({"store": {**STORE_SETTINGS, "path": str(path)}})
    store = Store.open(path, settings_.store, clock=lambda: clock.now().timestamp())
    store.unlock(PASSPHRASE)
    app = FieldApp(store, settings_, clock=clock)
    if step in ("ledger", "sync", "lock"):
        return app, clock
    target = "note" if step == "checkout" else step
    session = bring_to(app, clock, target)
    if step == "checkout":
        note = Note(session)
        note.sign({key: "Synthetic note." for key in SOAP})
    app.services.ledger.carry("V-MONKEY", Decimal(10), Decimal(20), "LOT-M")
    app.monkey_visit = session.visit.id  # type: ignore[attr-defined]
    return app, clock


async def open_start(app: FieldApp, pilot: Any, step: str) -> None:
    """Put the screen the run starts on in front."""
    await workers_done(pilot)
    await pilot.pause()
    if step == "ledger":
        app.push_screen(LedgerScreen(app.services))
    elif step == "sync":
        app.push_screen(SyncScreen(app.services))
    elif step == "lock":
        await pilot.press("ctrl+l")
    else:
        app.open_visit(app.monkey_visit)  # type: ignore[attr-defined]
    await workers_done(pilot)
    await pilot.pause()


def locked(app: FieldApp) -> bool:
    """Whether the app is locked (or its store is)."""
    stack_locked = any(isinstance(s, UnlockScreen) for s in app.screen_stack)
    return stack_locked or app.services.store.is_locked or app.services.unlocked_at is None


def look(app: FieldApp, data: set[str], patrol: Patrol) -> None:
    """The whole screen: no traceback ever; no patient data while locked."""
    if app.boundary.caught:
        # The app's own error log says where (it holds no patient data, by design).
        log = error_log_path(app.settings.store.resolved_path())
        where = log.read_text(encoding="utf-8") if log.exists() else "(no error log)"
        raise AssertionError(f"errors reached the boundary: {app.boundary.caught}\n{where}")
    shown = screen_text(app)
    assert "Traceback" not in shown
    patrol.screens.add(type(app.screen).__name__)
    if locked(app):
        patrol.locked_looks += 1
        patrol.leaks += [item for item in data if item in shown]


async def play(app: FieldApp, clock: ManualClock, step: str, actions: list[Any]) -> Patrol:
    """Run the actions until the example's keystrokes are spent."""
    patrol = Patrol()
    data = patient_data(app.services.store)  # type: ignore[arg-type]
    async with app.run_test(size=(100, 32) if len(actions) % 2 else (80, 24)) as pilot:
        await open_start(app, pilot, step)
        since_look = 0
        while patrol.keystrokes < PER_EXAMPLE:
            for kind, value in actions:
                was_locked = locked(app)
                sent = send(app, clock, kind, value)
                patrol.keystrokes += sent
                since_look += sent
                if sent == 0 or since_look >= CHECK_EVERY or locked(app) != was_locked:
                    await settle_quietly(pilot)
                    look(app, data, patrol)
                    since_look = 0
                if patrol.keystrokes >= PER_EXAMPLE:
                    break
        await settle_quietly(pilot)
        look(app, data, patrol)
    return patrol


def send(app: FieldApp, clock: ManualClock, kind: str, value: Any) -> int:
    """Post one action's keys at once, as a fast typist would; return how many."""
    if kind == "later":
        clock.advance(minutes=value)
        app.tick()
        return 0
    if kind == "unlock":
        keys = [*PASSPHRASE, "enter"] if locked(app) else []
    elif kind == "text":
        keys = list(value)
    else:
        keys = [value]
    for key in keys:
        app.post_message(events.Key(key_name(key), key if len(key) == 1 else None))
    return len(keys)


def key_name(key: str) -> str:
    """Textual's name of a typed character ("a", "space", "slash"...) or a named key."""
    if len(key) != 1:
        return key
    from textual.keys import _character_to_key

    return _character_to_key(key)


async def settle_quietly(pilot: Any) -> None:
    """Let the app catch up with the keys (and unlock attempts, in their thread)."""
    for _ in range(3):
        await workers_done(pilot)
        await pilot.pause()


@pytest.mark.parametrize("step", SCREENS)
def test_the_monkey_finds_no_crash_and_no_leak(template_store: Path, step: str) -> None:
    # No shrinking: each try is a whole app run; a failure prints its full example and
    # the app's error log (which names the code, never the data), and that is enough.
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(ACTION, min_size=20, max_size=120))
    def run(actions: list[Any]) -> None:
        with tempfile.TemporaryDirectory() as folder:
            app, clock = build(template_store, Path(folder), step)
            try:
                patrol = asyncio.run(play(app, clock, step, actions))
            finally:
                app.services.store.close()  # type: ignore[attr-defined]
            assert patrol.keystrokes >= PER_EXAMPLE
            assert patrol.leaks == [], f"patient data on the locked screen: {patrol.leaks}"

    run()
