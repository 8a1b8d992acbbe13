"""`fieldapp plan`: plan a day's home visits from visits.csv and clinicians.csv.

Only argparse is imported at the top: `fieldapp plan --help` must not pay for the solvers,
numpy or geopy, which `run` imports when a plan is actually made.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from fieldapp.errors import PlanInputError

if TYPE_CHECKING:
    from fieldapp.routing.day import DayResult
    from fieldapp.routing.geocode import AddressGeocoder
    from fieldapp.routing.settings import RoutingSettings


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the `plan` command."""
    parser = subparsers.add_parser(
        "plan",
        help="plan a day's routes from visits.csv and clinicians.csv",
        description="Geocode (cached), estimate travel, and plan each clinician's day.",
    )
    parser.add_argument("--visits", type=Path, required=True, help="visits CSV")
    parser.add_argument("--clinicians", type=Path, required=True, help="clinicians CSV")
    parser.add_argument(
        "--date", type=_day, default=None, help="the day (YYYY-MM-DD); today if unset"
    )
    parser.add_argument("--matrix", type=Path, default=None, help="travel CSV from,to,minutes,km")
    parser.add_argument(
        "--out", type=Path, default=None, help="write the JSON plan here (else stdout)"
    )
    parser.add_argument(
        "--geojson", type=Path, default=None, help="write a GeoJSON map of the plan"
    )
    parser.add_argument("--config", type=Path, default=None, help="routing.toml to use")
    parser.add_argument("--offline", action="store_true", help="geocode from the cache only")
    parser.add_argument("--solver", choices=("auto", "vroom", "pyvrp"), default=None)
    parser.add_argument("--time-limit", type=float, default=None, help="solver seconds")
    parser.set_defaults(handler=run)


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError("expected YYYY-MM-DD") from None


def settings_for(args: argparse.Namespace) -> RoutingSettings:
    """Config with the command-line overrides applied."""
    from fieldapp.routing.settings import load_routing_settings

    settings = load_routing_settings(args.config)
    if args.solver:
        settings.planner.solver = args.solver
    if args.time_limit is not None:
        if args.time_limit <= 0:
            raise PlanInputError("--time-limit must be more than 0 seconds")
        settings.planner.time_limit_s = args.time_limit
    return settings


def run(args: argparse.Namespace, geocoder: AddressGeocoder | None = None) -> int:
    """Plan, write the outputs, print a summary; 0 even when some visits are left out."""
    from fieldapp.routing.day import plan_files
    from fieldapp.routing.geocode import AddressGeocoder, GeocodeCache, default_cache_path

    settings = settings_for(args)
    cache = None
    if geocoder is None and args.matrix is None:
        cache = GeocodeCache(default_cache_path(settings.geocoder))
        geocoder = AddressGeocoder(settings.geocoder, cache, offline=args.offline)
    try:
        result = plan_files(
            args.visits, args.clinicians, args.date or date.today(), settings, geocoder, args.matrix
        )
    finally:
        if cache is not None:
            cache.close()
    _write(args, result)
    return 0


def _write(args: argparse.Namespace, result: DayResult) -> None:
    from fieldapp.routing.geojson import plan_geojson

    plan = result.plan
    text = json.dumps(plan.to_json(), indent=2, ensure_ascii=False)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    if args.geojson:
        shape = plan_geojson(plan, result.places, result.clinicians)
        args.geojson.write_text(json.dumps(shape) + "\n", encoding="utf-8")
    totals = plan.totals()
    summary = sys.stderr if not args.out else sys.stdout
    print(
        f"Planned {totals['visits_planned']} visits for {totals['clinicians_used']} clinicians "
        f"({totals['drive_km']} km, {totals['drive_min']} min driving) with {plan.solver}; "
        f"{len(plan.unassigned)} left out, {len(plan.input_problems)} input problems.",
        file=summary,
    )
    for error in plan.errors:
        print(f"  error: {error}", file=sys.stderr)
    for problem in plan.input_problems:
        print(f"  input: {problem}", file=summary)
    for left in plan.unassigned:
        print(f"  unassigned {left.visit_id}: {left.reason}", file=summary)
    for note in plan.notes:
        if note.startswith("geocoder:") or note.startswith("safety:"):
            print(f"  note: {note}", file=summary)
