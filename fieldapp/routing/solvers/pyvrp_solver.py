"""PyVRP: strongest on distance with windows and capacities; no breaks, skills via profiles.

Skills become per-profile matrices in which a visit a vehicle may not do is unreachable
(priced and timed out of reach). Every visit is optional with a prize far above any detour,
so a day that cannot hold everything still comes back feasible, with visits left out.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pyvrp
from pyvrp.stop import MaxRuntime, MultipleCriteria, NoImprovement

from fieldapp.routing.problem import SolverProblem

_FAR = 10**9  # seconds: no window in a day is ever reachable through such an arc


class PyVrpSolver:
    """Solve with PyVRP's iterated local search until the time limit or a stall."""

    name = "pyvrp"

    def __init__(self, seed: int = 1, stall_iterations: int = 2_000) -> None:
        self.seed = seed
        self.stall_iterations = stall_iterations

    def supports(self, problem: SolverProblem) -> bool:
        """PyVRP has no breaks; everything else we need maps onto it."""
        return not problem.has_breaks

    def solve(
        self, problem: SolverProblem, time_limit_s: float, warm: list[list[int]] | None = None
    ) -> list[list[int]]:
        """Orders per vehicle (from `warm`'s routes if given), or empty routes if none found."""
        routes: list[list[int]] = [[] for _ in problem.vehicles]
        if not problem.jobs or not problem.vehicles:
            return routes
        data, members = _problem_data(problem)
        stop = MultipleCriteria([MaxRuntime(time_limit_s), NoImprovement(self.stall_iterations)])
        result = pyvrp.solve(
            data,
            stop,
            seed=self.seed,
            collect_stats=False,
            display=False,
            initial_solution=_warm_start(data, members, warm) if warm else None,
        )
        if not result.is_feasible():
            return routes
        taken: dict[int, int] = defaultdict(int)
        for route in result.best.routes():
            vtype = route.vehicle_type()
            v = members[vtype][taken[vtype]]
            taken[vtype] += 1
            routes[v] = [act.idx for act in route.schedule() if act.is_client()]
        return routes


def _problem_data(problem: SolverProblem) -> tuple[pyvrp.ProblemData, list[list[int]]]:
    """ProblemData built from numpy matrices directly (one profile per skills/prices pair)."""
    depot_nodes = sorted({node for veh in problem.vehicles for node in (veh.start, veh.end)})
    job_nodes = [job.node for job in problem.jobs]
    # pyvrp wants one location per depot and per client, depots first.
    order = depot_nodes + job_nodes
    durations = problem.durations.astype(np.int64)[np.ix_(order, order)]
    costs = problem.costs.astype(np.int64)[np.ix_(order, order)]
    depot_of = {node: i for i, node in enumerate(depot_nodes)}
    first_client = len(depot_nodes)
    prize = int(4 * max(int(costs.max()), 1) + _max_extra(problem) + 1)

    profile_of: dict[tuple[bytes, bytes], int] = {}
    distance_matrices: list[Any] = []
    duration_matrices: list[Any] = []
    type_of: dict[tuple[int, int, tuple[int, int], tuple[int, int], int], int] = {}
    members: list[list[int]] = []
    vehicle_types: list[pyvrp.VehicleType] = []
    for v, vehicle in enumerate(problem.vehicles):
        allowed = problem.eligible[v]
        extra = problem.extra_cost[v] if problem.extra_cost is not None else None
        pkey = (allowed.tobytes(), b"" if extra is None else extra.tobytes())
        if pkey not in profile_of:
            profile_of[pkey] = len(distance_matrices)
            dist, dur = costs.copy(), durations.copy()
            if extra is not None:
                dist[:, first_client:] += extra.astype(np.int64)[None, :]
            banned = first_client + np.flatnonzero(~allowed)
            dist[:, banned] = prize * 10
            dur[:, banned] = _FAR
            np.fill_diagonal(dist, 0)  # PyVRP requires it; staying put costs nothing
            np.fill_diagonal(dur, 0)
            distance_matrices.append(dist)
            duration_matrices.append(dur)
        tkey = (vehicle.start, vehicle.end, vehicle.window, vehicle.capacity, profile_of[pkey])
        if tkey not in type_of:
            type_of[tkey] = len(members)
            members.append([])
        members[type_of[tkey]].append(v)
    for tkey, t in type_of.items():
        start, end, window, capacity, profile = tkey
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=len(members[t]),
                capacity=list(capacity),
                start_depot=depot_of[start],
                end_depot=depot_of[end],
                tw_early=window[0],
                tw_late=window[1],
                profile=profile,
            )
        )
    locations = [pyvrp.Location(0, 0) for _ in order]
    depots = [pyvrp.Depot(i) for i in range(first_client)]
    clients = [
        pyvrp.Client(
            first_client + j,
            delivery=list(job.load),
            service_duration=job.service,
            tw_early=job.window[0],
            tw_late=job.window[1],
            prize=prize,
            required=False,
        )
        for j, job in enumerate(problem.jobs)
    ]
    data = pyvrp.ProblemData(
        locations, clients, depots, vehicle_types, distance_matrices, duration_matrices
    )
    return data, members


def _warm_start(
    data: pyvrp.ProblemData, members: list[list[int]], orders: list[list[int]]
) -> pyvrp.Solution | None:
    """Another solver's routes as PyVRP's starting solution (its search improves on them)."""
    type_of = {v: t for t, group in enumerate(members) for v in group}
    routes = [
        pyvrp.Route(data, list(order), type_of[v])  # client indices, as `schedule()` gives
        for v, order in enumerate(orders)
        if order
    ]
    return pyvrp.Solution(data, routes) if routes else None


def _max_extra(problem: SolverProblem) -> int:
    return 0 if problem.extra_cost is None else int(problem.extra_cost.max(initial=0))
