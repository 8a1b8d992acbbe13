"""Plan a day: visits and clinicians in, routes and reasons out, behind one function.

`plan_day` turns our records into a solver-neutral problem (whole seconds, metres, skill
numbers), runs the configured solver(s), times every route with our own scheduler, keeps the
better feasible plan, explains every visit left out, and verifies the result with our own
checker before returning it.

Continuity is a soft preference: a visit done by anyone but the patient's earlier clinician
costs `continuity_penalty_min` extra driving minutes in the objective. Both solvers see it as
a per-clinician cost matrix, so it trades off against driving but never leaves a visit out.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from fieldapp.errors import PlanInputError
from fieldapp.routing.check import check_plan
from fieldapp.routing.diagnose import explain_unassigned
from fieldapp.routing.matrix import TravelMatrix
from fieldapp.routing.model import BreakStop, Clinician, Plan, Route, Stop, Unassigned, Visit
from fieldapp.routing.problem import Job, SolverProblem, Timeline, Vehicle, schedule
from fieldapp.routing.settings import PlannerSettings, RoutingSettings
from fieldapp.routing.solvers import Solver
from fieldapp.routing.solvers.pyvrp_solver import PyVrpSolver
from fieldapp.routing.solvers.vroom_solver import VroomSolver

ESCORT = "\x00escort"  # an internal skill no CSV can spell: "this clinician is accompanied"
MG_UNITS = 10  # planned doses in tenths of a mg, so the solvers' integer loads stay exact


@dataclass(frozen=True)
class DayFacts:
    """The derived facts both the planner and the diagnostics need."""

    origin: datetime
    durations_min: dict[str, float]
    needs: dict[str, frozenset[str]]
    holds: dict[str, frozenset[str]]
    doses: dict[str, float]


def derive_facts(
    visits: list[Visit], clinicians: list[Clinician], settings: RoutingSettings
) -> DayFacts:
    """Visit durations (first infusion longer), needed and held skills, the time origin."""
    rules = settings.visits
    durations = {
        visit.id: visit.duration_min
        + (rules.first_infusion_extra_min if rules.first_infusion_flag in visit.flags else 0)
        for visit in visits
    }
    needs = {
        visit.id: visit.skills | ({ESCORT} if rules.escort_flag in visit.flags else frozenset())
        for visit in visits
    }
    holds = {
        clinician.id: expand_skills(clinician.skills, settings.skills.implies)
        | ({ESCORT} if clinician.escort else frozenset())
        for clinician in clinicians
    }
    moments = [v.earliest for v in visits] + [c.shift_start for c in clinicians]
    first = min(moments) if moments else datetime(2000, 1, 1)
    doses = {visit.id: visit.planned_dose_mg for visit in visits}
    origin = datetime.combine(first.date(), datetime.min.time())
    return DayFacts(origin, durations, needs, holds, doses)


def expand_skills(skills: frozenset[str], implies: dict[str, list[str]]) -> frozenset[str]:
    """Skills plus everything they imply, transitively."""
    found = set(skills)
    frontier = list(skills)
    while frontier:
        for implied in implies.get(frontier.pop(), []):
            if implied not in found:
                found.add(implied)
                frontier.append(implied)
    return frozenset(found)


def _seconds(minutes: float) -> int:
    """Minutes to whole seconds, rounding travel up so a timed plan is never optimistic."""
    return math.ceil(minutes * 60 - 1e-6)


def build_problem(
    visits: list[Visit],
    clinicians: list[Clinician],
    matrix: TravelMatrix,
    facts: DayFacts,
    planner: PlannerSettings,
    speed_kmh: float,
) -> SolverProblem:
    """Our records as the solver-neutral problem."""
    places = [v.id for v in visits] + [
        name for c in clinicians for name in (c.start_place, c.end_place)
    ]
    nodes = list(dict.fromkeys(places))
    rows = [matrix.index(place) for place in nodes]
    sub_min = matrix.minutes[np.ix_(rows, rows)]
    sub_km = matrix.km[np.ix_(rows, rows)]
    durations = np.ceil(sub_min * 60 - 1e-6).astype(np.int64)
    if planner.objective == "distance":
        costs = np.rint(sub_km * 1000).astype(np.int64)
        penalty = planner.continuity_penalty_min / 60 * speed_kmh * 1000
    else:
        costs = durations.copy()
        penalty = planner.continuity_penalty_min * 60
    node_of = {place: i for i, place in enumerate(nodes)}
    skill_ids: dict[str, int] = {}
    for skills in [*facts.needs.values(), *facts.holds.values()]:
        for skill in sorted(skills):
            skill_ids.setdefault(skill, len(skill_ids))

    def at(moment: datetime) -> int:
        return round((moment - facts.origin).total_seconds())

    jobs = [
        Job(
            node=node_of[visit.id],
            service=_seconds(facts.durations_min[visit.id]),
            window=(at(visit.earliest), at(visit.latest)),
            load=(round(visit.planned_dose_mg * MG_UNITS), 1),
            skills=frozenset(skill_ids[s] for s in facts.needs[visit.id]),
        )
        for visit in visits
    ]
    vehicles = []
    for clinician in clinicians:
        lunch = None
        if clinician.lunch is not None:
            length = _seconds(clinician.lunch.minutes)
            # The break is taken within the shift; `read_clinicians` refuses one that cannot be.
            lo = max(at(clinician.lunch.earliest), at(clinician.shift_start))
            hi = min(at(clinician.lunch.latest), at(clinician.shift_end)) - length
            if hi < lo:
                raise PlanInputError(f"clinician {clinician.id}: the break does not fit the shift")
            lunch = (lo, hi, length)
        vehicles.append(
            Vehicle(
                start=node_of[clinician.start_place],
                end=node_of[clinician.end_place],
                window=(at(clinician.shift_start), at(clinician.shift_end)),
                capacity=(math.floor(clinician.stock_mg * MG_UNITS + 1e-6), clinician.max_visits),
                skills=frozenset(skill_ids[s] for s in facts.holds[clinician.id]),
                lunch=lunch,
            )
        )
    extra = None
    if penalty > 0 and any(visit.previous_clinician for visit in visits):
        extra = np.zeros((len(clinicians), len(visits)), dtype=np.int64)
        for j, visit in enumerate(visits):
            if visit.previous_clinician:
                for v, clinician in enumerate(clinicians):
                    if clinician.id != visit.previous_clinician:
                        extra[v, j] = round(penalty)
    return SolverProblem(durations, costs, jobs, vehicles, extra)


def solvers_for(planner: PlannerSettings) -> list[Solver]:
    """The solvers to run, in order, for the configured choice."""
    vroom_solver = VroomSolver(planner.vroom_exploration, planner.vroom_threads)
    if planner.solver == "vroom":
        return [vroom_solver]
    if planner.solver == "pyvrp":
        return [PyVrpSolver()]
    return [vroom_solver, PyVrpSolver()]


def solve_problem(
    problem: SolverProblem, planner: PlannerSettings
) -> tuple[str, list[Timeline | None], list[list[int]], list[str]]:
    """Run the solvers within the time limit and keep the best feasible timed plan."""
    chosen = [s for s in solvers_for(planner) if s.supports(problem)] or [
        VroomSolver(planner.vroom_exploration, planner.vroom_threads)
    ]
    deadline = time.perf_counter() + planner.time_limit_s
    notes: list[str] = []
    best: tuple[tuple[int, int], str, list[Timeline | None], list[list[int]]] | None = None
    for k, solver in enumerate(chosen):
        left = deadline - time.perf_counter()
        # With two solvers VROOM gets a third of the time: it converges fast, PyVRP keeps improving.
        share = left / 3 if k == 0 and len(chosen) > 1 else left
        if share <= 0.05 and best is not None:
            notes.append(f"{solver.name}: skipped, no time left")
            continue
        began = time.perf_counter()
        orders = solver.solve(problem, max(share, 0.05))
        timed = [schedule(problem, v, order) for v, order in enumerate(orders)]
        orders = [order if timed[v] is not None else [] for v, order in enumerate(orders)]
        planned = sum(len(order) for order in orders)
        cost = sum(problem.route_cost(v, order) for v, order in enumerate(orders))
        took = time.perf_counter() - began
        notes.append(f"{solver.name}: {planned} visits, objective {cost}, {took:.2f} s")
        score = (-planned, cost)
        if best is None or score < best[0]:
            best = (score, solver.name, timed, orders)
    assert best is not None
    return best[1], best[2], best[3], notes


def plan_day(
    visits: list[Visit],
    clinicians: list[Clinician],
    matrix: TravelMatrix,
    settings: RoutingSettings,
    day: date | None = None,
) -> Plan:
    """The day's plan, verified by `check_plan`, every visit left out with a reason."""
    facts = derive_facts(visits, clinicians, settings)
    began = time.perf_counter()
    problem = build_problem(
        visits, clinicians, matrix, facts, settings.planner, settings.travel.speed_kmh
    )
    solver_name, timed, orders, notes = solve_problem(problem, settings.planner)
    routes = [
        _route(clinicians[v], [visits[j] for j in orders[v]], timeline, matrix, facts.origin)
        for v, timeline in enumerate(timed)
        if timeline is not None and orders[v]
    ]
    planned = {stop.visit_id for route in routes for stop in route.stops}
    left_out = [visit for visit in visits if visit.id not in planned]
    reasons = explain_unassigned(left_out, clinicians, routes, matrix, facts)
    plan = Plan(
        date=(day or facts.origin.date()).isoformat(),
        routes=routes,
        unassigned=[Unassigned(visit.id, reasons[visit.id]) for visit in left_out],
        solver=solver_name,
        solve_s=round(time.perf_counter() - began, 3),
        notes=notes,
    )
    problems = check_plan(plan, visits, clinicians, matrix, facts)
    if problems:
        raise RuntimeError("planner produced an invalid plan: " + "; ".join(problems[:5]))
    return plan


def _route(
    clinician: Clinician,
    visits: list[Visit],
    timeline: Timeline,
    matrix: TravelMatrix,
    origin: datetime,
) -> Route:
    def clock(seconds: int) -> datetime:
        return origin + timedelta(seconds=seconds)

    stops = []
    here = clinician.start_place
    for visit, (arrival, start, end) in zip(visits, timeline.visits, strict=True):
        stops.append(
            Stop(
                visit_id=visit.id,
                place=visit.id,
                arrival=clock(arrival),
                start=clock(start),
                end=clock(end),
                drive_km=matrix.km_between(here, visit.id),
                drive_min=matrix.minutes_between(here, visit.id),
            )
        )
        here = visit.id
    lunch = (
        BreakStop(clock(timeline.lunch[0]), clock(timeline.lunch[1])) if timeline.lunch else None
    )
    return Route(
        clinician_id=clinician.id,
        depart=clock(timeline.depart),
        arrive_end=clock(timeline.arrive_end),
        stops=stops,
        lunch=lunch,
        end_drive_km=matrix.km_between(here, clinician.end_place),
        end_drive_min=matrix.minutes_between(here, clinician.end_place),
    )
