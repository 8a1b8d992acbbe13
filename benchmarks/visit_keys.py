"""Keystrokes for a whole visit: the real app in tmux through four visits of the demo day.

Every key is sent with tmux `send-keys` and counted: from today's list (moving to the
visit, opening it) through check-in, the safety checklist, the dose, four readings 10
minutes apart, the end, recovery, the signed note and check-out, back on today's list. The
passphrase at unlock and carrying the day's vials are the day's, not a visit's: they are
left out.

A checklist that holds (three of the demo day's four) is released as on the road: the
clinician asks the prescriber from the checklist (ctrl+a), and the prescriber answers in
their own console (`fieldapp review`, in a second tmux pane) through a real clinic server
on loopback (`visit_clinic.py`: the demo's server and day, both laptops enrolled with
their own keys; the day starts once the laptop's first sync has landed). The laptop checks
the signed answer and the clinician goes on. The prescriber's keys are counted apart from
the clinician's. A checkout from before remote approvals (the hold released by the
prescriber's name and note typed on the laptop) is driven that way, with no clinic: those
keys are the clinician's.

The clock: the app runs on the demo day (2026-03-10, the clinic's zone) with real seconds
passing, and the script moves it forward (10 min between readings, the minimum observation
in recovery) through a file the app reads; each move counts as the clinician at work (no
idle lock), as the pilot tests' `later` does. The clinic server and the prescriber's
console run on the demo's clock (the machine's, moved by whole days to the demo day, as
`fieldapp demo` runs its server): the day is the clinic's today, so in the laptop's scope,
and an answer is dated on the day its request expires.

`--root DIR` runs another checkout's code (e.g. `git worktree add DIR ccb1881`, with its
own venv, to measure before a change); this file and `visit_clinic.py` are the only things
taken from here. Needs tmux.

    .venv/bin/python benchmarks/visit_keys.py [--root DIR] [--visits N]

It prints each visit's keys (and the prescriber's), their mean, and last one JSON object
with the figures.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from visit_clinic import PRESCRIBER_USER, Clinic

HERE = Path(__file__).resolve().parents[1]
DAY = date(2026, 3, 10)
PASSPHRASE = "visit keys passphrase"
WAIT_S = 60.0
PRESCRIBER = "Dr Demo Prescriber"
CHECKER = "rn-keys-checker"
CHECKER_PIN = "864209"
"""A synthetic colleague, enrolled on the laptop as the dose's second checker."""
APPROVAL_NOTE = "Reviewed the history; proceed as planned."
"""The prescriber's note on each hold released (the words the typed approval used)."""
READINGS = 4
READING_EVERY_MIN = 10
SEXES = ("female", "male")
ORDERS = "Continue  "
"""The orders screen's Continue button, as the pane shows it."""
VITALS = ("132", "84", "78", "98", "", "14", "0")
"""Systolic, diastolic, HR, SpO₂, SpO₂ low for (empty), RR, RASS: the monitor's order."""


def _root(argv: list[str]) -> Path:
    for index, arg in enumerate(argv):
        if arg == "--root" and index + 1 < len(argv):
            return Path(argv[index + 1]).resolve()
    return HERE


# The code measured comes first on the path, before this checkout's installed package.
ROOT = _root(sys.argv)
sys.path.insert(0, str(ROOT))


def env_for(store: Path) -> dict[str, str]:
    """Settings through the environment: the temp store, a test-only key derivation."""
    return {
        "FIELDAPP_STORE": str(store),
        "FIELDAPP_USER_CONFIG": str(store.with_name("none.toml")),
        "FIELDAPP_STORE__KDF_MEMORY_KIB": "19456",
        "FIELDAPP_STORE__KDF_ITERATIONS": "2",
        "FIELDAPP_STORE__KDF_LANES": "1",
        "FIELDAPP_STORE__USER": "c01",
        "PYTHONPATH": str(ROOT),
    }


# -- the app, in tmux -----------------------------------------------------------------------


def launch(clock_file: Path) -> None:
    """Run the app on the demo day, its clock moved by the minutes written in `clock_file`."""
    from fieldapp.demo.seattle import SEATTLE
    from fieldapp.settings import load_settings
    from fieldapp.store.store import Store
    from fieldapp.tui.app import FieldApp

    class JumpClock:
        def __init__(self) -> None:
            self.start = datetime(DAY.year, DAY.month, DAY.day, 8, 0, tzinfo=SEATTLE)
            self.t0 = time.monotonic()
            self.offset = 0

        def now(self) -> datetime:
            passed = timedelta(seconds=time.monotonic() - self.t0, minutes=self.offset)
            return self.start + passed

    clock = JumpClock()

    class DayApp(FieldApp):
        # Textual finds CSS beside the file the app class is written in: FieldApp's.
        CSS_PATH = str(Path(inspect.getfile(FieldApp)).with_name(str(FieldApp.CSS_PATH)))

        def on_mount(self) -> None:
            self.set_interval(0.1, self.poll_clock)

        def poll_clock(self) -> None:
            try:
                wanted = int(clock_file.read_text() or 0)
            except (OSError, ValueError):
                return
            if wanted > clock.offset:
                clock.offset = wanted
                self.services.note_activity()

    settings = load_settings()
    store = Store.open(settings.store.resolved_path(), settings.store)
    try:  # as `fieldapp` builds it: a sync client once unlocked, when the store is enrolled
        from fieldapp.commands.app import sync_factory

        sync = sync_factory(store, settings)
    except ImportError:
        sync = None
    DayApp(store, settings, sync=sync, clock=clock).run()


class Terminal:
    """The app in a detached tmux session; every key sent is counted."""

    def __init__(self, name: str, clock_file: Path) -> None:
        self.name, self.clock_file, self.keys, self.offset = name, clock_file, 0, 0
        self.by_name: Counter[str] = Counter()
        """Named keys sent (Tab, BTab, Enter...), all visits together."""

    def tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", *args], capture_output=True, text=True, check=True)
        return done.stdout

    def pane(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name)

    def wait_for(self, *texts: str) -> str:
        """The pane once it shows any of `texts`."""
        deadline = time.monotonic() + WAIT_S
        pane = ""
        while time.monotonic() < deadline:
            pane = self.pane()
            if any(text in pane for text in texts):
                return pane
            time.sleep(0.15)
        raise AssertionError(f"{texts!r} never appeared; the pane shows:\n{pane}")

    def reach(self, *texts: str) -> str:
        """Like `wait_for`, going through any orders screen that opens on the way (a
        checklist flag's follow-ups): each marked done, then Continue."""
        deadline = time.monotonic() + WAIT_S
        pane = ""
        while time.monotonic() < deadline:
            pane = self.settle()
            if ORDERS in pane:  # over the next step's screen: first the orders
                self.acknowledge()
                continue
            if any(text in pane for text in texts):
                time.sleep(0.5)  # an orders screen may still be opening
                if ORDERS not in self.pane():
                    return pane
            time.sleep(0.15)
        raise AssertionError(f"{texts!r} never appeared; the pane shows:\n{pane}")

    def acknowledge(self) -> None:
        """An orders screen: Enter on each Done, then on Continue (the focus moves on by
        itself after each press)."""
        for _ in range(12):
            self.press("Enter")
            if ORDERS not in self.settle():
                return
        raise AssertionError(f"the orders screen stayed:\n{self.pane()}")

    def settle(self) -> str:
        """The pane once it stops changing (the app has handled the keys sent), so no
        decision is taken on a screen that is still catching up."""
        last = self.pane()
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            time.sleep(0.3)
            now = self.pane()
            if now == last:
                return now
            last = now
        return last

    def cursor_row(self) -> int:
        """The terminal cursor's row: Textual puts it in the focused input."""
        return int(self.tmux("display", "-p", "-t", self.name, "#{cursor_y}").strip())

    def move_to(self, label: str, key: str = "Tab") -> None:
        """Press `key` until the cursor is in the field labelled `label` (none when it is
        there already): what a clinician does, watching the cursor."""
        for _ in range(40):
            rows = [n for n, line in enumerate(self.settle().splitlines()) if label in line]
            if rows and self.cursor_row() == rows[0]:
                return
            self.press(key)
        raise AssertionError(f"the cursor never reached {label!r}:\n{self.pane()}")

    def press(self, *keys: str) -> None:
        """Named keys (Tab, C-s, Space...), each one keystroke."""
        if keys:
            self.tmux("send-keys", "-t", self.name, *keys)
            self.keys += len(keys)
            self.by_name.update(k for k in keys if len(k) > 1)
            time.sleep(0.05)

    def type(self, text: str) -> None:
        """Literal text, one keystroke per character."""
        if text:
            self.tmux("send-keys", "-t", self.name, "-l", text)
            self.keys += len(text)
            time.sleep(0.05)

    def later(self, minutes: int) -> None:
        """The clinic's clock moves on `minutes` (the clinician at work)."""
        self.offset += minutes
        self.clock_file.write_text(str(self.offset))
        time.sleep(0.6)


# -- the day ---------------------------------------------------------------------------------


def prepare(store: Path) -> list[dict[str, Any]]:
    """Load the demo day, carry the day's vials, and work out each visit's answers (the
    patient's weight, whether the checklist holds) as the clinician would know them."""
    env = {**os.environ, **env_for(store), "FIELDAPP_PASSPHRASE": PASSPHRASE}
    subprocess.run(
        [
            *(sys.executable, "-m", "fieldapp", "demo-data", "--load"),
            *("--date", DAY.isoformat(), "--store", str(store)),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    from fieldapp.demo.recorded import checklist_answers
    from fieldapp.demo.seattle import SEATTLE
    from fieldapp.services.checklist import ChecklistRun, items
    from fieldapp.services.clock import ManualClock
    from fieldapp.services.context import AppServices
    from fieldapp.services.visit import VisitSession
    from fieldapp.settings import Settings
    from fieldapp.store.store import Store

    settings = Settings.model_validate(
        {
            "store": {
                "path": str(store),
                "user": "c01",
                "kdf_memory_kib": 19456,
                "kdf_iterations": 2,
                "kdf_lanes": 1,
            }
        }
    )
    opened = Store.open(store, settings.store)
    try:
        opened.unlock(PASSPHRASE)
        clock = ManualClock(datetime(DAY.year, DAY.month, DAY.day, 8, 0, tzinfo=SEATTLE))
        services = AppServices(opened, settings, clock=clock)
        for n in (1, 2):
            services.ledger.carry(f"V-KEYS-{n}", Decimal(10), Decimal(20), "LOT-KEYS")
        if hasattr(opened, "enrol_checker"):  # a checkout before the signed second check
            opened.enrol_checker(CHECKER, CHECKER_PIN)
        has_profiles = _give_profile(opened, clock.now())
        visits = sorted(
            opened.visits_for_day(DAY), key=lambda v: (v.route_order or 999, v.window_start)
        )
        plan = []
        for visit in visits:
            session = VisitSession.load(services, visit.id)
            answers = checklist_answers(session, clock.now())
            run = ChecklistRun(session)
            run.texts.update(answers)
            # With the clinic's profile, the checklist asks neither the credentials nor (once
            # the start-of-shift check is saved) the kit: those are typed once, at F9.
            asked = [i for i in items() if not (has_profiles and _scope(i) != "visit")]
            shift = [i for i in items() if has_profiles and _scope(i) == "shift"]
            plan.append(
                {
                    "patient": session.patient.display_name,
                    "order": [answers.get(item.id, "") for item in asked],
                    "shift": [answers.get(item.id, "") for item in shift],
                    "hold": run.decide().outcome == "hold",
                    "observe_min": 60 if session.first_infusion else 30,
                    "sex": session.patient.sex if session.patient.sex in SEXES else None,
                }
            )
        return plan
    finally:
        opened.close()


def _scope(item: Any) -> str:
    """Whether a checklist item is asked each visit, once a shift or by the profile."""
    return str(getattr(item, "scope", "visit"))  # a checkout before issue 18: every visit


def _give_profile(store: Any, now: datetime) -> bool:
    """Put the clinic's profile of c01 in the store, as the clinician's sync brings it (the
    demo server's synthetic credentials); False on a checkout that has none."""
    try:
        from fieldapp.demo.seattle import demo_day
        from fieldapp.demo.stack import demo_profiles
        from sync.records import ClinicianProfile
    except ImportError:
        return False
    fields = demo_profiles(demo_day(DAY))["c01"]
    profile = ClinicianProfile(
        id=uuid.uuid4(), clinician_id="c01", updated_by="admin", updated_at=now, **fields
    )
    store.put_server_records([profile])
    return True


def start_of_shift(t: Terminal, answers: list[str]) -> int:
    """F9's start-of-shift check, typed once for the day; returns the keys it took."""
    start = t.keys
    t.press("F9")
    t.wait_for("Start of shift")
    for position, answer in enumerate(answers):
        t.type(answer)
        if position < len(answers) - 1:
            t.press("Tab")
    t.press("C-s")
    t.wait_for("done by")
    t.press("Escape")
    t.wait_for("visits · 0 done")
    return t.keys - start


def remote_approvals() -> bool:
    """Whether this version asks the prescriber through the clinic (the signed remote
    approvals); else the laptop takes the prescriber's name and note typed."""
    return importlib.util.find_spec("fieldapp.tui.review") is not None


def answer_hold(p: Terminal) -> None:
    """The prescriber, told a request waits, reloads the queue and approves it with a note."""
    p.press("r")
    p.wait_for("1 pending")
    p.press("a")
    p.wait_for("Note (required)")
    p.type(APPROVAL_NOTE)
    p.press("Enter")
    p.wait_for("signed and sent")
    p.wait_for("0 pending")


def release_hold(t: Terminal, prescriber: Terminal | None) -> None:
    """The checklist holds: ask the prescriber (ctrl+a) and wait for the signed answer, or,
    before remote approvals, type the prescriber's name and note on the laptop."""
    t.wait_for("HOLD")
    t.press("C-a")
    if prescriber is None:
        t.wait_for("Prescriber's approval")
        t.type(PRESCRIBER)
        t.press("Tab")
        t.type(APPROVAL_NOTE)
        t.press("Tab", "Enter")
    else:
        t.wait_for("waiting for the answer")  # in the clinic's queue
        answer_hold(prescriber)
        t.wait_for(f"Approved by {PRESCRIBER_USER}")  # the laptop checked the signed answer
    t.wait_for("PROCEED")


def focus_returns_to_systolic() -> bool:
    """Whether this version's monitor puts the cursor back in Systolic after a reading."""
    from fieldapp.tui.screens.monitor import MonitorScreen

    return "focus_input" in inspect.getsource(MonitorScreen.action_record)


def asks_pain_after() -> bool:
    """Whether this version's recovery screen has the pain NRS after."""
    from fieldapp.tui.screens import recovery

    return any(key == "pain_nrs_after" for key, _ in recovery.SPECS)


PHASES: list[dict[str, int]] = []
"""Keys per step of each visit, for the JSON line (where a count moved, and why)."""


def visit(
    t: Terminal, index: int, plan: dict[str, Any], pain: bool, prescriber: Terminal | None
) -> int:
    """One whole visit from today's list back to it; returns the clinician's keys."""
    start = t.keys
    phases: dict[str, int] = {}
    PHASES.append(phases)

    def mark(step: str) -> None:
        phases[step] = phases.get(step, 0) + t.keys - start - sum(phases.values())

    # Today's list: down to the visit (the line under the table names the highlighted one).
    for _ in range(8):
        if f"{plan['patient']} ·" in t.settle():
            break
        t.press("Down")
    t.press("Enter")
    t.wait_for("· Check-in")
    t.press("C-r")
    t.wait_for("En route recorded")
    t.press("Space", "C-s")  # the attestation has the focus
    t.wait_for("· Safety checklist")
    mark("open and check in")
    answers = plan["order"]
    for position, answer in enumerate(answers):
        t.type(answer)
        if position < len(answers) - 1:
            t.press("Tab")
    time.sleep(1.0)
    if plan["hold"]:
        mark("checklist")
        release_hold(t, prescriber)
        mark("hold released")
    t.press("C-s")
    t.reach("· Dose")
    mark("checklist")
    time.sleep(1.0)  # the carried vials fill in the vial
    if plan["sex"] is None:  # not on the clinic's record: the dose needs it typed
        t.move_to("Sex for dosing")
        t.type("female")
    t.move_to("Ordering prescriber")
    t.type(PRESCRIBER)
    t.press("Tab")
    t.type(CHECKER)
    t.press("Tab")
    if "own PIN" in t.settle():  # the checker signs with their own PIN (since issue 16)
        t.type(CHECKER_PIN)
        t.press("Tab")
    t.press("Space", "C-s")
    t.reach("· Infusion")
    mark("dose")
    t.press("C-t")
    t.wait_for("next BP")
    for _ in range(READINGS):
        t.later(READING_EVERY_MIN)
        t.move_to("Systolic", "BTab")  # where the last reading left the cursor
        for position, value in enumerate(VITALS):
            t.type(value)
            if position < len(VITALS) - 1:
                t.press("Tab")
        t.press("C-s")
        time.sleep(1.0)
        t.wait_for("CONTINUE")
    t.press("C-n")
    t.reach("· Recovery")
    mark("infusion")
    t.later(plan["observe_min"] + 1)
    fields = ["10", "10", *(["3"] if pain else []), "126", "80", "74", "98", "0", "", "spouse"]
    for value in fields:
        t.type(value)
        t.press("Tab")
    for box in range(6):  # the departure criteria
        t.press("Space")
        time.sleep(0.8)  # each tick judged (and the form scrolled) before the next key
        if box < 5:
            t.press("Tab")
            time.sleep(0.8)
    time.sleep(0.5)
    t.wait_for("CLEARED to leave")
    t.press("C-s")
    t.reach("· Session note")
    mark("recovery")
    time.sleep(0.5)
    t.press("C-s")
    if "Sign the session note" in t.wait_for("Sign the session note", "Go to check-out"):
        t.type(PASSPHRASE)  # signing asks who is at the keyboard (since issue 18)
        t.press("Enter")
    t.wait_for("Go to check-out")  # signed: the addendum and check-out are offered
    t.press("C-o")
    t.reach("· Check-out")
    t.press("Space", "C-s")
    t.reach(f"{index + 1} done")
    mark("note and check-out")
    return t.keys - start


def console(name: str, command: str) -> Terminal:
    """A terminal of its own, in a detached tmux session running `command`."""
    terminal = Terminal(name, Path(os.devnull))
    terminal.tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "32", command)
    return terminal


def report(
    counts: list[int], prescribed: list[int], plans: list[dict[str, Any]], shift_keys: int
) -> None:
    """Each visit's keys, their mean, and the keys once a shift."""
    for n, (keys, plan, by_prescriber) in enumerate(zip(counts, plans, prescribed, strict=True)):
        held = f", held: the prescriber's {by_prescriber} apart" if plan["hold"] else ""
        print(f"visit {n + 1}: {keys} keys{held}")
    mean = sum(counts) / len(counts)
    print(f"mean: {mean:.1f} keys a visit (the clinician's), {shift_keys} once a shift")
    if any(prescribed):
        print(f"the prescriber: {sum(prescribed)} keys, in their own console")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=HERE, help="the checkout to measure")
    parser.add_argument("--launch", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--visits", type=int, default=4, help="the day's first N visits")
    args = parser.parse_args()
    if args.launch is not None:
        launch(args.launch)
        return 0
    if shutil.which("tmux") is None:
        print("tmux is not installed", file=sys.stderr)
        return 2

    folder = Path(tempfile.mkdtemp(prefix="visit-keys-"))
    store, clock_file = folder / "c01.store", folder / "clock"
    clock_file.write_text("0")
    plans = prepare(store)[: args.visits]
    name = f"visit-keys-{uuid.uuid4().hex[:8]}"
    env = env_for(store)
    remote = remote_approvals() and any(plan["hold"] for plan in plans)
    clinic = Clinic(folder, ROOT, env)
    command = " ".join(
        [
            "env",
            *(f"{k}={v}" for k, v in env.items()),
            sys.executable,
            str(Path(__file__).resolve()),
            "--root",
            str(ROOT),
            "--launch",
            str(clock_file),
        ]
    )
    terminal = Terminal(name, clock_file)
    prescriber: Terminal | None = None
    try:
        if remote:
            clinic.start(DAY, "c01", CHECKER, store, PASSPHRASE)
            prescriber = console(f"{name}-review", clinic.review_command(env))
            prescriber.wait_for("0 pending")
        terminal.tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "32", command)
        terminal.wait_for("Enter the passphrase")
        terminal.type(PASSPHRASE)
        terminal.press("Enter")
        terminal.wait_for("visits · 0 done")
        if remote:  # the day starts once the unlock's sync has brought the clinic's records
            terminal.wait_for("· last sync")
        pain, refocus = asks_pain_after(), focus_returns_to_systolic()
        shift_keys = start_of_shift(terminal, plans[0]["shift"]) if plans[0]["shift"] else 0
        counts, prescribed = [], []
        for index, plan in enumerate(plans):
            before = prescriber.keys if prescriber is not None else 0
            counts.append(visit(terminal, index, plan, pain, prescriber))
            prescribed.append((prescriber.keys if prescriber is not None else 0) - before)
    finally:
        for session in (name, f"{name}-review"):
            subprocess.run(
                ["tmux", "kill-session", "-t", session], capture_output=True, check=False
            )
        clinic.stop()
        shutil.rmtree(folder, ignore_errors=True)
    report(counts, prescribed, plans, shift_keys)
    held = [plan["hold"] for plan in plans]
    print(
        json.dumps(
            {
                "root": str(ROOT),
                "visits": len(counts),
                "keys_per_visit": counts,
                "mean_keys_per_visit": round(sum(counts) / len(counts), 1),
                "start_of_shift_keys": shift_keys,
                "day_keys": shift_keys + sum(counts),
                "held_per_visit": held,
                "approval": "remote" if remote else "typed" if any(held) else "none",
                "prescriber_keys_per_visit": prescribed,
                "pain_nrs_after_asked": pain,
                "focus_back_to_systolic": refocus,
                "keys_by_step": PHASES,
                "named_keys": dict(terminal.by_name),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
