"""Running the solver libraries within the day's time limit, and what each one found.

`auto` gives VROOM a short first look (it converges fast and handles breaks), then hands
PyVRP the rest of the time, warm-started from VROOM's routes so its search begins from a
good plan instead of a random one. PyVRP stops early once its search stalls, so a small
day is planned in a fraction of the limit. Every solver's answer is kept as a candidate:
the planner times, completes and checks them and keeps the best valid one.

A solver library that fails (an exception from its native code) costs its candidate, never
the plan: the failure becomes a note.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from fieldapp.routing.problem import SolverProblem
from fieldapp.routing.settings import PlannerSettings
from fieldapp.routing.solvers import Solver
from fieldapp.routing.solvers.pyvrp_solver import PyVrpSolver
from fieldapp.routing.solvers.vroom_solver import VroomSolver

FIRST_LOOK_SHARE = 0.25  # of the limit, for VROOM before PyVRP when both run
MIN_SOLVE_S = 0.05


@dataclass
class Candidate:
    """One solver's answer: job orders per vehicle."""

    solver: str
    orders: list[list[int]]


def solvers_for(planner: PlannerSettings) -> list[Solver]:
    """The solvers to run, in order, for the configured choice."""
    vroom_solver = VroomSolver(planner.vroom_exploration, planner.vroom_threads)
    pyvrp_solver = PyVrpSolver(stall_iterations=planner.stall_iterations)
    if planner.solver == "vroom":
        return [vroom_solver]
    if planner.solver == "pyvrp":
        return [pyvrp_solver]
    return [vroom_solver, pyvrp_solver]


def run_solvers(
    problem: SolverProblem, planner: PlannerSettings
) -> tuple[list[Candidate], list[str]]:
    """Every solver's candidate within the time limit, and a note per solver."""
    chosen = [s for s in solvers_for(planner) if s.supports(problem)] or [
        VroomSolver(planner.vroom_exploration, planner.vroom_threads)
    ]
    deadline = time.perf_counter() + planner.time_limit_s
    notes: list[str] = []
    found: list[Candidate] = []
    for k, solver in enumerate(chosen):
        left = deadline - time.perf_counter()
        share = left * FIRST_LOOK_SHARE if k == 0 and len(chosen) > 1 else left
        if share < MIN_SOLVE_S and found:
            notes.append(f"{solver.name}: skipped, no time left")
            continue
        began = time.perf_counter()
        warm = found[-1].orders if found else None
        try:
            orders = solver.solve(problem, max(share, MIN_SOLVE_S), warm)
        except Exception as exc:  # a native solver fault costs this candidate only
            notes.append(f"{solver.name}: failed ({type(exc).__name__}), its plan not used")
            continue
        took = time.perf_counter() - began
        planned = sum(len(order) for order in orders)
        notes.append(f"{solver.name}: {planned} visits, {took:.2f} s")
        found.append(Candidate(solver.name, orders))
    return found, notes
