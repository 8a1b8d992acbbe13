"""From solver answers to the day's routes: time, complete, check, explain, keep the best.

Each candidate (one solver's job orders) is timed by our scheduler (a route it cannot time
is emptied), completed by the insertion pass, and every route is verified by our checker.
A route the checker refuses is emptied and reported as an error naming the clinician and
the visits; its visits go back through the insertion pass, which only keeps what the
checker accepts. The best candidate by visits planned, then cost, wins; the first one
without a refusal ends the search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from fieldapp.routing.check import check_route
from fieldapp.routing.diagnose import FitsAfterAll, LeftOut, explain_left_out
from fieldapp.routing.insertion import insert_left_out
from fieldapp.routing.matrix import TravelMatrix
from fieldapp.routing.model import BreakStop, Clinician, Route, Stop, Visit
from fieldapp.routing.problem import SolverProblem, Timeline, schedule
from fieldapp.routing.search import Candidate

if TYPE_CHECKING:
    from fieldapp.routing.planner import DayFacts


@dataclass
class Assembled:
    """A finished candidate: checked routes, reasons for the rest, refusals met on the way."""

    solver: str
    orders: list[list[int]]
    routes: list[Route]
    reasons: dict[str, str]
    cost: int
    refusals: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def score(self) -> tuple[int, int]:
        """Lower is better: more visits planned, then less cost."""
        return (-sum(len(order) for order in self.orders), self.cost)


class Assembler:
    """Turns job orders into the checked routes of one day."""

    def __init__(
        self,
        visits: list[Visit],
        clinicians: list[Clinician],
        matrix: TravelMatrix,
        facts: DayFacts,
        problem: SolverProblem,
    ) -> None:
        self.visits = visits
        self.clinicians = clinicians
        self.matrix = matrix
        self.facts = facts
        self.problem = problem

    def best_of(self, candidates: list[Candidate]) -> Assembled:
        """The best valid plan of all candidates (an empty one if there are none)."""
        ranked = sorted(candidates, key=self._rough_score)
        best: Assembled | None = None
        for candidate in ranked or [Candidate("none", [[] for _ in self.clinicians])]:
            done = self.assemble(candidate)
            if best is None or done.score < best.score:
                best = done
            if not done.refusals:
                break
        assert best is not None
        return best

    def _rough_score(self, candidate: Candidate) -> tuple[int, int]:
        timed = [
            order if schedule(self.problem, v, order) is not None else []
            for v, order in enumerate(candidate.orders)
        ]
        cost = sum(self.problem.route_cost(v, order) for v, order in enumerate(timed))
        return (-sum(len(order) for order in timed), cost)

    def assemble(self, candidate: Candidate) -> Assembled:
        """Time, complete, check and explain one candidate."""
        orders = [
            order if schedule(self.problem, v, order) is not None else []
            for v, order in enumerate(candidate.orders)
        ]
        refusals: list[str] = []
        for v, order in enumerate(orders):
            timed = schedule(self.problem, v, order)
            problems = self._problems(v, order, timed) if order and timed else []
            if problems:
                ids = ", ".join(self.visits[j].id for j in order[:5])
                ids += f" and {len(order) - 5} more" if len(order) > 5 else ""
                refusals.append(
                    f"the plan checker refused {self.clinicians[v].id}'s route ({ids}): "
                    f"{problems[0]}; those visits were planned again where it accepts them"
                )
                orders[v] = []
        orders = insert_left_out(self.problem, orders, self.accept)
        reasons = self._explain(orders)
        routes = []
        for v, order in enumerate(orders):
            timeline = schedule(self.problem, v, order)
            if order and timeline is not None:
                routes.append(self.route(v, order, timeline))
        cost = sum(self.problem.route_cost(v, order) for v, order in enumerate(orders))
        notes = [f"{candidate.solver} kept: {sum(map(len, orders))} visits, objective {cost}"]
        return Assembled(candidate.solver, orders, routes, reasons, cost, refusals, notes)

    def _explain(self, orders: list[list[int]]) -> dict[str, str]:
        """Reasons for every job left out; a place the insertion pass missed is taken."""
        while True:
            planned = {j for order in orders for j in order}
            left = [j for j in range(len(self.visits)) if j not in planned]
            day = LeftOut(
                self.visits, self.clinicians, self.problem, orders, self.facts, self.accept
            )
            try:
                return explain_left_out(day, left)
            except FitsAfterAll as found:
                orders[found.v] = found.order

    def accept(self, v: int, order: list[int], timeline: Timeline) -> bool:
        """Whether our checker accepts this timed route."""
        return not self._problems(v, order, timeline)

    def _problems(self, v: int, order: list[int], timeline: Timeline | None) -> list[str]:
        if timeline is None:
            return ["the route cannot be timed"]
        route = self.route(v, order, timeline)
        stops = [self.visits[j] for j in order]
        return check_route(route, self.clinicians[v], stops, self.matrix, self.facts)

    def route(self, v: int, order: list[int], timeline: Timeline) -> Route:
        """A timed job order as the clinician's route."""
        clinician, matrix, origin = self.clinicians[v], self.matrix, self.facts.origin

        def clock(seconds: int) -> datetime:
            return origin + timedelta(seconds=seconds)

        stops = []
        here = clinician.start_place
        for j, (arrival, start, end) in zip(order, timeline.visits, strict=True):
            visit = self.visits[j]
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
        lunch = timeline.lunch
        return Route(
            clinician_id=clinician.id,
            depart=clock(timeline.depart),
            arrive_end=clock(timeline.arrive_end),
            stops=stops,
            lunch=BreakStop(clock(lunch[0]), clock(lunch[1])) if lunch else None,
            end_drive_km=matrix.km_between(here, clinician.end_place),
            end_drive_min=matrix.minutes_between(here, clinician.end_place),
        )
