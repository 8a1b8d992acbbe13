"""Route planning benchmark: Solomon VRPTW gaps, a 160-visit Seattle day, and CLI start.

Every instance goes through `fieldapp.routing.planner.plan_day`, the dispatcher's code path,
at the time limit `fieldapp plan` ships with (`config/routing.toml`), never a longer one:
the depot is the clinic, a vehicle is a clinician (shift = depot window), demand and
capacity are planned mg and stock. Solomon distances are Euclidean with every arc truncated
to one decimal (the CVRPLIB/DIMACS distance-only convention of best_known.csv), used for
both time and distance, and the gap is measured on the distance of the routes returned.
The same-run baseline is VROOM alone on the same instances. `cli_start_s` is the median
wall time of `fieldapp plan --help` in a fresh process, beside a bare `python -c pass`.

    .venv/bin/python benchmarks/plan_bench.py [--pyvrp-alone] [--instances DIR]

Instances: `--instances`, `$FIELDAPP_SOLOMON_DIR`, else ../shared/benchmarks/solomon beside
the repository (every `*.txt` there that best_known.csv names). The last line is the JSON
the issue asks for.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from fieldapp.routing.matrix import TravelMatrix, estimate_matrix
from fieldapp.routing.model import Break, Clinician, Place, Plan, Visit
from fieldapp.routing.planner import plan_day
from fieldapp.routing.quantity import CMG_PER_MG
from fieldapp.routing.settings import RoutingSettings, load_routing_settings

ORIGIN = datetime(2025, 3, 4)
SOLOMON: Path | None = None  # set by --instances


def solomon_dir() -> Path:
    """Where the Solomon files are: --instances, the env override, or the shared folder."""
    if SOLOMON is not None:
        return SOLOMON
    override = os.environ.get("FIELDAPP_SOLOMON_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "solomon"


def instances() -> list[str]:
    """Every instance file present that has a best-known distance."""
    known = best_known()
    return sorted(p.stem for p in solomon_dir().glob("*.txt") if p.stem in known)


def read_solomon(path: Path) -> tuple[list[Visit], list[Clinician], TravelMatrix]:
    """A Solomon instance as a planning day with a truncated Euclidean matrix."""
    lines = path.read_text().splitlines()
    vehicles, capacity = (int(x) for x in lines[4].split())
    rows = [[float(x) for x in line.split()] for line in lines[9:] if line.strip()]
    xy = np.array([row[1:3] for row in rows])
    dist = np.floor(np.sqrt(((xy[:, None] - xy[None, :]) ** 2).sum(-1)) * 10) / 10
    ids = ("Depot", *(f"c{int(row[0])}" for row in rows[1:]))
    depot = rows[0]

    def clock(minutes: float) -> datetime:
        return ORIGIN + timedelta(minutes=minutes)

    visits = [
        Visit(
            id=ids[i],
            patient=f"Demo Patient {i:03d}",
            earliest=clock(row[4]),
            latest=clock(row[5]),
            duration_min=row[6],
            dose_cmg=round(row[3] * CMG_PER_MG),
        )
        for i, row in enumerate(rows)
        if i > 0
    ]
    clinicians = [
        Clinician(
            id=f"V{k:02d}",
            name=f"Demo Clinician {k:02d}",
            start_place="Depot",
            end_place="Depot",
            shift_start=clock(depot[4]),
            shift_end=clock(depot[5]),
            stock_cmg=capacity * CMG_PER_MG,
            max_visits=len(rows),
        )
        for k in range(vehicles)
    ]
    return visits, clinicians, TravelMatrix(ids, dist.copy(), dist.copy())


def best_known() -> dict[str, float]:
    """Best-known distance per instance."""
    with (solomon_dir() / "best_known.csv").open() as handle:
        return {row["instance"]: float(row["distance"]) for row in csv.DictReader(handle)}


def routed_distance(plan: Plan) -> float:
    """Total distance of the returned routes (arcs already truncated in the matrix)."""
    return sum(route.drive_km for route in plan.routes)


def run_solomon(base: RoutingSettings, solver: str) -> list[dict[str, float]]:
    """Every instance through `plan_day` with one solver choice, at the shipped limit."""
    settings = base.model_copy(deep=True)
    settings.planner.solver = solver  # type: ignore[assignment]
    settings.planner.objective = "distance"
    known = best_known()
    results = []
    for name in instances():
        visits, clinicians, matrix = read_solomon(solomon_dir() / f"{name}.txt")
        began = time.perf_counter()
        plan = plan_day(visits, clinicians, matrix, settings)
        seconds = time.perf_counter() - began
        distance = routed_distance(plan)
        gap = 100 * (distance / known[name] - 1)
        used = sum(1 for route in plan.routes if route.stops)
        print(
            f"  {solver:6s} {name:6s} distance {distance:8.1f}  best {known[name]:7.1f}  "
            f"gap {gap:+6.2f} %  {seconds:5.2f} s  vehicles {used:2d}  "
            f"unassigned {len(plan.unassigned)}  kept {plan.solver}",
            flush=True,
        )
        if plan.unassigned:
            gap = math.inf  # an incomplete plan has no meaningful gap
        results.append({"gap": gap, "seconds": seconds})
    return results


SEATTLE = (47.50, 47.76, -122.42, -122.15)  # south, north, west, east


def seattle_day(clinicians: int, visits: int, seed: int = 6) -> tuple[list[Visit], list[Clinician]]:
    """A synthetic Seattle-area day: skills, languages, escorts, breaks, windows, continuity."""
    rng = random.Random(seed)

    def spot() -> Place:
        south, north, west, east = SEATTLE
        return Place(rng.uniform(south, north), rng.uniform(west, east))

    def hm(hour: float) -> datetime:
        return ORIGIN + timedelta(minutes=round(hour * 60 / 15) * 15)

    team = []
    for k in range(clinicians):
        role = rng.choices(["MD", "NP", "RN"], [0.15, 0.3, 0.55])[0]
        skills = {role, "state:WA"} | ({"lang:es"} if rng.random() < 0.25 else set())
        begin = rng.choice([7.0, 7.5, 8.0, 8.5, 9.0])
        home = spot()
        team.append(
            Clinician(
                id=f"C{k:02d}",
                name=f"Demo Clinician {k:02d}",
                start_place=f"Home-C{k:02d}",
                end_place=f"Home-C{k:02d}",
                shift_start=hm(begin),
                shift_end=hm(begin + 9.5),
                skills=frozenset(skills),
                stock_cmg=rng.choice([200, 250, 300]) * CMG_PER_MG,
                max_visits=4,
                escort=rng.random() < 0.25,
                lunch=Break(30, hm(11.5), hm(14)),
                start=home,
                end=home,
            )
        )
    day = []
    for i in range(visits):
        opens = rng.choice([8.0, 8.5, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0])
        skill = rng.choices(["MD", "NP", "RN"], [0.1, 0.2, 0.7])[0]
        flags = {"first_infusion"} if rng.random() < 0.15 else set()
        flags |= {"escort"} if rng.random() < 0.06 else set()
        day.append(
            Visit(
                id=f"V{i:03d}",
                patient=f"Demo Patient {i:03d}",
                earliest=hm(opens),
                latest=hm(opens + rng.choice([1.0, 2.0, 3.0])),
                duration_min=120,
                skills=frozenset(
                    {skill, "state:WA"} | ({"lang:es"} if rng.random() < 0.1 else set())
                ),
                dose_cmg=round(rng.uniform(0.5, 0.8) * rng.uniform(50, 110)) * CMG_PER_MG,
                flags=frozenset(flags),
                previous_clinician=rng.choice(team).id if rng.random() < 0.3 else "",
                place=spot(),
            )
        )
    return day, team


def run_day(base: RoutingSettings) -> tuple[float, int, Plan]:
    """The 40-clinician, 160-visit day with the shipped settings."""
    visits, team = seattle_day(40, 160)
    places = {v.id: v.place for v in visits if v.place}
    places |= {c.start_place: c.start for c in team if c.start}
    began = time.perf_counter()
    matrix = estimate_matrix(places, base.travel)
    plan = plan_day(visits, team, matrix, base)
    seconds = time.perf_counter() - began
    return seconds, len(plan.unassigned), plan


def cli_start(runs: int = 7) -> tuple[float, float]:
    """Median wall seconds of `fieldapp plan --help`, and of a bare interpreter, same run."""
    script = Path(sys.executable).with_name("fieldapp")

    def median_of(command: list[str]) -> float:
        times = []
        for _ in range(runs):
            began = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times.append(time.perf_counter() - began)
        return statistics.median(times)

    return median_of([str(script), "plan", "--help"]), median_of([sys.executable, "-c", "pass"])


def main() -> None:
    """Run everything and print the figures, then the JSON line."""
    global SOLOMON
    parser = argparse.ArgumentParser()
    parser.add_argument("--pyvrp-alone", action="store_true", help="also run PyVRP alone")
    parser.add_argument("--instances", type=Path, default=None, help="folder of Solomon files")
    args = parser.parse_args()
    SOLOMON = args.instances
    base = load_routing_settings()
    limit = base.planner.time_limit_s
    start_s, bare_s = cli_start()
    print(
        f"fieldapp plan --help: {start_s:.3f} s (median of 7; a bare python -c pass: "
        f"{bare_s:.3f} s, ratio {start_s / bare_s:.2f})"
    )
    print(f"Solomon instances from {solomon_dir()}, {limit:g} s per solve (the shipped limit)")
    print("Primary: the planner's default 'auto' (VROOM first look, PyVRP warm-started from it)")
    primary = run_solomon(base, "auto")
    print(
        "Second solver: VROOM alone (exploration "
        f"{base.planner.vroom_exploration}, {base.planner.vroom_threads} threads)"
    )
    second = run_solomon(base, "vroom")
    if args.pyvrp_alone:
        print("For reference: PyVRP alone")
        alone = run_solomon(base, "pyvrp")
        print(f"  pyvrp alone mean gap {statistics.mean(r['gap'] for r in alone):.3f} %")
    mean_gap = statistics.mean(r["gap"] for r in primary)
    max_gap = max(r["gap"] for r in primary)
    second_gap = statistics.mean(r["gap"] for r in second)
    print(
        f"Mean gap: primary {mean_gap:.3f} % (max {max_gap:.3f} %), VROOM alone "
        f"{second_gap:.3f} % (same run; primary/second gap ratio "
        f"{mean_gap / second_gap if second_gap else 0:.2f})"
    )
    day_s, day_unassigned, plan = run_day(base)
    totals = plan.totals()
    print(
        f"Seattle day: 40 clinicians, 160 visits: {day_s:.2f} s, "
        f"planned {totals['visits_planned']}, unassigned {day_unassigned}, "
        f"{totals['drive_km']} km, solver {plan.solver}"
    )
    reasons: dict[str, int] = {}
    for left in plan.unassigned:
        key = left.reason.split(" (")[0]
        reasons[key] = reasons.get(key, 0) + 1
    for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
        print(f"  {count:3d} × {reason}")
    print(
        json.dumps(
            {
                "solomon_mean_gap_pct": round(mean_gap, 3),
                "solomon_max_gap_pct": round(max_gap, 3),
                "solomon_max_s": round(max(r["seconds"] for r in primary), 2),
                "second_solver_mean_gap_pct": round(second_gap, 3),
                "day_160_s": round(day_s, 2),
                "day_160_unassigned": day_unassigned,
                "cli_start_s": round(start_s, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
