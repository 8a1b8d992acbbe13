"""Travel times and distances between every pair of places, computed at once.

Either an estimate (vectorised haversine × road circuity ÷ speed, all from config) or a
matrix the clinic supplies as CSV `from,to,minutes,km` between place ids (a visit id, or the
name of a clinician's start or end place).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fieldapp.errors import PlanInputError
from fieldapp.routing.csvfile import csv_rows
from fieldapp.routing.model import Place
from fieldapp.routing.settings import TravelSettings

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius


@dataclass(frozen=True)
class TravelMatrix:
    """Minutes and km from place `ids[i]` to place `ids[j]`."""

    ids: tuple[str, ...]
    minutes: np.ndarray
    km: np.ndarray

    def index(self, place_id: str) -> int:
        """The row of `place_id`."""
        return self._lookup()[place_id]

    def _lookup(self) -> dict[str, int]:
        cached = self.__dict__.get("_index")
        if cached is None:
            cached = {place: i for i, place in enumerate(self.ids)}
            object.__setattr__(self, "_index", cached)
        return cached

    def minutes_between(self, a: str, b: str) -> float:
        """Driving minutes from a to b."""
        return float(self.minutes[self.index(a), self.index(b)])

    def km_between(self, a: str, b: str) -> float:
        """Driving km from a to b."""
        return float(self.km[self.index(a), self.index(b)])


def haversine_km(lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Great-circle km between every pair of points (degrees in, square matrix out)."""
    phi = np.radians(np.asarray(lats, dtype=float))
    lam = np.radians(np.asarray(lons, dtype=float))
    dphi = phi[:, None] - phi[None, :]
    dlam = lam[:, None] - lam[None, :]
    a = np.sin(dphi / 2) ** 2 + np.cos(phi)[:, None] * np.cos(phi)[None, :] * np.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def estimate_matrix(places: dict[str, Place], travel: TravelSettings) -> TravelMatrix:
    """Road km ≈ haversine × circuity, minutes = km ÷ speed, for all places at once."""
    ids = tuple(places)
    lats = np.array([places[i].lat for i in ids])
    lons = np.array([places[i].lon for i in ids])
    km = haversine_km(lats, lons) * travel.circuity
    minutes = km / travel.speed_kmh * 60.0
    return TravelMatrix(ids, minutes, km)


def read_matrix_csv(path: Path, place_ids: Sequence[str]) -> TravelMatrix:
    """A user matrix over `place_ids`; a bad row or a missing pair is a `PlanInputError`."""
    ids = tuple(dict.fromkeys(place_ids))
    where = {place: i for i, place in enumerate(ids)}
    size = len(ids)
    minutes = np.full((size, size), np.nan)
    km = np.full((size, size), np.nan)
    np.fill_diagonal(minutes, 0.0)
    np.fill_diagonal(km, 0.0)
    label = path.name
    reader = csv_rows(path, label)
    header = [name.strip() for name in next(reader, [])]
    missing = [name for name in ("from", "to", "minutes", "km") if name not in header]
    if missing:
        raise PlanInputError(f"{label} row 1: missing column(s) {', '.join(missing)}")
    for number, cells in enumerate(reader, start=2):
        row = dict(zip(header, cells, strict=False))
        a, b = (row.get("from") or "").strip(), (row.get("to") or "").strip()
        if a not in where or b not in where:
            continue  # pairs between places not planned today are allowed and ignored
        minutes[where[a], where[b]] = _cell(row, "minutes", label, number)
        km[where[a], where[b]] = _cell(row, "km", label, number)
    gaps = np.argwhere(np.isnan(minutes))
    if len(gaps):
        shown = ", ".join(f"{ids[i]}→{ids[j]}" for i, j in gaps[:5])
        more = f" and {len(gaps) - 5} more" if len(gaps) > 5 else ""
        raise PlanInputError(f"{label}: no travel time for {shown}{more}")
    return TravelMatrix(ids, minutes, km)


def _cell(row: dict[str, str], column: str, label: str, number: int) -> float:
    raw = (row.get(column) or "").strip()
    try:
        value = float(raw)
    except ValueError:
        raise PlanInputError(f"{label} row {number}, column {column}: is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise PlanInputError(f"{label} row {number}, column {column}: must be a number ≥ 0")
    return value
