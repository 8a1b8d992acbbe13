"""Travel matrix: haversine against a known distance, config factors, user CSV errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldapp.errors import PlanInputError
from fieldapp.routing.matrix import estimate_matrix, haversine_km, read_matrix_csv
from fieldapp.routing.model import Place
from fieldapp.routing.settings import TravelSettings


def test_haversine_matches_a_known_distance() -> None:
    # One degree of latitude along a meridian is 111.2 km on the mean-radius sphere.
    km = haversine_km(np.array([0.0, 1.0]), np.array([0.0, 0.0]))
    assert km[0, 1] == pytest.approx(111.195, abs=0.01)
    # Seattle (Space Needle) to Portland (Pioneer Square): about 235 km great-circle.
    km = haversine_km(np.array([47.6205, 45.5189]), np.array([-122.3493, -122.6794]))
    assert km[0, 1] == pytest.approx(235.0, abs=1.0)


coords = st.tuples(st.floats(-80, 80), st.floats(-179, 179))


@given(st.lists(coords, min_size=1, max_size=12))
def test_haversine_is_symmetric_zero_diagonal_and_bounded(
    points: list[tuple[float, float]],
) -> None:
    lats, lons = np.array(points).T
    km = haversine_km(lats, lons)
    assert np.allclose(km, km.T)
    assert np.allclose(np.diag(km), 0)
    assert (km <= np.pi * 6371.0088 + 1e-6).all()


def test_estimate_applies_circuity_and_speed() -> None:
    travel = TravelSettings(circuity=1.5, speed_kmh=30)
    m = estimate_matrix({"a": Place(0, 0), "b": Place(1, 0)}, travel)
    assert m.km_between("a", "b") == pytest.approx(111.195 * 1.5, rel=1e-4)
    assert m.minutes_between("a", "b") == pytest.approx(111.195 * 1.5 / 30 * 60, rel=1e-4)


def test_user_matrix_is_read_and_extra_rows_ignored(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(
        "from,to,minutes,km\nV1,Clinic,12,6.5\nClinic,V1,11,6.1\nV1,Elsewhere,3,1\n",
        encoding="utf-8",
    )
    m = read_matrix_csv(path, ["V1", "Clinic", "Clinic"])
    assert m.ids == ("V1", "Clinic")
    assert m.minutes_between("Clinic", "V1") == 11 and m.km_between("V1", "Clinic") == 6.5
    assert m.minutes_between("V1", "V1") == 0


def test_user_matrix_missing_pair_is_named(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("from,to,minutes,km\nV1,Clinic,12,6.5\n", encoding="utf-8")
    with pytest.raises(PlanInputError, match="no travel time for Clinic→V1"):
        read_matrix_csv(path, ["V1", "Clinic"])


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("V1,Clinic,soon,6", "row 3, column minutes: is not a number"),
        ("V1,Clinic,5,-1", "row 3, column km"),
    ],
)
def test_user_matrix_bad_row_is_named(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "m.csv"
    path.write_text(f"from,to,minutes,km\nClinic,V1,1,1\n{row}\n", encoding="utf-8")
    with pytest.raises(PlanInputError, match=message):
        read_matrix_csv(path, ["V1", "Clinic"])


def test_user_matrix_needs_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("from,to,min\n", encoding="utf-8")
    with pytest.raises(PlanInputError, match="missing column"):
        read_matrix_csv(path, ["V1"])
