"""The insertion pass: every visit the solvers left out is tried in every route, at every
place, with our own scheduler, before anyone is told it cannot be done.

Solvers stop on a time limit and can leave out a visit that fits (an idle clinician, a gap
in a route). For each such visit, hardest first, the pass prices every position in every
route it may join, then times the cheapest first with `schedule` (the same timing the plan
is built from); the first that the scheduler times and the checker accepts is kept. The
pass repeats while it places something. A visit still out afterwards has been proven not
to fit anywhere as the routes stand, which is what `diagnose.py` then explains.

Cheap bounds (earliest finish at each stop, latest start at the next one, both ignoring the
break, which can only make times later) skip positions that cannot work before the full
timing runs.
"""

from __future__ import annotations

from collections.abc import Callable

from fieldapp.routing.problem import SolverProblem, Timeline, schedule

Accept = Callable[[int, list[int], Timeline], bool]
"""`accept(vehicle, order, timeline)`: the checker's word on a route the scheduler timed."""


def insert_left_out(
    problem: SolverProblem, orders: list[list[int]], accept: Accept
) -> list[list[int]]:
    """The orders with every left-out visit that fits somewhere inserted."""
    orders = [list(order) for order in orders]
    planned = {j for order in orders for j in order}
    left = [j for j in range(len(problem.jobs)) if j not in planned]
    left.sort(key=lambda j: (int(problem.eligible[:, j].sum()), _width(problem, j)))
    placed = True
    while placed and left:
        placed = False
        for j in list(left):
            if _insert_one(problem, orders, j, accept):
                left.remove(j)
                placed = True
    return orders


def _width(problem: SolverProblem, j: int) -> int:
    low, high = problem.jobs[j].window
    return high - low


def _insert_one(problem: SolverProblem, orders: list[list[int]], j: int, accept: Accept) -> bool:
    """Insert job j at its cheapest position that times and checks; False if none does."""
    for _delta, v, p in sorted(positions(problem, orders, j)):
        order = [*orders[v][:p], j, *orders[v][p:]]
        timed = schedule(problem, v, order)
        if timed is not None and accept(v, order, timed):
            orders[v] = order
            return True
    return False


def fits_load(problem: SolverProblem, order: list[int], v: int, j: int) -> tuple[bool, bool]:
    """(room for one more visit, room for its ketamine) on vehicle v's route."""
    capacity = problem.vehicles[v].capacity
    used = sum(problem.jobs[k].load[0] for k in order)
    return len(order) + 1 <= capacity[1], used + problem.jobs[j].load[0] <= capacity[0]


def positions(
    problem: SolverProblem, orders: list[list[int]], j: int
) -> list[tuple[int, int, int]]:
    """(added cost, vehicle, position) of every place job j might go, bounds permitting."""
    job = problem.jobs[j]
    durations, costs = problem.durations, problem.costs
    found = []
    for v, vehicle in enumerate(problem.vehicles):
        order = orders[v]
        if not problem.eligible[v, j] or not all(fits_load(problem, order, v, j)):
            continue
        nodes = [vehicle.start, *(problem.jobs[k].node for k in order), vehicle.end]
        ready, latest = _bounds(problem, v, order)
        extra = int(problem.extra_cost[v, j]) if problem.extra_cost is not None else 0
        for p in range(len(order) + 1):
            before, after = nodes[p], nodes[p + 1]
            start = max(ready[p] + int(durations[before, job.node]), job.window[0])
            if start > job.window[1]:
                continue
            if start + job.service + int(durations[job.node, after]) > latest[p]:
                continue
            delta = int(costs[before, job.node] + costs[job.node, after] - costs[before, after])
            found.append((delta + extra, v, p))
    return found


def _bounds(problem: SolverProblem, v: int, order: list[int]) -> tuple[list[int], list[int]]:
    """Per position p: the earliest the clinician can leave the stop before it, and the
    latest the stop after it (or the end place) can be reached; both without the break."""
    vehicle = problem.vehicles[v]
    durations = problem.durations
    jobs = [problem.jobs[k] for k in order]
    ready = [vehicle.window[0]]
    here = vehicle.start
    for job in jobs:
        start = max(ready[-1] + int(durations[here, job.node]), job.window[0])
        ready.append(start + job.service)
        here = job.node
    latest = [vehicle.window[1]]
    there = vehicle.end
    for job in reversed(jobs):
        latest.append(
            min(job.window[1], latest[-1] - int(durations[job.node, there]) - job.service)
        )
        there = job.node
    latest.reverse()
    return ready, latest
