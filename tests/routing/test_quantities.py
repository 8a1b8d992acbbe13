"""Ketamine in exact hundredths of a mg: what the solver plans, the checker accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldapp.cli import main
from fieldapp.routing.planner import plan_day
from fieldapp.routing.quantity import QuantityError, mg_text, parse_cmg

from .days import at, clinician, matrix, settings, visit


@pytest.mark.parametrize(
    ("raw", "cmg"), [("36.14", 3614), ("63.89", 6389), ("100", 10000), ("0.5", 50), ("0", 0)]
)
def test_mg_text_is_read_exactly(raw: str, cmg: int) -> None:
    assert parse_cmg(raw) == cmg


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("36.145", "more than two decimals"),
        ("-1", "≥ 0"),
        ("nan", "≥ 0"),
        ("inf", "≥ 0"),
        ("ten", "not a number"),
    ],
)
def test_bad_quantities_are_refused_never_rounded(raw: str, problem: str) -> None:
    with pytest.raises(QuantityError, match=problem):
        parse_cmg(raw)


@given(st.integers(0, 10**7))
def test_text_and_hundredths_round_trip(cmg: int) -> None:
    assert parse_cmg(mg_text(cmg).removesuffix(" mg")) == cmg


@pytest.mark.parametrize("solver", ["vroom", "pyvrp", "auto"])
def test_the_two_decimal_day_plans_or_explains(solver: str) -> None:
    """36.14 mg and 63.89 mg against 100 mg: 100.03 mg will not fit, and is never planned."""
    visits = [
        visit("V1", at(9), at(12), minutes=60, dose="36.14"),
        visit("V2", at(9), at(15), minutes=60, dose="63.89"),
    ]
    team = [clinician("C1", stock="100")]
    cfg = settings(solver)
    result = plan_day(visits, team, matrix(visits, team, cfg), cfg)
    assert result.errors == []
    assert len(result.routes[0].stops) == 1
    (left,) = result.unassigned
    planned = result.routes[0].stops[0].visit_id
    left_dose, have = ("63.89", "63.86") if planned == "V1" else ("36.14", "36.11")
    assert left.reason == (
        f"every clinician who could do it has less than {left_dose} mg left "
        f"(C1 has {have} mg of 100 mg left)"
    )
    enough = [clinician("C1", stock="100.03")]
    both = plan_day(visits, enough, matrix(visits, enough, cfg), cfg)
    assert both.unassigned == [] and len(both.routes[0].stops) == 2


def test_the_two_decimal_day_through_the_cli(tmp_path: Path) -> None:
    visits = tmp_path / "visits.csv"
    visits.write_text(
        "id,patient,lat,lon,earliest,latest,duration_min,planned_dose_mg\n"
        "V1,Demo Patient 01,47.60,-122.30,09:00,12:00,60,36.14\n"
        "V2,Demo Patient 02,47.61,-122.31,09:00,15:00,60,63.89\n"
        "V3,Demo Patient 03,47.61,-122.31,09:00,15:00,60,36.145\n"
    )
    clinicians = tmp_path / "clinicians.csv"
    clinicians.write_text(
        "id,name,start_place,start_lat,start_lon,shift_start,shift_end,stock_mg\n"
        "C1,Demo Clinician,Clinic,47.59,-122.31,08:00,17:00,100\n"
    )
    out = tmp_path / "plan.json"
    code = main(
        [
            "plan",
            "--visits",
            str(visits),
            "--clinicians",
            str(clinicians),
            "--date",
            "2025-03-04",
            "--time-limit",
            "0.3",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    plan = json.loads(out.read_text())
    assert plan["totals"]["visits_planned"] == 1 and len(plan["unassigned"]) == 1
    assert "mg left" in plan["unassigned"][0]["reason"]
    assert plan["input_problems"] == [
        {
            "file": "visits.csv",
            "row": 4,
            "column": "planned_dose_mg",
            "problem": "has more than two decimals (quantities are in hundredths of a mg)",
        }
    ]


def test_unlimited_stock_is_explicit(tmp_path: Path) -> None:
    visits = [visit("V1", dose="150.25"), visit("V2", dose="150.25", km_east=3)]
    team = [clinician("C1", stock="unlimited")]
    cfg = settings()
    result = plan_day(visits, team, matrix(visits, team, cfg), cfg)
    assert result.unassigned == []


def test_a_tiny_day_stops_when_the_search_stalls(monkeypatch: pytest.MonkeyPatch) -> None:
    """PyVRP's stall rule, not the time limit, ends the search of a two-visit day."""
    from fieldapp.routing.solvers import pyvrp_solver

    ended_by: list[str] = []
    real_stall, real_runtime = pyvrp_solver.NoImprovement, pyvrp_solver.MaxRuntime

    class Stall(real_stall):  # type: ignore[misc, valid-type]
        def __call__(self, best_cost: float) -> bool:
            done = bool(super().__call__(best_cost))
            if done:
                ended_by.append("stall")
            return done

    class Runtime(real_runtime):  # type: ignore[misc, valid-type]
        def __call__(self, best_cost: float) -> bool:
            done = bool(super().__call__(best_cost))
            if done:
                ended_by.append("time")
            return done

    monkeypatch.setattr(pyvrp_solver, "NoImprovement", Stall)
    monkeypatch.setattr(pyvrp_solver, "MaxRuntime", Runtime)
    visits = [visit("V1", minutes=60), visit("V2", minutes=60, km_east=3)]
    team = [clinician("C1")]
    cfg = settings("auto", time_limit_s=600)
    result = plan_day(visits, team, matrix(visits, team, cfg), cfg)
    assert result.unassigned == []
    assert ended_by == ["stall"]
