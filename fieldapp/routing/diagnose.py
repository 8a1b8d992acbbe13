"""Why a visit was left out, in a sentence a dispatcher can act on, with its numbers.

A reason is written only after the insertion pass has tried the visit in every route at
every place with the real scheduler and failed. Day-wide causes come first, in the order
a dispatcher would fix them: nobody holds the skill, no escort, not enough stock on anyone,
the window and the shifts never meet. Otherwise each clinician who may do the visit is
examined as their route stands, and the sentence names what stops each one: their maximum
number of visits, the ketamine they have left, or the time rule that the closest fit
breaks (the visit's own window, a later visit's window, the break, the end of the shift),
with the times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from fieldapp.routing.insertion import fits_load
from fieldapp.routing.model import Clinician, Visit
from fieldapp.routing.problem import Miss, SolverProblem, Timeline, time_route
from fieldapp.routing.quantity import mg_text

if TYPE_CHECKING:
    from fieldapp.routing.planner import DayFacts

SHOWN = 3  # clinicians named per cause; the rest are counted


class FitsAfterAll(Exception):
    """The diagnosis found a place the insertion pass missed: `order` for vehicle `v`."""

    def __init__(self, v: int, order: list[int]) -> None:
        super().__init__(f"vehicle {v} can take another visit")
        self.v = v
        self.order = order


def _hm(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def _who(skills: list[str], escort: bool) -> str:
    """`clinician with skill MD` / `accompanied clinician with skills MD, lang:es`."""
    words = "accompanied clinician" if escort else "clinician"
    if skills:
        words += f" with skill{'s' if len(skills) > 1 else ''} {', '.join(skills)}"
    return words


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


@dataclass
class LeftOut:
    """What the diagnosis needs about the day as planned."""

    visits: list[Visit]
    clinicians: list[Clinician]
    problem: SolverProblem
    orders: list[list[int]]
    facts: DayFacts
    accept: Callable[[int, list[int], Timeline], bool]

    def clock(self, seconds: int) -> datetime:
        """Seconds of the problem as the clinic's time."""
        return self.facts.origin + timedelta(seconds=seconds)


def explain_left_out(day: LeftOut, left: list[int]) -> dict[str, str]:
    """A reason for each left-out job index, keyed by visit id."""
    return {day.visits[j].id: explain(day, j) for j in left}


def explain(day: LeftOut, j: int) -> str:
    """The first reason, in fixing order, that keeps job j out of the plan."""
    from fieldapp.routing.planner import ESCORT

    visit, clinicians, facts = day.visits[j], day.clinicians, day.facts
    if not clinicians:
        return "no clinician is working today"
    need = facts.needs[visit.id]
    skills = sorted(need - {ESCORT})
    escort = ESCORT in need
    qualified = [c for c in clinicians if set(skills) <= facts.holds[c.id]]
    if not qualified:
        return _nobody_holds(skills, clinicians, facts)
    if escort:
        why = facts.escort_why.get(visit.id, "")
        if not any(c.escort for c in clinicians):
            return f"escort required{why} and no clinician has an escort today"
        qualified = [c for c in qualified if c.escort]
        if not qualified:
            return (
                f"escort required{why} and no accompanied clinician has skill {', '.join(skills)}"
            )
    who = _who(skills, escort)
    limits = [c.stock_cmg for c in qualified]
    if visit.dose_cmg and None not in limits:
        most = max(limit for limit in limits if limit is not None)
        if visit.dose_cmg > most:
            anyone = "any clinician" if len(qualified) == len(clinicians) else f"any {who}"
            return (
                f"needs {mg_text(visit.dose_cmg)} but the most {anyone} carries is {mg_text(most)}"
            )
    if all(visit.latest < c.shift_start for c in qualified):
        first = min(c.shift_start for c in qualified)
        return (
            f"window closes at {_hm(visit.latest)}, before any {who} starts work "
            f"(earliest shift start {_hm(first)})"
        )
    length = timedelta(minutes=facts.durations_min[visit.id])
    if all(visit.earliest + length > c.shift_end for c in qualified):
        last = max(c.shift_end for c in qualified)
        return (
            f"window opens at {_hm(visit.earliest)}, too late to finish {length_text(length)} "
            f"before any {who} ends their shift (latest shift end {_hm(last)})"
        )
    return _per_clinician(day, j, who, length)


def length_text(length: timedelta) -> str:
    """`2 h 30 min` / `45 min`."""
    minutes = round(length.total_seconds() / 60)
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" + (f" {rest} min" if rest else "")


def _nobody_holds(skills: list[str], clinicians: list[Clinician], facts: DayFacts) -> str:
    from fieldapp.routing.planner import ESCORT

    held = sorted({s for c in clinicians for s in facts.holds[c.id]} - {ESCORT})
    missing = [s for s in skills if s not in held]
    if not missing:
        return f"no clinician holds all of {', '.join(skills)} together"
    hint = ""
    for skill in missing:
        # Only spelling slips (case, `-` for `:`), never a guess: lang:so is not lang:es.
        close = [h for h in held if _folded(h) == _folded(skill)]
        if close:
            hint = f"; did you mean {close[0]}?"
            break
    return (
        f"no clinician with skill {', '.join(missing)} is working today "
        f"(skills held today: {', '.join(held)}{hint})"
    )


def _folded(skill: str) -> str:
    return "".join(ch for ch in skill.casefold() if ch.isalnum())


def _per_clinician(day: LeftOut, j: int, who: str, length: timedelta) -> str:
    """Each clinician who may do job j, and what stops them as their route stands."""
    visit, problem = day.visits[j], day.problem
    full: list[str] = []
    short: list[str] = []
    timed: list[tuple[int, str, bool]] = []
    refused: list[str] = []
    for v, clinician in enumerate(day.clinicians):
        if not problem.eligible[v, j]:
            continue
        order = day.orders[v]
        room, stock = fits_load(problem, order, v, j)
        if not room:
            full.append(f"{clinician.id} {len(order)} of {clinician.max_visits}")
        elif not stock:
            assert clinician.stock_cmg is not None  # an unlimited stock is never short
            used = sum(day.visits[k].dose_cmg for k in order)
            left = mg_text(max(0, clinician.stock_cmg - used))
            short.append(f"{clinician.id} has {left} of {mg_text(clinician.stock_cmg)} left")
        else:
            miss = _nearest_miss(day, v, j)
            if miss is None:
                refused.append(clinician.id)
            else:
                timed.append((miss.over, _miss_text(day, clinician, j, miss), not order))
    if full and not (short or timed or refused):
        return (
            f"every {who} who could do it already has their maximum number of visits "
            f"({_listed(full)})"
        )
    if short and not (full or timed or refused):
        return (
            f"every {who} who could do it has less than {mg_text(visit.dose_cmg)} left "
            f"({_listed(short)})"
        )
    timed.sort()
    times = [text for _over, text, _alone in timed]
    if timed and not (full or short or refused):
        if all(alone for _over, _text, alone in timed):
            return f"no {who} can do it, even with no other visit that day ({_listed(times)})"
        span = f"{_hm(visit.earliest)}–{_hm(visit.latest + length)}"
        return f"no {who} is free {span} ({_listed(times)})"
    parts = []
    if full:
        parts.append(f"at their maximum number of visits: {_listed(full)}")
    if short:
        parts.append(f"less than {mg_text(visit.dose_cmg)} left: {_listed(short)}")
    if times:
        parts.append(f"no time: {_listed(times)}")
    if refused:
        parts.append(f"the plan checker refused every route with it: {_listed(refused)}")
    return f"no {who} can take it ({'; '.join(parts)})"


def _nearest_miss(day: LeftOut, v: int, j: int) -> Miss | None:
    """The time rule the closest fit of job j in vehicle v's route breaks; None when some
    position times (the checker refused it instead)."""
    order = day.orders[v]
    nearest: Miss | None = None
    for p in range(len(order) + 1):
        tried = [*order[:p], j, *order[p:]]
        result = time_route(day.problem, v, tried)
        if isinstance(result, Timeline):
            if day.accept(v, tried, result):
                raise FitsAfterAll(v, tried)  # never give a false reason: the planner inserts it
            return None
        if isinstance(result, Miss) and (nearest is None or result.over < nearest.over):
            nearest = result
    return nearest


def _miss_text(day: LeftOut, clinician: Clinician, j: int, miss: Miss) -> str:
    at, limit = _hm(day.clock(miss.at)), _hm(day.clock(miss.limit))
    if miss.kind == "window" and miss.job == j:
        return (
            f"{clinician.id} could start it at {at} at the earliest, "
            f"after its window closes at {limit}"
        )
    if miss.kind == "window":
        other = day.visits[miss.job].id
        return f"{clinician.id} would start {other} at {at}, after its window closes at {limit}"
    if miss.kind == "break":
        minutes = round(clinician.lunch.minutes) if clinician.lunch else 0
        return (
            f"{clinician.id} could start the {minutes}-min break at {at} at the earliest, "
            f"after its latest start {limit}"
        )
    return f"{clinician.id} would be back at {at}, after the shift ends at {limit}"
