"""Every "left out" is proven: the insertion pass places what fits, and each reason that
remains is true and names its constraint with the numbers (the false reasons of issue 15)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fieldapp.routing import planner as planner_module
from fieldapp.routing.model import Clinician, Place, Plan, Visit
from fieldapp.routing.planner import plan_day
from fieldapp.routing.problem import SolverProblem
from fieldapp.routing.search import Candidate

from .days import CLINIC, at, clinician, matrix, settings, visit


def plan(visits: list[Visit], team: list[Clinician], limit: float = 0.5) -> Plan:
    cfg = settings("vroom", time_limit_s=limit)
    return plan_day(visits, team, matrix(visits, team, cfg), cfg)


def reasons(result: Plan) -> dict[str, str]:
    return {u.visit_id: u.reason for u in result.unassigned}


def assigned(result: Plan) -> dict[str, str]:
    return {s.visit_id: r.clinician_id for r in result.routes for s in r.stops}


def test_a_visit_the_solver_left_out_that_fits_is_placed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A solver that stops early and leaves a fitting visit out (as VROOM and PyVRP do at a
    short limit on a big day): the insertion pass places it, with the real scheduler."""
    visits = [visit("V1", at(9), at(10), minutes=60), visit("V2", at(13), at(14), minutes=60)]
    team = [clinician("C1"), clinician("C2", home=Place(CLINIC.lat + 0.02, CLINIC.lon))]

    def lazy_solver(problem: SolverProblem, _planner: object) -> tuple[list[Candidate], list[str]]:
        orders: list[list[int]] = [[] for _ in problem.vehicles]
        orders[0] = [0]  # V2 left out although C1 is free all afternoon and C2 all day
        return [Candidate("lazy", orders)], ["lazy: 1 visit"]

    monkeypatch.setattr(planner_module, "run_solvers", lazy_solver)
    result = plan(visits, team)
    assert result.unassigned == []
    assert set(assigned(result)) == {"V1", "V2"}
    assert result.errors == []


def test_an_idle_md_takes_the_visit_rns_at_their_maximum_cannot() -> None:
    """Was: "no clinician with skill RN is free" while RNs had max_visits 0 and the MD idled."""
    team = [
        clinician("RN1", max_visits=0),
        clinician("RN2", max_visits=0),
        clinician("MD1", skills=("MD",)),
    ]
    result = plan([visit("V1", skills=("RN",))], team)
    assert assigned(result) == {"V1": "MD1"}


def test_when_nobody_can_take_it_each_clinician_s_constraint_is_named() -> None:
    far = Place(CLINIC.lat + 1.5, CLINIC.lon)  # about 170 km north of the clinic
    team = [
        clinician("RN1", max_visits=0),
        clinician("RN2", stock=20),
        clinician("MD1", at(8), at(17), skills=("MD",)),
    ]
    result = plan([visit("V1", at(9), at(10), skills=("RN",), place=far)], team)
    assert reasons(result) == {
        "V1": "no clinician with skill RN can take it ("
        "at their maximum number of visits: RN1 0 of 0; "
        "less than 40 mg left: RN2 has 20 mg of 20 mg left; "
        "no time: MD1 could start it at 14:26 at the earliest, after its window closes at 10:00)"
    }


def test_driving_first_and_taking_the_break_at_the_door_is_possible() -> None:
    """Was: "cannot drive there" when the visit works by driving first and resting on arrival.

    40 minutes' drive; the break (30 min) may start 08:45 at the earliest; the visit starts
    at 09:30 exactly. Break first ends 09:15, too late to drive; break after the visit is
    past its window. Driving at 08:00 and resting 08:45-09:15 at the door works.
    """
    place = Place(CLINIC.lat, CLINIC.lon + 0.23)
    cfg = settings("vroom")
    minutes = matrix([visit("V1", place=place)], [clinician("C1")], cfg).minutes_between(
        "Clinic", "V1"
    )
    assert 35 < minutes < 45
    c = clinician("C1", at(8), at(12), lunch=(30.0, at(8, 45), at(10)))
    result = plan([visit("V1", at(9, 30), at(9, 30), minutes=60, place=place)], [c])
    assert reasons(result) == {}
    route = result.routes[0]
    assert route.lunch is not None and route.stops[0].start == at(9, 30)
    assert route.stops[0].arrival <= route.lunch.start
    assert route.lunch.end <= route.stops[0].start


def test_busy_clinician_names_the_visit_in_the_way() -> None:
    visits = [visit("V1", at(9), at(9), minutes=120), visit("V2", at(10), at(10), minutes=60)]
    result = plan(visits, [clinician("C1")])
    assert len(result.unassigned) == 1
    (left,) = result.unassigned
    kept = "V1" if left.visit_id == "V2" else "V2"
    assert left.reason.startswith("no clinician is free ")
    assert "C1" in left.reason and ("after its window closes" in left.reason)
    assert kept in assigned(result)


def test_shift_end_is_named_with_its_time() -> None:
    """The visit ends 16:30, before the shift does; the 23-minute drive back does not."""
    late = visit("V1", at(15), at(15), minutes=90, km_east=10)
    result = plan([late], [clinician("C1", at(8), at(16, 45))])
    assert reasons(result) == {
        "V1": "no clinician can do it, even with no other visit that day "
        "(C1 would be back at 16:53, after the shift ends at 16:45)"
    }


def test_a_break_that_leaves_no_room_is_named() -> None:
    """09:00-13:00 in the home; the hour's break must start by 12:30."""
    c = clinician("C1", at(8), at(17), lunch=(60.0, at(10), at(13, 30)))
    result = plan([visit("V1", at(9), at(9), minutes=240)], [c])
    assert reasons(result) == {
        "V1": "no clinician can do it, even with no other visit that day "
        "(C1 could start the 60-min break at 13:00 at the earliest, after its latest start 12:30)"
    }


def test_the_window_ends_before_any_shift_names_both_times() -> None:
    result = plan([visit("V1", at(6), at(7))], [clinician("C1", at(8))])
    assert reasons(result)["V1"] == (
        "window closes at 07:00, before any clinician starts work (earliest shift start 08:00)"
    )


def test_a_checker_refusal_is_an_error_never_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """A solver route our checker refuses: reported with clinician and visits; its visits
    are planned again where the checker accepts them."""
    visits = [visit("V1", at(9), at(15), minutes=60), visit("V2", at(9), at(15), minutes=60)]
    team = [clinician("C1", max_visits=4), clinician("C2", max_visits=4)]

    def solver(problem: SolverProblem, _planner: object) -> tuple[list[Candidate], list[str]]:
        return [Candidate("stub", [[0, 1], []])], []

    real = planner_module.Assembler.accept
    calls = {"refused": 0}

    def picky(self, v: int, order: list[int], timeline: object) -> bool:  # type: ignore[no-untyped-def]
        if v == 0 and len(order) == 2:  # the checker will not have both with C1
            calls["refused"] += 1
            return False
        return real(self, v, order, timeline)  # type: ignore[arg-type]

    monkeypatch.setattr(planner_module, "run_solvers", solver)
    monkeypatch.setattr(planner_module.Assembler, "accept", picky)
    monkeypatch.setattr(
        planner_module.Assembler,
        "_problems",
        lambda self, v, order, timeline: (
            ["C1 is refused for this test"] if v == 0 and len(order) == 2 else []
        ),
    )
    result = plan(visits, team)
    assert result.errors == [
        "the plan checker refused C1's route (V1, V2): C1 is refused for this test; "
        "those visits were planned again where it accepts them"
    ]
    assert sorted(assigned(result)) == ["V1", "V2"]
    assert len(set(assigned(result).values())) == 2
    assert any(
        n.startswith("error: the plan checker refused C1") for n in result.to_json()["notes"]
    )


def test_no_reason_says_free_while_someone_is_idle_and_able() -> None:
    """A day with more visits than time: anything left out has a reason that holds."""
    visits = [
        visit(f"V{i}", at(8) + timedelta(minutes=20 * i), at(14), minutes=90, km_east=i % 5)
        for i in range(12)
    ]
    team = [clinician("C1", max_visits=6), clinician("C2", max_visits=2)]
    result = plan(visits, team, limit=0.3)
    for left in result.unassigned:
        assert left.reason.startswith(("no clinician", "every clinician")), left.reason
        assert "C1" in left.reason or "C2" in left.reason
