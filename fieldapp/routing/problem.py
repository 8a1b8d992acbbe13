"""The solver-neutral problem in whole seconds, and our own timing of a route.

Solvers only choose which clinician does which visits in which order; `schedule` then
times every route itself (departure, arrivals, waits, the break), so both solvers' plans
are timed and checked by one piece of our code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Job:
    """A visit as the solver sees it: node, service seconds, start window, load, skills."""

    node: int
    service: int
    window: tuple[int, int]
    load: tuple[int, int]
    skills: frozenset[int]


@dataclass(frozen=True)
class Vehicle:
    """A clinician as the solver sees it; `lunch` is (earliest start, latest start, seconds)."""

    start: int
    end: int
    window: tuple[int, int]
    capacity: tuple[int, int]
    skills: frozenset[int]
    lunch: tuple[int, int, int] | None = None


@dataclass
class SolverProblem:
    """Matrices over nodes, jobs and vehicles; `extra_cost[v, j]` prices a job on a vehicle."""

    durations: np.ndarray
    costs: np.ndarray
    jobs: list[Job]
    vehicles: list[Vehicle]
    extra_cost: np.ndarray | None = None
    eligible: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.eligible = np.array(
            [[job.skills <= vehicle.skills for job in self.jobs] for vehicle in self.vehicles],
            dtype=bool,
        ).reshape(len(self.vehicles), len(self.jobs))

    @property
    def has_breaks(self) -> bool:
        """Whether any vehicle takes a break (PyVRP has no breaks)."""
        return any(vehicle.lunch for vehicle in self.vehicles)

    def route_cost(self, v: int, order: list[int]) -> int:
        """Objective of one route: arc costs plus the continuity prices of its jobs."""
        if not order:
            return 0
        vehicle = self.vehicles[v]
        nodes = [vehicle.start, *(self.jobs[j].node for j in order), vehicle.end]
        cost = int(self.costs[nodes[:-1], nodes[1:]].sum())
        if self.extra_cost is not None:
            cost += int(self.extra_cost[v, order].sum())
        return cost


@dataclass(frozen=True)
class Timeline:
    """Seconds of one timed route; `visits` holds (arrival, start, end) per job in order."""

    depart: int
    visits: list[tuple[int, int, int]]
    arrive_end: int
    lunch: tuple[int, int] | None


@dataclass(frozen=True)
class Miss:
    """Why a route cannot be timed: what is late, when it could happen, and its limit.

    `kind` is `window` (job `job` could start at `at` at the earliest, after its window
    closes at `limit`), `break` (the break could start at `at`, after its latest start
    `limit`) or `shift` (back at the end place at `at`, after the shift ends at `limit`).
    """

    kind: str
    at: int
    limit: int
    job: int = -1

    @property
    def over(self) -> int:
        """Seconds past the limit."""
        return self.at - self.limit


def schedule(problem: SolverProblem, v: int, order: list[int]) -> Timeline | None:
    """Time a route as early as possible, placing the break where it fits best; None if none."""
    timed = time_route(problem, v, order)
    return timed if isinstance(timed, Timeline) else None


def time_route(problem: SolverProblem, v: int, order: list[int]) -> Timeline | Miss | None:
    """The timed route, or the nearest miss of its time rules; None if over load or skills."""
    vehicle = problem.vehicles[v]
    if not order:
        return Timeline(vehicle.window[0], [], vehicle.window[0], None)
    loads = np.array([problem.jobs[j].load for j in order]).sum(axis=0)
    if (loads > np.array(vehicle.capacity)).any() or not problem.eligible[v, order].all():
        return None
    positions: list[int | None] = [None] if vehicle.lunch is None else list(range(len(order) + 1))
    best: Timeline | None = None
    nearest: Miss | None = None
    for position in positions:
        timed = _simulate(problem, vehicle, order, position)
        if isinstance(timed, Miss):
            if nearest is None or timed.over < nearest.over:
                nearest = timed
        elif best is None or timed.arrive_end < best.arrive_end:
            best = timed
    return best if best is not None else nearest


def _simulate(
    problem: SolverProblem, vehicle: Vehicle, order: list[int], lunch_at: int | None
) -> Timeline | Miss:
    durations = problem.durations
    now, here = vehicle.window[0], vehicle.start
    visits: list[tuple[int, int, int]] = []
    lunch: tuple[int, int] | None = None
    for k, node in enumerate([*(problem.jobs[j].node for j in order), vehicle.end]):
        travel = int(durations[here, node])
        arrival = ready = now + travel
        if k == lunch_at and vehicle.lunch is not None:
            lo, hi, length = vehicle.lunch
            # Either rest where we are and then drive, or drive and rest on arrival.
            rest_first = max(now, lo)
            drive_first = max(arrival, lo)
            options = [
                (rest_first + length + travel, rest_first + length + travel, rest_first),
                (drive_first + length, arrival, drive_first),
            ]
            feasible = [option for option in options if option[2] <= hi]
            if not feasible:
                return Miss("break", min(rest_first, drive_first), hi)
            ready, arrival, lunch_start = min(feasible)
            lunch = (lunch_start, lunch_start + length)
        if k == len(order):
            if ready > vehicle.window[1]:
                return Miss("shift", ready, vehicle.window[1])
            return _depart_late(vehicle, visits, ready, lunch, lunch_at)
        job = problem.jobs[order[k]]
        start = max(ready, job.window[0])
        if start > job.window[1]:
            return Miss("window", start, job.window[1], order[k])
        visits.append((arrival, start, start + job.service))
        now, here = start + job.service, node
    raise AssertionError("unreachable: the loop returns at the end place")


def _depart_late(
    vehicle: Vehicle,
    visits: list[tuple[int, int, int]],
    arrive_end: int,
    lunch: tuple[int, int] | None,
    lunch_at: int | None,
) -> Timeline:
    """Leave later instead of waiting at the first door (nothing after it moves)."""
    depart = vehicle.window[0]
    if visits and lunch_at != 0:
        arrival, start, end = visits[0]
        wait = start - arrival
        if wait > 0:
            depart += wait
            visits = [(start, start, end), *visits[1:]]
    return Timeline(depart, visits, arrive_end, lunch)
