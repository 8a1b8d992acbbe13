"""Each planning constraint on a small hand-made day, and the reason for each visit left out."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from fieldapp.routing.model import Clinician, Place, Plan, Visit
from fieldapp.routing.planner import plan_day
from fieldapp.routing.settings import SafetyRule

from .days import CLINIC, at, clinician, matrix, settings, visit


def plan(visits: list[Visit], clinicians: list[Clinician], solver: str = "vroom") -> Plan:
    cfg = settings(solver)
    return plan_day(visits, clinicians, matrix(visits, clinicians, cfg), cfg)


def assigned(result: Plan) -> dict[str, str]:
    return {s.visit_id: r.clinician_id for r in result.routes for s in r.stops}


def reasons(result: Plan) -> dict[str, str]:
    return {u.visit_id: u.reason for u in result.unassigned}


def stop(result: Plan, vid: str):  # type: ignore[no-untyped-def]
    return next(s for r in result.routes for s in r.stops if s.visit_id == vid)


@pytest.mark.parametrize("solver", ["vroom", "pyvrp", "auto"])
def test_window_bounds_the_start(solver: str) -> None:
    result = plan([visit("V1", at(13), at(13, 30))], [clinician("C1")], solver)
    assert at(13) <= stop(result, "V1").start <= at(13, 30)
    assert stop(result, "V1").end - stop(result, "V1").start == timedelta(minutes=120)


def test_first_infusion_takes_longer_by_config() -> None:
    result = plan([visit("V1", flags=("first_infusion",))], [clinician("C1")])
    first = stop(result, "V1")
    assert first.end - first.start == timedelta(minutes=150)


def test_shift_end_leaves_late_visit_out_with_reason() -> None:
    result = plan([visit("V1", at(11), at(12))], [clinician("C1", at(8), at(12))])
    assert assigned(result) == {}
    assert "before any clinician with skill" not in reasons(result)["V1"]
    assert "too late to finish" in reasons(result)["V1"]


def test_window_closing_before_every_shift() -> None:
    result = plan([visit("V1", at(6), at(7))], [clinician("C1", at(8)), clinician("C2", at(9))])
    assert reasons(result)["V1"] == (
        "window closes at 07:00, before any clinician starts work (earliest shift start 08:00)"
    )


def test_start_and_end_places() -> None:
    home = Place(CLINIC.lat + 0.05, CLINIC.lon)
    c = clinician("C1", home=home)
    c = Clinician(**{**c.__dict__, "end_place": "Clinic", "end": CLINIC})
    result = plan([visit("V1")], [c])
    route = result.routes[0]
    assert route.end_drive_km == pytest.approx(
        matrix([visit("V1")], [c], settings()).km_between("V1", "Clinic")
    )
    assert route.stops[0].drive_km > route.end_drive_km  # home is further north than the clinic


def test_skills_go_to_the_clinician_who_holds_them() -> None:
    team = [clinician("RN1", skills=("RN",)), clinician("MD1", skills=("MD",), max_visits=1)]
    result = plan([visit("V1", skills=("MD",)), visit("V2", skills=("RN",))], team)
    assert assigned(result) == {"V1": "MD1", "V2": "RN1"}


def test_md_may_do_an_rn_visit_by_config_but_not_the_reverse() -> None:
    result = plan([visit("V1", skills=("RN",))], [clinician("MD1", skills=("MD",))])
    assert assigned(result) == {"V1": "MD1"}
    result = plan([visit("V1", skills=("MD",))], [clinician("RN1", skills=("RN",))])
    assert reasons(result)["V1"] == (
        "no clinician with skill MD is working today (skills held today: RN)"
    )


def test_skills_that_exist_only_apart() -> None:
    team = [clinician("C1", skills=("MD",)), clinician("C2", skills=("RN", "lang:es"))]
    result = plan([visit("V1", skills=("MD", "lang:es"))], team)
    assert reasons(result)["V1"] == "no clinician holds all of MD, lang:es together"


def test_lunch_break_is_taken_in_its_window_between_visits() -> None:
    lunch = (30.0, at(11, 30), at(13, 30))
    visits = [visit("V1", at(9), at(9, 30)), visit("V2", at(12), at(13))]
    result = plan(visits, [clinician("C1", lunch=lunch)])
    route = result.routes[0]
    assert route.lunch is not None
    assert at(11, 30) <= route.lunch.start and route.lunch.end <= at(13, 30)
    assert route.lunch.end - route.lunch.start == timedelta(minutes=30)
    for s in route.stops:
        assert route.lunch.end <= s.start or s.end <= route.lunch.start


def test_break_that_cannot_fit_leaves_a_visit_out() -> None:
    lunch = (60.0, at(10), at(12))
    visits = [visit("V1", at(9), at(9)), visit("V2", at(11), at(11))]
    result = plan(visits, [clinician("C1", lunch=lunch)])
    assert len(assigned(result)) == 1


def test_max_visits_per_day() -> None:
    visits = [visit(f"V{i}", at(8), at(16), minutes=60) for i in range(3)]
    result = plan(visits, [clinician("C1", max_visits=2)])
    assert len(assigned(result)) == 2
    (reason,) = reasons(result).values()
    assert reason == (
        "every clinician who could do it already has their maximum number of visits (C1 2 of 2)"
    )


def test_stock_is_a_capacity() -> None:
    visits = [visit(f"V{i}", at(8), at(16), minutes=60, dose=80) for i in range(3)]
    result = plan(visits, [clinician("C1", stock=200)])
    assert len(assigned(result)) == 2
    (reason,) = reasons(result).values()
    assert reason == (
        "every clinician who could do it has less than 80 mg left (C1 has 40 mg of 200 mg left)"
    )


def test_dose_above_anyone_s_stock() -> None:
    result = plan([visit("V1", dose=300)], [clinician("C1", stock=200), clinician("C2", stock=150)])
    assert reasons(result)["V1"] == "needs 300 mg but the most any clinician carries is 200 mg"


def test_escort_visit_never_goes_to_a_lone_clinician() -> None:
    team = [clinician("LONE"), clinician("PAIR", escort=True)]
    result = plan([visit("V1", flags=("escort",)), visit("V2", flags=("escort",), km_east=3)], team)
    assert set(assigned(result).values()) == {"PAIR"}
    result = plan([visit("V1", flags=("escort",))], [clinician("LONE")])
    assert reasons(result)["V1"] == "escort required and no clinician has an escort today"


def test_escort_clinician_without_the_skill() -> None:
    team = [clinician("C1", skills=("MD",)), clinician("C2", skills=("RN",), escort=True)]
    result = plan([visit("V1", skills=("MD",), flags=("escort",))], team)
    assert reasons(result)["V1"] == "escort required and no accompanied clinician has skill MD"


@pytest.mark.parametrize("solver", ["vroom", "pyvrp"])
def test_continuity_prefers_the_earlier_clinician(solver: str) -> None:
    near = Place(CLINIC.lat, CLINIC.lon + 0.01)
    far = Place(CLINIC.lat, CLINIC.lon + 0.05)
    team = [clinician("NEAR", home=near), clinician("EARLIER", home=far)]
    visits = [visit("V1", previous="EARLIER", km_east=1.0)]
    assert assigned(plan(visits, team, solver)) == {"V1": "EARLIER"}
    assert assigned(plan([visit("V1", km_east=1.0)], team, solver)) == {"V1": "NEAR"}


def test_busy_clinicians_reason_names_the_window() -> None:
    visits = [visit("V1", at(9), at(9)), visit("V2", at(9), at(9), skills=("MD",))]
    result = plan(visits, [clinician("C1", skills=("MD",), max_visits=4)])
    assert len(result.routes[0].stops) == 1
    (reason,) = reasons(result).values()
    assert reason.startswith("no clinician") and "is free 09:00–11:00" in reason


def test_too_far_to_reach_within_the_shift() -> None:
    far = Place(CLINIC.lat + 1.5, CLINIC.lon)  # about 170 km north
    result = plan([visit("V1", at(9), at(10), place=far)], [clinician("C1", at(8), at(14))])
    assert reasons(result)["V1"] == (
        "no clinician can do it, even with no other visit that day "
        "(C1 could start it at 14:26 at the earliest, after its window closes at 10:00)"
    )


def test_auto_keeps_the_better_plan_of_both_solvers() -> None:
    visits = [visit(f"V{i}", at(8), at(15), minutes=60, km_east=i) for i in range(5)]
    result = plan(visits, [clinician("C1"), clinician("C2")], "auto")
    assert {n.split(":")[0] for n in result.notes} == {"vroom", "pyvrp", f"{result.solver} kept"}
    assert len(assigned(result)) == 5


def test_an_address_safety_note_requires_an_escort_through_config() -> None:
    noted = replace(visit("V1"), safety=frozenset({("weapons", "high")}))
    result = plan([noted], [clinician("LONE")])
    assert reasons(result)["V1"] == (
        "escort required (address safety note: weapons, high) and no clinician has an escort today"
    )
    result = plan([noted], [clinician("LONE"), clinician("PAIR", escort=True)])
    assert assigned(result) == {"V1": "PAIR"}
    low = replace(visit("V1"), safety=frozenset({("weapons", "low")}))
    assert assigned(plan([low], [clinician("LONE")])) == {"V1": "LONE"}


def test_a_safety_rule_can_require_a_skill() -> None:
    cfg = settings()
    cfg.safety.categories["violence_or_threats"] = SafetyRule(
        escort_from="never", skills=["deescalation"], skills_from="medium"
    )
    noted = replace(visit("V1"), safety=frozenset({("violence_or_threats", "medium")}))
    team = [clinician("C1"), clinician("C2", skills=("RN", "deescalation"))]
    result = plan_day([noted], team, matrix([noted], team, cfg), cfg)
    assert assigned(result) == {"V1": "C2"}


def test_an_unknown_safety_category_is_planned_safe_and_noted() -> None:
    noted = replace(visit("V1"), safety=frozenset({("snakes", "low")}))
    result = plan([noted], [clinician("LONE"), clinician("PAIR", escort=True)])
    assert assigned(result) == {"V1": "PAIR"}
    assert any("'snakes' is not in routing.toml" in note for note in result.notes)
