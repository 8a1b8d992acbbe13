"""Property tests: on random small days no plan ever breaks a window, shift, skill, stock,
escort, break or visit-count rule, and every visit is planned or explained exactly once.

The rules are re-checked here from the raw records (not through the planner's own checker),
so a mistake in shared code cannot hide itself.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.routing.check import check_route
from fieldapp.routing.matrix import TravelMatrix
from fieldapp.routing.model import BreakStop, Clinician, Place, Plan, Route, Stop, Visit
from fieldapp.routing.planner import build_problem, derive_facts, plan_day
from fieldapp.routing.problem import schedule
from fieldapp.routing.settings import RoutingSettings

from .days import CLINIC, at, clinician, matrix, visit
from .days import settings as routing_settings

SKILLS = ["MD", "NP", "RN"]
IMPLIES = {"MD": {"MD", "NP", "RN"}, "NP": {"NP", "RN"}, "RN": {"RN"}}


@st.composite
def days(draw: st.DrawFn, with_breaks: bool) -> tuple[list[Visit], list[Clinician]]:
    visits = []
    for i in range(draw(st.integers(1, 7))):
        start = draw(st.integers(7 * 60, 16 * 60))
        width = draw(st.sampled_from([0, 30, 60, 120, 240]))
        visits.append(
            visit(
                f"V{i}",
                at(0) + timedelta(minutes=start),
                at(0) + timedelta(minutes=start + width),
                minutes=draw(st.sampled_from([60, 90, 120])),
                skills=tuple(draw(st.sets(st.sampled_from([*SKILLS, "lang:es"]), max_size=2))),
                dose=f"{draw(st.integers(0, 12_000)) / 100:.2f}",  # two-decimal mg
                flags=tuple(
                    draw(st.sets(st.sampled_from(["escort", "first_infusion"]), max_size=2))
                ),
                place=Place(
                    CLINIC.lat + draw(st.floats(-0.08, 0.08)),
                    CLINIC.lon + draw(st.floats(-0.1, 0.1)),
                ),
            )
        )
    team = []
    for k in range(draw(st.integers(1, 3))):
        begin = draw(st.integers(7 * 60, 11 * 60))
        length = draw(st.sampled_from([240, 480, 600]))
        lunch = None
        if with_breaks and draw(st.booleans()):
            lo = draw(st.integers(begin, begin + length - 90))
            lunch = (30.0, at(0) + timedelta(minutes=lo), at(0) + timedelta(minutes=lo + 90))
        team.append(
            clinician(
                f"C{k}",
                at(0) + timedelta(minutes=begin),
                at(0) + timedelta(minutes=begin + length),
                skills=tuple(draw(st.sets(st.sampled_from([*SKILLS, "lang:es"]), min_size=1))),
                stock=draw(
                    st.one_of(
                        st.sampled_from(["0", "100", "unlimited"]),
                        st.integers(0, 30_000).map(lambda n: f"{n / 100:.2f}"),
                    )
                ),
                max_visits=draw(st.integers(0, 4)),
                escort=draw(st.booleans()),
                lunch=lunch,
            )
        )
    return visits, team


def holds(c: Clinician) -> set[str]:
    found = set(c.skills)
    for skill in c.skills:
        found |= IMPLIES.get(skill, set())
    return found


def assert_sound(visits: list[Visit], team: list[Clinician], solver: str) -> None:
    cfg = routing_settings(solver, time_limit_s=0.2)
    m = matrix(visits, team, cfg)
    result = plan_day(visits, team, m, cfg)
    assert result.errors == []
    assert_no_left_out_visit_fits(result, visits, team, m, cfg)
    by_visit = {v.id: v for v in visits}
    by_c = {c.id: c for c in team}
    planned = [s.visit_id for r in result.routes for s in r.stops]
    left = [u.visit_id for u in result.unassigned]
    assert sorted(planned + left) == sorted(by_visit)
    assert all(u.reason for u in result.unassigned)
    slack = timedelta(seconds=1)
    for route in result.routes:
        c = by_c[route.clinician_id]
        assert route.depart >= c.shift_start and route.arrive_end <= c.shift_end + slack
        assert len(route.stops) <= c.max_visits
        assert c.stock_cmg is None or (
            sum(by_visit[s.visit_id].dose_cmg for s in route.stops) <= c.stock_cmg
        )
        previous_end, here = route.depart, c.start_place
        for s in route.stops:
            v = by_visit[s.visit_id]
            assert v.earliest <= s.start <= v.latest + slack
            assert v.skills <= holds(c)
            assert "escort" not in v.flags or c.escort
            assert (
                s.start - previous_end >= timedelta(minutes=m.minutes_between(here, v.id)) - slack
            )
            previous_end, here = s.end, v.id
        if c.lunch is not None:
            assert route.lunch is not None
            assert c.lunch.earliest <= route.lunch.start <= route.lunch.end <= c.lunch.latest
            for s in route.stops:
                assert route.lunch.end <= s.start or s.end <= route.lunch.start


def assert_no_left_out_visit_fits(
    result: Plan,
    visits: list[Visit],
    team: list[Clinician],
    m: TravelMatrix,
    cfg: RoutingSettings,
) -> None:
    """Every visit left out was tried everywhere: no route takes it at any place."""
    facts = derive_facts(visits, team, cfg)
    problem = build_problem(visits, team, m, facts, cfg.planner, cfg.travel.speed_kmh)
    index = {v.id: j for j, v in enumerate(visits)}
    routes = {r.clinician_id: [index[s.visit_id] for s in r.stops] for r in result.routes}
    for left in result.unassigned:
        j = index[left.visit_id]
        for v, c in enumerate(team):
            order = routes.get(c.id, [])
            for p in range(len(order) + 1):
                tried = [*order[:p], j, *order[p:]]
                timed = schedule(problem, v, tried)
                if timed is None:
                    continue
                route = Route(
                    c.id,
                    facts.origin + timedelta(seconds=timed.depart),
                    facts.origin + timedelta(seconds=timed.arrive_end),
                    [
                        Stop(
                            visits[k].id,
                            visits[k].id,
                            facts.origin + timedelta(seconds=a),
                            facts.origin + timedelta(seconds=b),
                            facts.origin + timedelta(seconds=e),
                            0,
                            0,
                        )
                        for k, (a, b, e) in zip(tried, timed.visits, strict=True)
                    ],
                    lunch=BreakStop(
                        facts.origin + timedelta(seconds=timed.lunch[0]),
                        facts.origin + timedelta(seconds=timed.lunch[1]),
                    )
                    if timed.lunch
                    else None,
                )
                assert check_route(route, c, [visits[k] for k in tried], m, facts) != [], (
                    f"{left.visit_id} fits {c.id}'s route at place {p}: {left.reason}"
                )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days(with_breaks=True))
def test_vroom_plans_never_break_a_rule(day: tuple[list[Visit], list[Clinician]]) -> None:
    assert_sound(*day, solver="vroom")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days(with_breaks=False))
def test_pyvrp_plans_never_break_a_rule(day: tuple[list[Visit], list[Clinician]]) -> None:
    assert_sound(*day, solver="pyvrp")
