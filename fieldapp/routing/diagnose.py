"""Why a visit was left out, in a sentence a dispatcher can act on.

Solvers only say *that* a visit is unassigned. We test the reasons in the order a dispatcher
would fix them: nobody holds the skill, no escort, not enough stock on anyone, the window
and the shifts never meet (or the drive makes them miss), and finally everyone who could do
it is full, out of stock, or busy at that time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from fieldapp.routing.matrix import TravelMatrix
from fieldapp.routing.model import Clinician, Route, Visit

if TYPE_CHECKING:
    from fieldapp.routing.planner import DayFacts


def _hm(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def _who(skills: list[str], escort: bool) -> str:
    """`clinician with skill MD` / `accompanied clinician with skills MD, lang:es`."""
    words = "accompanied clinician" if escort else "clinician"
    if skills:
        words += f" with skill{'s' if len(skills) > 1 else ''} {', '.join(skills)}"
    return words


def explain_unassigned(
    visits: list[Visit],
    clinicians: list[Clinician],
    routes: list[Route],
    matrix: TravelMatrix,
    facts: DayFacts,
) -> dict[str, str]:
    """A reason for each visit id given."""
    return {visit.id: explain(visit, clinicians, routes, matrix, facts) for visit in visits}


def explain(
    visit: Visit,
    clinicians: list[Clinician],
    routes: list[Route],
    matrix: TravelMatrix,
    facts: DayFacts,
) -> str:
    """The first reason, in fixing order, that keeps this visit out of the plan."""
    from fieldapp.routing.planner import ESCORT

    if not clinicians:
        return "no clinician is working today"
    need = facts.needs[visit.id]
    skills = sorted(need - {ESCORT})
    escort = ESCORT in need
    qualified = [c for c in clinicians if set(skills) <= facts.holds[c.id]]
    if not qualified:
        missing = [s for s in skills if not any(s in facts.holds[c.id] for c in clinicians)]
        if missing:
            return f"no clinician with skill {', '.join(missing)} is working today"
        return f"no clinician holds all of {', '.join(skills)} together"
    if escort:
        if not any(c.escort for c in clinicians):
            return "escort required and no clinician has an escort today"
        qualified = [c for c in qualified if c.escort]
        if not qualified:
            return f"escort required and no accompanied clinician has skill {', '.join(skills)}"
    who = _who(skills, escort)
    most = max(c.stock_mg for c in qualified)
    if visit.planned_dose_mg > most + 1e-6:
        anyone = "any clinician" if len(qualified) == len(clinicians) else f"any {who}"
        return f"needs {visit.planned_dose_mg:g} mg but the most {anyone} carries is {most:g} mg"
    qualified = [c for c in qualified if c.stock_mg + 1e-6 >= visit.planned_dose_mg]
    qualified = [c for c in qualified if c.max_visits > 0] or qualified
    if all(visit.latest < c.shift_start for c in qualified):
        first = min(c.shift_start for c in qualified)
        return (
            f"window closes at {_hm(visit.latest)}, before any {who} starts work "
            f"(earliest shift start {_hm(first)})"
        )
    length = timedelta(minutes=facts.durations_min[visit.id])
    if all(visit.earliest + length > c.shift_end for c in qualified):
        opens = _hm(visit.earliest)
        return f"window opens at {opens}, too late to finish before any {who} ends their shift"
    fits = [c for c in qualified if _fits_alone(visit, c, matrix, length)]
    if not fits:
        return (
            f"no {who} can drive there, start by {_hm(visit.latest)} and be back by the end "
            "of their shift (check the window, the shifts and the break)"
        )
    by_clinician = {route.clinician_id: route for route in routes}
    full = out_of_stock = 0
    for clinician in fits:
        route = by_clinician.get(clinician.id)
        if route is None:
            continue
        if len(route.stops) >= clinician.max_visits:
            full += 1
        else:
            used = sum(_dose(stop.visit_id, facts) for stop in route.stops)
            out_of_stock += used + visit.planned_dose_mg > clinician.stock_mg + 1e-6
    if full == len(fits):
        return f"every {who} who could do it already has their maximum number of visits"
    if out_of_stock == len(fits):
        return f"every {who} who could do it has less than {visit.planned_dose_mg:g} mg left"
    return f"no {who} is free {_hm(visit.earliest)}–{_hm(visit.latest + length)}"


def _dose(visit_id: str, facts: DayFacts) -> float:
    return facts.doses.get(visit_id, 0.0)


def _fits_alone(
    visit: Visit, clinician: Clinician, matrix: TravelMatrix, length: timedelta
) -> bool:
    """Could this clinician do this visit if it were their only one (break included)?"""
    there = timedelta(minutes=matrix.minutes_between(clinician.start_place, visit.id))
    back = timedelta(minutes=matrix.minutes_between(visit.id, clinician.end_place))
    lunch = clinician.lunch
    rest = timedelta(minutes=lunch.minutes) if lunch else timedelta(0)
    # Break before the visit: taken as early as allowed, then the drive.
    starts = [max(clinician.shift_start + there, visit.earliest)]
    if lunch:
        lunch_start = max(clinician.shift_start, lunch.earliest)
        before_ok = lunch_start + rest <= lunch.latest
        starts = [max(lunch_start + rest + there, visit.earliest)] if before_ok else []
        starts.append(max(clinician.shift_start + there, visit.earliest))
    for k, start in enumerate(starts):
        if start > visit.latest:
            continue
        finish = start + length + back
        took_break_before = lunch is not None and k == 0 and len(starts) == 2
        if lunch and not took_break_before:
            lunch_start = max(start + length, lunch.earliest)
            if lunch_start + rest > lunch.latest:
                continue
            finish = max(finish, lunch_start + rest + back)
        if finish <= clinician.shift_end:
            return True
    return False
