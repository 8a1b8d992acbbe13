"""Plan a day: visits and clinicians in, routes and reasons out, behind one function.

`plan_day` turns our records into a solver-neutral problem (whole seconds, metres, skill
numbers, hundredths of a mg), runs the configured solver(s) (`search.py`), times every route
with our own scheduler, completes the plan with the insertion pass, verifies every route
with our own checker, and explains every visit left out (`diagnose.py`).

A route the checker refuses is never returned and never ends the planning: the refusal is
reported as an error naming the clinician and the visits, those visits are planned again
where the checker accepts them, and the best valid plan of all solvers is kept.

Continuity is a soft preference: a visit done by anyone but the patient's earlier clinician
costs `continuity_penalty_min` extra driving minutes in the objective. Both solvers see it as
a per-clinician cost matrix, so it trades off against driving but never leaves a visit out.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np

from fieldapp.errors import PlanInputError
from fieldapp.routing.assemble import Assembler
from fieldapp.routing.check import check_plan
from fieldapp.routing.matrix import TravelMatrix
from fieldapp.routing.model import Clinician, Plan, Unassigned, Visit
from fieldapp.routing.problem import Job, SolverProblem, Vehicle
from fieldapp.routing.search import run_solvers
from fieldapp.routing.settings import PlannerSettings, RoutingSettings

ESCORT = "\x00escort"  # an internal skill no CSV can spell: "this clinician is accompanied"


class PlanError(PlanInputError):
    """The planner could not produce a plan its own checker accepts (never expected)."""


@dataclass(frozen=True)
class DayFacts:
    """The derived facts the planner, the checker and the diagnostics share."""

    origin: datetime
    durations_min: dict[str, float]
    needs: dict[str, frozenset[str]]
    holds: dict[str, frozenset[str]]
    doses: dict[str, int]
    escort_why: dict[str, str] = field(default_factory=dict)
    """Why a visit needs an escort, when an address safety note is the cause."""


def derive_facts(
    visits: list[Visit], clinicians: list[Clinician], settings: RoutingSettings
) -> DayFacts:
    """Visit durations (first infusion longer), needed and held skills, the time origin.

    A visit needs its own skills, an escort when flagged, and whatever its address safety
    notes require through `[safety]` in routing.toml.
    """
    rules = settings.visits
    durations = {
        visit.id: visit.duration_min
        + (rules.first_infusion_extra_min if rules.first_infusion_flag in visit.flags else 0)
        for visit in visits
    }
    needs: dict[str, frozenset[str]] = {}
    escort_why: dict[str, str] = {}
    for visit in visits:
        need = set(visit.skills)
        if rules.escort_flag in visit.flags:
            need.add(ESCORT)
        for category, level in sorted(visit.safety):
            escort, skills = settings.safety.requires(category, level)
            need |= skills
            if escort:
                need.add(ESCORT)
                if rules.escort_flag not in visit.flags and visit.id not in escort_why:
                    escort_why[visit.id] = f" (address safety note: {category}, {level})"
        needs[visit.id] = frozenset(need)
    holds = {
        clinician.id: expand_skills(clinician.skills, settings.skills.implies)
        | ({ESCORT} if clinician.escort else frozenset())
        for clinician in clinicians
    }
    moments = [v.earliest for v in visits] + [c.shift_start for c in clinicians]
    first = min(moments) if moments else datetime(2000, 1, 1)
    doses = {visit.id: visit.dose_cmg for visit in visits}
    origin = datetime.combine(first.date(), datetime.min.time())
    return DayFacts(origin, durations, needs, holds, doses, escort_why)


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
            load=(visit.dose_cmg, 1),
            skills=frozenset(skill_ids[s] for s in facts.needs[visit.id]),
        )
        for visit in visits
    ]
    unlimited = sum(visit.dose_cmg for visit in visits) + 1  # more than any route can need
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
        stock = unlimited if clinician.stock_cmg is None else clinician.stock_cmg
        vehicles.append(
            Vehicle(
                start=node_of[clinician.start_place],
                end=node_of[clinician.end_place],
                window=(at(clinician.shift_start), at(clinician.shift_end)),
                capacity=(stock, clinician.max_visits),
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


def _unknown_safety_notes(visits: list[Visit], settings: RoutingSettings) -> list[str]:
    """One note per safety category routing.toml does not list, naming its visits."""
    unknown: dict[str, list[str]] = {}
    for visit in visits:
        for category, _level in sorted(visit.safety):
            if category not in settings.safety.categories:
                unknown.setdefault(category, []).append(visit.id)
    treated = "planned as needing an escort" if settings.safety.unknown_escort else "ignored"
    return [
        f"safety: address safety note category {category!r} is not in routing.toml "
        f"[safety.categories] ({', '.join(ids[:5])}{' …' if len(ids) > 5 else ''}); {treated}"
        for category, ids in unknown.items()
    ]


def plan_day(
    visits: list[Visit],
    clinicians: list[Clinician],
    matrix: TravelMatrix,
    settings: RoutingSettings,
    day: date | None = None,
) -> Plan:
    """The day's plan, verified by `check_plan`, every visit left out with a proven reason."""
    facts = derive_facts(visits, clinicians, settings)
    began = time.perf_counter()
    problem = build_problem(
        visits, clinicians, matrix, facts, settings.planner, settings.travel.speed_kmh
    )
    candidates, notes = run_solvers(problem, settings.planner)
    notes += _unknown_safety_notes(visits, settings)
    assembler = Assembler(visits, clinicians, matrix, facts, problem)
    best = assembler.best_of(candidates)
    plan = Plan(
        date=(day or facts.origin.date()).isoformat(),
        routes=best.routes,
        unassigned=[Unassigned(visit_id, reason) for visit_id, reason in best.reasons.items()],
        solver=best.solver,
        solve_s=round(time.perf_counter() - began, 3),
        notes=[*notes, *best.notes],
        errors=best.refusals,
    )
    problems = check_plan(plan, visits, clinicians, matrix, facts)
    if problems:
        raise PlanError("the planner could not build a plan its checker accepts: " + problems[0])
    return plan
