"""`fieldapp demo`: a clinic server, the synthetic day, an enrolled laptop, and the app."""

from __future__ import annotations

import argparse
import importlib.util
from datetime import date
from pathlib import Path

import platformdirs

from fieldapp.demo.stack import DEMO_CLINICIAN, DEMO_PASSPHRASE, DemoStack, days_to
from fieldapp.services.clock import SystemClock
from fieldapp.settings import load_settings
from fieldapp.store import Store


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
    parser.add_argument("--date", type=date.fromisoformat, default=None, help="day (default today)")
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="demo folder, rebuilt each run (default: the user's data directory /demo)",
    )
    parser.add_argument("--clinician", default=DEMO_CLINICIAN, help="whose laptop (default c01)")
    parser.add_argument(
        "--no-app", action="store_true", help="print today's visits instead of opening the app"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Build the demo, then open the app (or print the day) until the user quits."""
    settings = load_settings()
    folder = args.dir or Path(platformdirs.user_data_dir("fieldapp")) / "demo"
    day = args.date or date.today()
    print(f"fieldapp demo: building a synthetic Seattle-area day for {day} in {folder}")
    stack = DemoStack.start(folder, settings, day, args.clinician)
    try:
        print(f"clinic server   {stack.server_url} (SQLite, loopback)")
        print(f"laptop store    {stack.store.path}")
        print(f"passphrase      {DEMO_PASSPHRASE!r}")
        print(f"first sync      {stack.report.summary()}")
        if args.no_app or importlib.util.find_spec("fieldapp.tui.app") is None:
            print_day(stack.store, day)
            return 0
        from fieldapp.commands.app import sync_factory
        from fieldapp.tui.app import FieldApp

        # the laptop's clock on the demo day too, at the real time of day
        clock = SystemClock(offset=days_to(day))
        FieldApp(stack.store, settings, sync=sync_factory(stack.store, settings), clock=clock).run()
        return 0
    finally:
        stack.stop()


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
