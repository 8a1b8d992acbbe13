"""Property tests: on random small days no plan ever breaks a window, shift, skill, stock,
escort, break or visit-count rule, and every visit is planned or explained exactly once.

The rules are re-checked here from the raw records (not through the planner's own checker),
so a mistake in shared code cannot hide itself.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.routing.model import Clinician, Place, Visit
from fieldapp.routing.planner import plan_day

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
                dose=draw(st.sampled_from([0, 30, 50, 80, 120])),
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
                stock=draw(st.sampled_from([50, 100, 200])),
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


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days(with_breaks=True))
def test_vroom_plans_never_break_a_rule(day: tuple[list[Visit], list[Clinician]]) -> None:
    assert_sound(*day, solver="vroom")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days(with_breaks=False))
def test_pyvrp_plans_never_break_a_rule(day: tuple[list[Visit], list[Clinician]]) -> None:
    assert_sound(*day, solver="pyvrp")
