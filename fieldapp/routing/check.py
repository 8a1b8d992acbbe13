"""Our own verification of a plan: windows, shifts, travel, breaks, skills, stock, escort, limits.

It reads the plan as a dispatcher would (datetimes, minutes, the travel matrix) and knows
nothing of solvers or the integer problem, so it also catches mistakes in our own timing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from fieldapp.routing.matrix import TravelMatrix
from fieldapp.routing.model import Clinician, Plan, Route, Visit
from fieldapp.routing.quantity import mg_text

if TYPE_CHECKING:
    from fieldapp.routing.planner import DayFacts

SLACK = timedelta(seconds=1)  # our timing rounds travel up to whole seconds


def check_plan(
    plan: Plan,
    visits: list[Visit],
    clinicians: list[Clinician],
    matrix: TravelMatrix,
    facts: DayFacts,
) -> list[str]:
    """Every rule the plan breaks, as sentences; empty when the plan is sound."""
    by_visit = {visit.id: visit for visit in visits}
    by_clinician = {clinician.id: clinician for clinician in clinicians}
    problems: list[str] = []
    seen: dict[str, str] = {}
    used: set[str] = set()
    for route in plan.routes:
        clinician = by_clinician.get(route.clinician_id)
        if clinician is None:
            problems.append(f"route for unknown clinician {route.clinician_id}")
            continue
        if route.clinician_id in used:
            problems.append(f"clinician {route.clinician_id} has two routes")
        used.add(route.clinician_id)
        for stop in route.stops:
            if stop.visit_id not in by_visit:
                problems.append(f"unknown visit {stop.visit_id} in route {route.clinician_id}")
            elif stop.visit_id in seen:
                problems.append(f"visit {stop.visit_id} planned twice")
            seen[stop.visit_id] = route.clinician_id
        if all(stop.visit_id in by_visit for stop in route.stops):
            stops = [by_visit[stop.visit_id] for stop in route.stops]
            problems += check_route(route, clinician, stops, matrix, facts)
    left_out = {u.visit_id for u in plan.unassigned}
    for visit in visits:
        if (visit.id in seen) == (visit.id in left_out):
            problems.append(f"visit {visit.id} must be either planned or unassigned, exactly once")
    return problems


def check_route(
    route: Route, clinician: Clinician, visits: list[Visit], matrix: TravelMatrix, facts: DayFacts
) -> list[str]:
    """Every rule one clinician's route breaks, as sentences naming the clinician."""
    name = clinician.id
    problems: list[str] = []
    if route.depart < clinician.shift_start - SLACK:
        problems.append(f"{name} leaves before the shift starts")
    if route.arrive_end > clinician.shift_end + SLACK:
        problems.append(f"{name} is back after the shift ends")
    if len(visits) > clinician.max_visits:
        problems.append(f"{name} has {len(visits)} visits, more than max_visits")
    dose = sum(visit.dose_cmg for visit in visits)  # whole hundredths of a mg: exact
    if clinician.stock_cmg is not None and dose > clinician.stock_cmg:
        problems.append(f"{name} needs {mg_text(dose)} but carries {mg_text(clinician.stock_cmg)}")
    for visit in visits:
        if not facts.needs[visit.id] <= facts.holds[clinician.id]:
            problems.append(f"{name} lacks a skill (or an escort) visit {visit.id} needs")
    for stop, visit in zip(route.stops, visits, strict=True):
        if not visit.earliest - SLACK <= stop.start <= visit.latest + SLACK:
            problems.append(f"visit {visit.id} starts outside its window")
        if stop.start < stop.arrival - SLACK:
            problems.append(f"visit {visit.id} starts before the clinician arrives")
        length = stop.end - stop.start
        if abs(length - timedelta(minutes=facts.durations_min[visit.id])) > SLACK:
            problems.append(f"visit {visit.id} lasts {length}, not its planned duration")
    problems += _check_legs(route, clinician, matrix)
    return problems


def _check_legs(route: Route, clinician: Clinician, matrix: TravelMatrix) -> list[str]:
    """Each leg leaves enough time to drive (and, in one leg, take the whole break)."""
    problems: list[str] = []
    lunch = route.lunch
    want = clinician.lunch
    if want is not None and route.stops:
        if lunch is None:
            problems.append(f"{clinician.id} gets no break")
        elif (
            lunch.start < want.earliest - SLACK
            or lunch.end > want.latest + SLACK
            or lunch.end - lunch.start < timedelta(minutes=want.minutes) - SLACK
        ):
            problems.append(f"{clinician.id}'s break is outside its window or too short")
    lunch_legs = 0
    leave, here = route.depart, clinician.start_place
    targets: list[tuple[str, datetime, datetime, datetime]] = [
        (stop.visit_id, stop.arrival, stop.start, stop.end) for stop in route.stops
    ]
    targets.append((clinician.end_place, route.arrive_end, route.arrive_end, route.arrive_end))
    for place, arrival, begin, end in targets:
        drive = timedelta(minutes=matrix.minutes_between(here, place))
        needed = drive
        if lunch is not None and leave - SLACK <= lunch.start and lunch.end <= begin + SLACK:
            needed += lunch.end - lunch.start
            lunch_legs += 1
        if begin - leave < needed - SLACK or arrival - leave < drive - SLACK:
            problems.append(f"{clinician.id} cannot reach {place} in time from the stop before")
        leave, here = end, place
    if lunch is not None and lunch_legs != 1:
        problems.append(f"{clinician.id}'s break overlaps a visit")
    return problems
