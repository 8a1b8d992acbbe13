"""From the dispatcher's files to a plan: read, geocode, build the matrix, plan.

Rows with a problem are reported and left out; visits whose address cannot be geocoded come
back unassigned with the reason; a clinician whose place cannot be geocoded is left out and
reported. The same function serves the CLI and, later, the clinic server.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from fieldapp.errors import PlanInputError
from fieldapp.routing.geocode import AddressGeocoder
from fieldapp.routing.inputs import read_clinicians, read_visits
from fieldapp.routing.matrix import TravelMatrix, estimate_matrix, read_matrix_csv
from fieldapp.routing.model import Clinician, InputProblem, Place, Plan, Unassigned, Visit
from fieldapp.routing.planner import plan_day
from fieldapp.routing.settings import RoutingSettings


@dataclass
class DayResult:
    """The plan and what it was made from (the places feed the GeoJSON)."""

    plan: Plan
    visits: list[Visit]
    clinicians: list[Clinician]
    places: dict[str, Place]
    matrix: TravelMatrix


def plan_files(
    visits_csv: Path,
    clinicians_csv: Path,
    day: date,
    settings: RoutingSettings,
    geocoder: AddressGeocoder | None,
    matrix_csv: Path | None = None,
) -> DayResult:
    """Plan one day from the two CSV files (and an optional travel matrix CSV)."""
    zone = ZoneInfo(settings.clinic.timezone)
    visits, problems = read_visits(visits_csv, day, zone)
    clinicians, clinician_problems = read_day_clinicians(
        clinicians_csv, day, settings, geocoder, {v.id for v in visits}, locate=matrix_csv is None
    )
    problems += clinician_problems
    left_out: list[Unassigned] = []
    if matrix_csv is None:
        visits, left_out = _geocode_visits(visits, geocoder)
    places = _places(visits, clinicians)
    ids = [v.id for v in visits] + [p for c in clinicians for p in (c.start_place, c.end_place)]
    if matrix_csv is not None:
        matrix = read_matrix_csv(matrix_csv, ids)
    else:
        matrix = estimate_matrix({i: places[i] for i in dict.fromkeys(ids)}, settings.travel)
    plan = plan_day(visits, clinicians, matrix, settings, day)
    plan.unassigned += left_out
    plan.input_problems = sorted(problems, key=lambda p: (p.file, p.row))
    if geocoder is not None:
        plan.notes += geocoder.notes()
    return DayResult(plan, visits, clinicians, places, matrix)


def read_day_clinicians(
    path: Path,
    day: date,
    settings: RoutingSettings,
    geocoder: AddressGeocoder | None,
    visit_ids: set[str] | frozenset[str] = frozenset(),
    locate: bool = True,
) -> tuple[list[Clinician], list[InputProblem]]:
    """The clinicians of `clinicians.csv` with their places found (unless `locate` is off: a
    travel matrix names places instead), and a problem per bad row. The same rules serve
    `fieldapp plan` and every `dispatch` command that reads a roster."""
    clinicians, problems = read_clinicians(path, day, ZoneInfo(settings.clinic.timezone))
    clinicians, place_problems = _consistent_places(clinicians, set(visit_ids), path.name)
    if not locate:
        return clinicians, problems + place_problems
    clinicians, geo_problems = _geocode_clinicians(clinicians, geocoder, path.name)
    return clinicians, problems + place_problems + geo_problems


def _consistent_places(
    clinicians: list[Clinician], visit_ids: set[str], label: str
) -> tuple[list[Clinician], list[InputProblem]]:
    """A place name means one place: not a visit id, and the same coordinates every time."""
    kept: list[Clinician] = []
    problems: list[InputProblem] = []
    seen: dict[str, tuple[Place | None, str, int]] = {}
    for c in clinicians:
        bad = ""
        for column, name, place, address in (
            ("start_place", c.start_place, c.start, c.start_address),
            ("end_place", c.end_place, c.end, c.end_address),
        ):
            if name in visit_ids:
                bad = bad or f"{column}: the name is also a visit id"
            previous = seen.setdefault(name, (place, address, c.row))
            if previous[:2] != (place, address):
                bad = bad or f"{column}: the name is used for another place on row {previous[2]}"
        if bad:
            column, problem = bad.split(": ", 1)
            problems.append(InputProblem(label, c.row, column, problem))
        else:
            kept.append(c)
    return kept, problems


def _geocode_visits(
    visits: list[Visit], geocoder: AddressGeocoder | None
) -> tuple[list[Visit], list[Unassigned]]:
    wanted = [v.address for v in visits if v.place is None]
    if wanted and geocoder is None:
        raise PlanInputError("some visits have an address but no lat/lon, and no geocoder is set")
    found = geocoder.geocode_many(wanted) if geocoder and wanted else {}
    kept: list[Visit] = []
    left_out: list[Unassigned] = []
    for visit in visits:
        if visit.place is None:
            result = found[visit.address]
            if result.place is None:
                reason = f"address could not be geocoded: {result.reason}"
                left_out.append(Unassigned(visit.id, reason))
                continue
            visit = replace(visit, place=result.place)
        kept.append(visit)
    return kept, left_out


def _geocode_clinicians(
    clinicians: list[Clinician], geocoder: AddressGeocoder | None, label: str
) -> tuple[list[Clinician], list[InputProblem]]:
    wanted = [a for c in clinicians for a in (c.start_address, c.end_address) if a]
    found = geocoder.geocode_many(wanted) if geocoder and wanted else {}
    kept: list[Clinician] = []
    problems: list[InputProblem] = []
    for c in clinicians:
        start = c.start or (found[c.start_address].place if c.start_address in found else None)
        end = c.end or (
            (found[c.end_address].place if c.end_address in found else None)
            if c.end_address
            else start
        )
        if start is None or end is None:
            column = "start_address" if start is None else "end_address"
            address = c.start_address if start is None else c.end_address
            reason = (
                f"could not be geocoded: {found[address].reason}"
                if address in found
                else "has no lat/lon and no geocoder is set"
            )
            problems.append(InputProblem(label, c.row, column, reason))
            continue
        kept.append(replace(c, start=start, end=end))
    return kept, problems


def _places(visits: list[Visit], clinicians: list[Clinician]) -> dict[str, Place]:
    places: dict[str, Place] = {v.id: v.place for v in visits if v.place}
    for c in clinicians:
        if c.start:
            places.setdefault(c.start_place, c.start)
        if c.end:
            places.setdefault(c.end_place, c.end)
    return places
