"""TUI benchmark: launch to today's list, and key-press-to-screen latency, on a 5-year store.

The store holds five years of one clinician's work: about 2,500 visits (two each working
day) over 60 synthetic patients, each past visit with the records a real one leaves
(status events, checklists, dose order and administration, vitals, recovery, signed
note), and a start-of-shift check every working day: about 40,000 records. It is built
once into a temp folder and reused.

- launch: wall time from spawning a Python process to today's list rendered, then exit;
  the baseline is a bare Textual app (a header and a DataTable) spawned the same way in
  the same run, interleaved. The child imports what `fieldapp` imports (not the demo),
  with the garbage collector held as `fieldapp` holds it until its first screen, and
  unlocks the store before the app starts; the passphrase's key derivation, a configured
  cost, is timed by the child and left out of the launch (it is printed on its own).
- keys: in process (headless pilot), the time from a key press to the screen having
  processed it and refreshed: `down` through today's list; typing answers into the safety
  checklist (each digit, until the form has judged it); and Enter opening a visit (until
  its check-in screen is up) then Escape back. p95 over all presses. Same-run baselines:
  a bare Textual screen push, and typing into a bare Textual form as long as the
  checklist (label and input per row). For each kind of press, the layouts (Textual's
  reflows of a screen, whole or part: counted by wrapping its private
  `Screen._refresh_layout`) and the full garbage collections (a `gc` callback) per press.

    .venv/bin/python benchmarks/tui_bench.py [--rounds 5] [--presses 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fieldapp.demo.seattle import SEATTLE, demo_day  # noqa: E402
from fieldapp.services.case_visit import EQUIPMENT  # noqa: E402
from fieldapp.settings import Settings, StoreSettings  # noqa: E402
from fieldapp.store import Store  # noqa: E402
from sync.records import (  # noqa: E402
    ChecklistSubmission,
    CoursePosition,
    DoseAdministration,
    DoseOrder,
    PatientSummary,
    Record,
    RecoveryRecord,
    SessionNote,
    ShiftCheck,
    StatusEvent,
    Visit,
    VitalsReading,
)

PASSPHRASE = "benchmark synthetic passphrase"
STORE_SETTINGS = StoreSettings(kdf_memory_kib=19456, kdf_iterations=2, kdf_lanes=1, user="c01")
TODAY = date(2026, 3, 10)
YEARS = 5
PATIENTS = 60
VISITS_PER_DAY = 2
TODAY_VISITS = 5
BUILD_VERSION = "v2"  # v2: a start-of-shift check every working day
GOALS = {"launch_ratio": 2.0, "launch_s": 1.5, "key_p95_ms": 50.0}


# -- the store -------------------------------------------------------------------------------


def _patients() -> list[PatientSummary]:
    templates = demo_day(TODAY).patients
    return [
        templates[i % len(templates)].model_copy(
            update={"id": uuid.uuid4(), "display_name": f"Bench Patient {i:02d}"}
        )
        for i in range(PATIENTS)
    ]


def _visit(template: Visit, patient: PatientSummary, day: date, slot: int, n: int) -> Visit:
    start = datetime.combine(day, dtime(8 + 2 * slot), SEATTLE)
    return template.model_copy(
        update={
            "id": uuid.uuid4(),
            "patient_id": patient.id,
            "clinician_id": "c01",
            "scheduled_on": day,
            "window_start": start,
            "window_end": start + timedelta(hours=1),
            "eta": start + timedelta(minutes=10),
            "route_order": slot + 1,
            "course": CoursePosition(number=n % 6 + 1, of=6),
            "address": patient.address,
        }
    )


def _past_visit_records(visit: Visit) -> list[Record]:
    """What one completed visit leaves on the laptop."""
    at = visit.window_start
    base: dict[str, Any] = {
        "patient_id": visit.patient_id,
        "visit_id": visit.id,
        "recorded_by": "c01",
    }

    def stamp(minutes: int) -> dict[str, Any]:
        moment = at + timedelta(minutes=minutes)
        return {**base, "id": uuid.uuid4(), "recorded_at": moment}

    evv = {"service_type": "home IV ketamine infusion", "location_attested": True}
    records: list[Record] = [
        StatusEvent(**stamp(-20), status="en_route", at=at - timedelta(minutes=20)),
        StatusEvent(**stamp(0), status="arrived", at=at, **evv),
        ChecklistSubmission(
            **stamp(15),
            template="pre_visit_safety@2",
            answers={"bp_first": "128/82", "heart_rate": 76, "pain_nrs": "6", "phq9_1": 1},
            decision="proceed",
        ),
    ]
    order = DoseOrder(
        **stamp(20),
        prescriber="Dr Bench",
        mode="depression_template",
        weight_kg=70,
        dosing_weight_kg=70,
        dose_mg=35,
        vial_concentration_mg_per_ml=10,
        draw_ml=3.5,
        double_checked_by="RN Bench",
    )
    records += [order, StatusEvent(**stamp(25), status="infusion_started", at=at)]
    for minutes in (35, 45, 55, 65):
        records.append(
            VitalsReading(
                **stamp(minutes),
                phase="during",
                taken_at=at + timedelta(minutes=minutes),
                systolic_mmhg=130,
                diastolic_mmhg=80,
                heart_rate_bpm=78,
                spo2_pct=98,
                judgement="continue",
            )
        )
    records += [
        DoseAdministration(
            **stamp(65),
            order_id=order.id,
            vial_id="V-BENCH",
            started_at=at + timedelta(minutes=25),
            dose_mg=35,
            volume_ml=3.5,
        ),
        StatusEvent(**stamp(65), status="infusion_ended", at=at),
        RecoveryRecord(
            **stamp(100),
            assessed_at=at + timedelta(minutes=100),
            aldrete=10,
            padss=10,
            oriented_x3=True,
            gait_steady=True,
            decision="cleared",
        ),
        SessionNote(
            **stamp(105),
            status="signed",
            subjective="Synthetic.",
            signed_at=at + timedelta(minutes=105),
            signed_by="c01",
        ),
        StatusEvent(**stamp(110), status="checked_out", at=at, **evv),
    ]
    return records


def _shift_check(day: date) -> ShiftCheck:
    """A working day's start-of-shift check: the kit answered once, before the first visit."""
    return ShiftCheck(
        id=uuid.uuid4(),
        recorded_at=datetime.combine(day, dtime(7, 30), tzinfo=SEATTLE),
        recorded_by="c01",
        day=day,
        answers={item: True for item in EQUIPMENT},
        templates=["equipment@1"],
    )


def build_store(folder: Path) -> Path:
    """The five-year store, built once (reused when the folder already holds it)."""
    path = folder / f"five-years-{BUILD_VERSION}.store"
    if path.exists():
        return path
    started = time.perf_counter()
    patients = _patients()
    template = demo_day(TODAY).visits_for("c01")[0]
    visits: list[Visit] = []
    day, n = TODAY - timedelta(days=365 * YEARS), 0
    while day < TODAY:
        if day.weekday() < 5:
            for slot in range(VISITS_PER_DAY):
                visits.append(_visit(template, patients[n % PATIENTS], day, slot, n))
                n += 1
        day += timedelta(days=1)
    today = [_visit(template, patients[i * 7], TODAY, i, i) for i in range(TODAY_VISITS)]
    tmp = path.with_suffix(".building")
    for leftover in folder.glob(f"{tmp.name}*"):
        leftover.unlink()
    store = Store.create(tmp, PASSPHRASE, STORE_SETTINGS)
    with store:
        store.put_server_records([*patients, *visits, *today])
        batch: list[Record] = []
        for visit in visits:
            if visit.route_order == 1:  # the day's first visit: the shift was checked first
                batch.append(_shift_check(visit.scheduled_on))
            batch += _past_visit_records(visit)
            if len(batch) >= 5000:
                store.save_many(batch)
                batch = []
        store.save_many(batch)
        counts = store.counts()
    tmp.rename(path)
    total = sum(counts.values())
    print(
        f"built {path} in {time.perf_counter() - started:.0f} s: {len(visits) + len(today)} "
        f"visits, {total} records"
    )
    return path


# -- launch (child processes) ----------------------------------------------------------------

CHILD = """
import sys, time
sys.path.insert(0, {root!r})
kind, store_path = sys.argv[1], sys.argv[2]
if kind == "bare":
    from textual.app import App
    from textual.widgets import DataTable, Footer, Header

    class Bare(App):
        def compose(self):
            yield Header()
            table = DataTable()
            table.add_columns("#", "Window", "Patient")
            for i in range(5):
                table.add_row(str(i), "08:00-09:00", "Somebody")
            yield table
            yield Footer()

        def on_mount(self):
            self.call_after_refresh(self.exit)

    Bare().run(headless=True, size=(100, 32))
else:
    # First, as `fieldapp` does (commands/app.py): no garbage collection until its first screen.
    from fieldapp.tui.collector import hold_for_launch

    hold_for_launch()
    from datetime import datetime
    from pathlib import Path
    from zoneinfo import ZoneInfo
    from fieldapp.services.clock import ManualClock
    from fieldapp.settings import Settings, StoreSettings
    from fieldapp.store import Store
    from fieldapp.tui.app import FieldApp
    from fieldapp.tui.screens.today import TodayScreen

    settings = Settings(store=StoreSettings({settings}))
    clock = ManualClock(datetime(2026, 3, 10, 8, 0, tzinfo=ZoneInfo("America/Los_Angeles")))
    store = Store.open(Path(store_path), settings.store, clock=lambda: clock.now().timestamp())
    kdf_started = time.perf_counter()
    store.unlock({passphrase!r})
    print(f"unlock_s={{time.perf_counter() - kdf_started:.6f}}", flush=True)

    class Timed(FieldApp):
        CSS_PATH = {css!r}

        def on_mount(self):
            # Textual calls FieldApp.on_mount itself (a handler on each class of the MRO):
            # calling it here as well started the app twice (two today's lists loaded).
            self.set_interval(0.005, self.check)

        def check(self):
            screen = self.screen
            if isinstance(screen, TodayScreen) and screen.rows:
                self.call_after_refresh(self.exit)

    Timed(store, settings, clock=clock).run(headless=True, size=(100, 32))
    store.close()
"""


def write_child(folder: Path) -> Path:
    """The child script, written into `folder`, with `fieldapp` and `sync` compiled."""
    script = folder / "child.py"
    fields = "kdf_memory_kib=19456, kdf_iterations=2, kdf_lanes=1, user='c01'"
    script.write_text(
        CHILD.format(
            root=str(ROOT),
            settings=fields,
            passphrase=PASSPHRASE,
            css=str(ROOT / "fieldapp" / "tui" / "fieldapp.tcss"),
        ),
        encoding="utf-8",
    )
    # An installed app runs from bytecode (pip compiles it at install; Textual's is). With
    # PYTHONDONTWRITEBYTECODE set, as on some machines, a checkout would otherwise compile
    # ~80 of our modules from source at every launch (~70 ms) and the bare app none.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "fieldapp"), str(ROOT / "sync")],
        check=True,
        capture_output=True,
    )
    return script


def launch_once(kind: str, store_path: Path, script: Path) -> tuple[float, float]:
    """(seconds from spawn to exit of one child that renders its first screen, less its
    key derivation; the key derivation's seconds)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(script), kind, str(store_path)],
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    kdf = sum(
        float(line.split("=", 1)[1])
        for line in done.stdout.splitlines()
        if line.startswith("unlock_s=")
    )
    return wall - kdf, kdf


# -- key latency (in process) ----------------------------------------------------------------


class PressCounts:
    """What the presses cost the screen and the interpreter, by kind of press: layouts
    (Textual's reflows of a screen, whole or part) and full garbage collections."""

    def __init__(self) -> None:
        self.kind: str | None = None
        self.presses: dict[str, int] = {}
        self.layouts: dict[str, int] = {}
        self.full_gcs: dict[str, int] = {}

    def install(self) -> None:
        """Count from now on (a wrapper on the screens' reflow and a `gc` callback)."""
        import gc

        from textual.screen import Screen

        reflow = Screen._refresh_layout

        def counted(screen: Screen[Any], *args: Any, **kwargs: Any) -> None:
            if self.kind is not None:
                self.layouts[self.kind] = self.layouts.get(self.kind, 0) + 1
            reflow(screen, *args, **kwargs)

        Screen._refresh_layout = counted  # type: ignore[method-assign]
        gc.callbacks.append(self._collected)

    def _collected(self, phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2 and self.kind is not None:
            self.full_gcs[self.kind] = self.full_gcs.get(self.kind, 0) + 1

    def per_press(self, kind: str) -> str:
        """Layouts and full collections per press of `kind`."""
        n = max(1, self.presses.get(kind, 0))
        return (
            f"layouts/key {self.layouts.get(kind, 0) / n:.2f}, "
            f"full gc/key {self.full_gcs.get(kind, 0) / n:.2f}"
        )


COUNTS = PressCounts()


async def press(
    app: Any, key: str, done: Any, character: str | None = None, kind: str = ""
) -> float:
    """Milliseconds from posting `key` until `done()` holds and the screen has refreshed."""
    from textual import events

    COUNTS.kind = kind or None
    COUNTS.presses[kind] = COUNTS.presses.get(kind, 0) + 1
    started = time.perf_counter()
    app.post_message(events.Key(key, character))
    while not done():
        await asyncio.sleep(0.0005)
    await app.screen.wait_for_refresh()
    COUNTS.kind = None
    return (time.perf_counter() - started) * 1000


# Answers typed into the checklist, digit by digit (valid values: the form judges each).
TYPED = {"heart_rate": "76", "spo2": "98", "rr": "14", "temperature_c": "36.8", "pain_nrs": "6"}


@dataclass
class KeyTimes:
    """Key-press latencies (ms) of one run, by kind of press."""

    moves: list[float] = field(default_factory=list)
    typing: list[float] = field(default_factory=list)
    opens: list[float] = field(default_factory=list)


async def key_latencies(store_path: Path, presses: int) -> KeyTimes:
    """Moving through today's list, typing into the checklist, opening a visit (ms)."""
    from textual.widgets import DataTable

    from fieldapp.services.clock import ManualClock
    from fieldapp.tui.app import FieldApp
    from fieldapp.tui.screens.evv import EvvScreen
    from fieldapp.tui.screens.today import TodayScreen

    settings = Settings(store=STORE_SETTINGS)
    clock = ManualClock(datetime(2026, 3, 10, 8, 0, tzinfo=SEATTLE))
    store = Store.open(store_path, STORE_SETTINGS, clock=lambda: clock.now().timestamp())
    store.unlock(PASSPHRASE)
    app = FieldApp(store, settings, clock=clock)
    times = KeyTimes()

    def today_ready() -> bool:
        return isinstance(app.screen, TodayScreen) and bool(app.screen.rows)

    async with app.run_test(size=(100, 32)) as pilot:
        while not today_ready():
            await pilot.pause(0.01)
        await pilot.pause()
        for i in range(presses):
            table = app.screen.query_one("#visits", DataTable)
            before = table.cursor_row
            key = "down" if (i // (TODAY_VISITS - 1)) % 2 == 0 else "up"
            times.moves.append(
                await press(app, key, lambda t=table, b=before: t.cursor_row != b, kind="moves")  # type: ignore[misc]
            )
        for _ in range(max(5, presses // 3)):
            times.opens.append(
                await press(
                    app,
                    "enter",
                    lambda: isinstance(app.screen, EvvScreen) and app.screen.is_mounted,
                    kind="opens",
                )
            )
            await pilot.press("escape")
            await app.workers.wait_for_complete()
            await pilot.pause()
        times.typing = await type_into_checklist(app, pilot, presses)
    store.close()
    return times


async def type_into_checklist(app: Any, pilot: Any, presses: int) -> list[float]:
    """Check in to the first visit, then type the checklist's answers digit by digit."""
    from fieldapp.tui.screens.checklist import ChecklistScreen

    await pilot.press("enter")
    await app.workers.wait_for_complete()
    await pilot.press("ctrl+r", "space", "ctrl+s")
    await app.workers.wait_for_complete()
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, ChecklistScreen), type(screen).__name__
    found: list[float] = []
    while len(found) < presses:
        for field_id, answer in TYPED.items():
            box = screen.fields()[field_id]
            box.value = ""
            box.focus_input()
            await pilot.pause()
            for n, digit in enumerate(answer, start=1):
                typed = answer[:n]

                def judged(f: str = field_id, t: str = typed) -> bool:
                    return bool(screen.run.texts.get(f) == t)

                found.append(await press(app, digit, judged, digit, kind="typing"))
    return found[:presses]


async def bare_typing_latencies(times: int, rows: int) -> list[float]:
    """The floor for typing: a bare Textual form as long as the checklist (ms per digit)."""
    from textual.app import App, ComposeResult
    from textual.containers import Horizontal, VerticalScroll
    from textual.widgets import Footer, Header, Input, Label, Static

    class Form(App[None]):
        CSS = "Horizontal.row { height: 1; } Label { width: 38; } Input { border: none; }"

        def compose(self) -> ComposeResult:
            yield Header()
            with VerticalScroll():
                for n in range(rows):
                    with Horizontal(classes="row"):
                        yield Label(f"Question {n}")
                        yield Input(id=f"q{n}")
            yield Static("judgement")
            yield Footer()

    app = Form()
    found: list[float] = []
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        box = app.query_one("#q3", Input)
        box.focus()
        await pilot.pause()
        while len(found) < times:
            box.value = ""
            await pilot.pause()
            for digit in "7698":
                expected = box.value + digit
                found.append(
                    await press(app, digit, lambda e=expected: box.value == e, digit, "bare typing")  # type: ignore[misc]
                )
    return found[:times]


async def bare_push_latencies(times: int) -> list[float]:
    """The floor: a bare Textual app pushing a screen like check-in (same harness, ms)."""
    from textual.app import App, ComposeResult
    from textual.binding import Binding, BindingType
    from textual.containers import Horizontal, VerticalScroll
    from textual.screen import Screen
    from textual.widgets import Button, Checkbox, Footer, Header, Static

    class Step(Screen[None]):
        BINDINGS: ClassVar[list[BindingType]] = [
            Binding("escape", "app.pop_screen", "Back"),
            Binding("ctrl+s", "x", "Save"),
        ]

        def compose(self) -> ComposeResult:
            yield Header()
            yield Static("banner")
            with VerticalScroll():
                yield Static("window\naddress\nflags\nEVV")
                yield Checkbox("attest")
                with Horizontal():
                    yield Button("En route")
                    yield Button("Check in")
            yield Static("status")
            yield Footer()

    class Bare(App[None]):
        BINDINGS: ClassVar[list[BindingType]] = [
            Binding("f1", "x", "Keys"),
            Binding("ctrl+l", "x", "Lock"),
        ]

        def compose(self) -> ComposeResult:
            yield Header()
            yield Static("today")
            yield Footer()

        def on_key(self, event: Any) -> None:
            if event.key == "enter":
                self.push_screen(Step())

    app = Bare()
    found: list[float] = []
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        for _ in range(times):
            found.append(
                await press(
                    app,
                    "enter",
                    lambda: isinstance(app.screen, Step) and app.screen.is_mounted,
                    kind="bare push",
                )
            )
            await pilot.press("escape")
            await pilot.pause()
    return found


def p95(values: list[float]) -> float:
    """The 95th percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    """Build (once), measure, print figures and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "tui-bench")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    store_path = build_store(args.dir)
    script = write_child(args.dir)
    launch_once("bare", store_path, script)  # warm the OS file cache for both
    launch_once("app", store_path, script)
    bare, app, kdf = [], [], []
    for _ in range(args.rounds):
        bare.append(launch_once("bare", store_path, script)[0])
        app_s, kdf_s = launch_once("app", store_path, script)
        app.append(app_s)
        kdf.append(kdf_s)
    launch_s, bare_s = statistics.median(app), statistics.median(bare)
    # The keys phase writes (a check-in, drafts): on a copy, so every run starts the same.
    scratch = args.dir / "keys-run.store"
    COUNTS.install()
    shutil.copyfile(store_path, scratch)
    try:
        keys = asyncio.run(key_latencies(scratch, args.presses))
    finally:
        for leftover in args.dir.glob(f"{scratch.name}*"):
            leftover.unlink()
    push_floor = asyncio.run(bare_push_latencies(len(keys.opens)))
    typing_floor = asyncio.run(bare_typing_latencies(len(keys.typing), form_rows()))
    key_p95 = p95(keys.moves + keys.typing + keys.opens)
    print(f"store            {store_path}")
    print(f"launch (median)  app {launch_s:.3f} s   bare Textual {bare_s:.3f} s")
    print(
        f"                 (the store's key derivation, left out: {statistics.median(kdf):.3f} s)"
    )
    print(f"launch ratio     {launch_s / bare_s:.2f} (goal <= {GOALS['launch_ratio']})")
    for name, found, floor, kind, floor_kind in (
        ("down/up", keys.moves, None, "moves", ""),
        ("typing", keys.typing, typing_floor, "typing", "bare typing"),
        ("open visit", keys.opens, push_floor, "opens", "bare push"),
    ):
        line = f"keys: {name:10} p50 {statistics.median(found):.1f} ms  p95 {p95(found):.1f} ms"
        if floor is not None:
            line += (
                f"   bare Textual p50 {statistics.median(floor):.1f} ms  p95 {p95(floor):.1f} ms"
                f" (ratio {p95(found) / p95(floor):.2f})"
            )
        print(line)
        counts = COUNTS.per_press(kind)
        if floor_kind:
            counts += f"   bare Textual {COUNTS.per_press(floor_kind)}"
        print(f"                 {counts}")
    counts = f"{len(keys.moves)} moves, {len(keys.typing)} digits, {len(keys.opens)} opens"
    print(f"keys: all presses p95 {key_p95:.1f} ms ({counts})")
    figures = {
        "launch_s": round(launch_s, 3),
        "launch_ratio": round(launch_s / bare_s, 2),
        "key_p95_ms": round(key_p95, 1),
    }
    for name, goal in GOALS.items():
        verdict = "met" if figures[name] <= goal else "MISSED"
        print(f"goal {name:13} <= {goal:<5} {verdict}")
    print(json.dumps(figures))


def form_rows() -> int:
    """How many questions the checklist asks (the bare form is as long)."""
    from fieldapp.services.checklist import items

    return len(items())


if __name__ == "__main__":
    main()
