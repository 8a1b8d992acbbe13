"""`fieldapp demo`: a clinic server, the synthetic day, an enrolled laptop, and the app."""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
from datetime import date
from pathlib import Path

import platformdirs

from fieldapp.demo.recorded import SECOND_CHECKER, SECOND_CHECKER_PIN
from fieldapp.demo.stack import (
    DEMO_CLINICIAN,
    DEMO_PASSPHRASE,
    DemoError,
    DemoStack,
    latest_demo,
)
from fieldapp.settings import load_settings
from fieldapp.store import Store


def demo_root() -> Path:
    """Where demos live by default: one folder each under the user's data directory."""
    return Path(platformdirs.user_data_dir("fieldapp")) / "demo"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the `demo` command."""
    parser = subparsers.add_parser(
        "demo",
        help="run the whole demo: server on SQLite, synthetic Seattle day, enrolled laptop, app",
        description=(
            "Start a local clinic server on SQLite, load the synthetic Seattle-area day, enrol "
            "a demo laptop, sync, and open the app unlocked on today's visits."
        ),
    )
    parser.add_argument(
        "--date", type=date.fromisoformat, default=None, help="day (default the clinic's today)"
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="demo folder: new or empty, or the one to resume (default: a new folder under "
        "the user's data directory /demo)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="open the last demo again (or the one in --dir): same server data, store and day",
    )
    parser.add_argument("--clinician", default=DEMO_CLINICIAN, help="whose laptop (default c01)")
    parser.add_argument(
        "--no-app", action="store_true", help="print today's visits instead of opening the app"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Build the demo, then open the app (or print the day) until the user quits."""
    settings = load_settings()
    if args.resume:
        folder = args.dir or latest_demo(demo_root())
        if folder is None:
            raise DemoError(f"No demo to resume under {demo_root()}: run `fieldapp demo` first.")
        print(f"fieldapp demo: resuming the demo in {folder}")
        stack = DemoStack.resume(folder, settings)
    else:
        if args.dir is None:
            demo_root().mkdir(parents=True, exist_ok=True)
        # A folder of its own: another demo, running or not, is never touched.
        folder = args.dir or Path(tempfile.mkdtemp(prefix="demo-", dir=demo_root()))
        print(f"fieldapp demo: building a synthetic Seattle-area day in {folder}")
        stack = DemoStack.start(folder, settings, args.date, args.clinician)
    day = stack.day
    try:
        print(f"day             {day} (the clinic's, {stack.clock.zone.key})")
        print(f"clinic server   {stack.server_url} (SQLite, loopback)")
        print(f"laptop store    {stack.store.path}")
        print(f"passphrase      {DEMO_PASSPHRASE!r}")
        print(f"second checker  {SECOND_CHECKER} (their PIN {SECOND_CHECKER_PIN!r}, for the dose)")
        print(f"first sync      {stack.report.summary()}")
        if args.no_app or importlib.util.find_spec("fieldapp.tui.app") is None:
            print_day(stack.store, day)
        else:
            from fieldapp.commands.app import sync_factory
            from fieldapp.tui.app import FieldApp

            # The app runs on the server's clock: the clinic's zone and day.
            sync = sync_factory(stack.store, settings)
            FieldApp(stack.store, settings, sync=sync, clock=stack.clock).run()
    finally:
        stack.stop()
    print(f"\nresume it with  fieldapp demo --resume --dir {folder}")
    return 0


def print_day(store: Store, day: date) -> None:
    """Today's visits in route order, one line each."""
    visits = store.visits_for_day(day)
    print(f"\n{len(visits)} visits on {day}:")
    for visit in visits:
        patient = store.patient(visit.patient_id)
        name = patient.display_name if patient else "?"
        window = f"{visit.window_start:%H:%M}-{visit.window_end:%H:%M}"
        flags = f"  [{', '.join(visit.safety_flags)}]" if visit.safety_flags else ""
        print(
            f"  {visit.route_order or '-':>2}. {window}  {name:28} {visit.course!s:10} "
            f"{visit.address.street}, {visit.address.city}{flags}"
        )
