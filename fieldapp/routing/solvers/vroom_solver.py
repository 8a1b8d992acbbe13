"""VROOM (pyvroom): windows, skills, shifts, start/end places, breaks, capacities natively."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import vroom

from fieldapp.routing.problem import SolverProblem


class VroomSolver:
    """Solve with VROOM; continuity prices become one cost matrix per vehicle profile."""

    name = "vroom"

    def __init__(self, exploration: int = 5, threads: int = 2) -> None:
        self.exploration = exploration
        self.threads = threads

    def supports(self, problem: SolverProblem) -> bool:
        """VROOM represents every constraint we have."""
        return True

    def solve(
        self, problem: SolverProblem, time_limit_s: float, warm: list[list[int]] | None = None
    ) -> list[list[int]]:
        """Orders per vehicle (an empty list for an idle vehicle); VROOM starts afresh."""
        routes: list[list[int]] = [[] for _ in problem.vehicles]
        if not problem.jobs or not problem.vehicles:
            return routes
        solver_input = vroom.Input()
        profiles = _profiles(problem)
        durations = problem.durations.astype(np.uint32)
        job_nodes = np.array([job.node for job in problem.jobs])
        for name, row in profiles.values():
            costs = problem.costs.astype(np.int64)
            if row is not None:
                costs[:, job_nodes] += np.asarray(row, dtype=np.int64)[None, :]
            solver_input.set_durations_matrix(name, durations)
            solver_input.set_costs_matrix(name, costs.astype(np.uint32))
        for j, job in enumerate(problem.jobs):
            solver_input.add_job(
                vroom.Job(
                    j,
                    location=job.node,
                    default_service=job.service,
                    delivery=list(job.load),
                    skills=set(job.skills),
                    time_windows=[vroom.TimeWindow(*job.window)],
                )
            )
        for v, vehicle in enumerate(problem.vehicles):
            breaks = []
            if vehicle.lunch is not None:
                lo, hi, length = vehicle.lunch
                breaks.append(
                    vroom.Break(v, time_windows=[vroom.TimeWindow(lo, hi)], service=length)
                )
            solver_input.add_vehicle(
                vroom.Vehicle(
                    v,
                    start=vehicle.start,
                    end=vehicle.end,
                    profile=profiles[_row_key(problem, v)][0],
                    capacity=list(vehicle.capacity),
                    skills=set(vehicle.skills),
                    time_window=vroom.TimeWindow(*vehicle.window),
                    breaks=breaks,
                )
            )
        solution = solver_input.solve(
            exploration_level=self.exploration,
            nb_threads=self.threads,
            timeout=timedelta(seconds=time_limit_s),
        )
        for route in solution.to_dict()["routes"]:
            routes[route["vehicle"]] = [
                step["id"] for step in route["steps"] if step["type"] == "job"
            ]
        return routes


def _row_key(problem: SolverProblem, v: int) -> bytes:
    if problem.extra_cost is None:
        return b""
    return np.ascontiguousarray(problem.extra_cost[v]).tobytes()


def _profiles(problem: SolverProblem) -> dict[bytes, tuple[str, np.ndarray | None]]:
    """One profile per distinct continuity-price row (one profile when there are none)."""
    found: dict[bytes, tuple[str, np.ndarray | None]] = {}
    for v in range(len(problem.vehicles)):
        key = _row_key(problem, v)
        if key not in found:
            row = None if problem.extra_cost is None else problem.extra_cost[v]
            found[key] = (f"p{len(found)}", row)
    return found
