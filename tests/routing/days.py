"""Small hand-made days for the routing tests (synthetic people and places only)."""

from __future__ import annotations

from datetime import date, datetime

from fieldapp.routing.matrix import TravelMatrix, estimate_matrix
from fieldapp.routing.model import Break, Clinician, Place, Visit
from fieldapp.routing.quantity import parse_cmg
from fieldapp.routing.settings import RoutingSettings, load_routing_settings

DAY = date(2025, 3, 4)
CLINIC = Place(47.5920, -122.3170)


def at(hour: int, minute: int = 0) -> datetime:
    """A time on the test day."""
    return datetime(2025, 3, 4, hour, minute)


def settings(solver: str = "vroom", time_limit_s: float = 0.5) -> RoutingSettings:
    """The shipped settings with a small time limit for tests."""
    loaded = load_routing_settings()
    loaded.planner.solver = solver  # type: ignore[assignment]
    loaded.planner.time_limit_s = time_limit_s
    loaded.planner.vroom_threads = 1
    loaded.planner.vroom_exploration = 3
    return loaded


def visit(
    vid: str,
    earliest: datetime = at(9),
    latest: datetime = at(15),
    *,
    minutes: float = 120,
    skills: tuple[str, ...] = (),
    dose: float | str = 40,
    flags: tuple[str, ...] = (),
    previous: str = "",
    place: Place | None = None,
    km_east: float = 2.0,
) -> Visit:
    """A visit `km_east` km east of the clinic unless a place is given (`dose` in mg)."""
    where = place or Place(CLINIC.lat, CLINIC.lon + km_east / 75.0)
    return Visit(
        id=vid,
        patient=f"Demo Patient {vid}",
        earliest=earliest,
        latest=latest,
        duration_min=minutes,
        skills=frozenset(skills),
        dose_cmg=parse_cmg(str(dose)),
        flags=frozenset(flags),
        previous_clinician=previous,
        place=where,
    )


def clinician(
    cid: str,
    start: datetime = at(8),
    end: datetime = at(17),
    *,
    skills: tuple[str, ...] = ("RN",),
    stock: float | str | None = 200,
    max_visits: int = 4,
    escort: bool = False,
    lunch: tuple[float, datetime, datetime] | None = None,
    home: Place = CLINIC,
) -> Clinician:
    """A clinician starting and ending at `home` (named Home-<id> unless it is the clinic)."""
    name = "Clinic" if home == CLINIC else f"Home-{cid}"
    return Clinician(
        id=cid,
        name=f"Demo Clinician {cid}",
        start_place=name,
        end_place=name,
        shift_start=start,
        shift_end=end,
        skills=frozenset(skills),
        stock_cmg=None if stock in (None, "unlimited") else parse_cmg(str(stock)),
        max_visits=max_visits,
        escort=escort,
        lunch=Break(*lunch) if lunch else None,
        start=home,
        end=home,
    )


def matrix(visits: list[Visit], clinicians: list[Clinician], cfg: RoutingSettings) -> TravelMatrix:
    """The estimated matrix over every place of the day."""
    places: dict[str, Place] = {v.id: v.place for v in visits if v.place}
    for c in clinicians:
        assert c.start and c.end
        places[c.start_place] = c.start
        places[c.end_place] = c.end
    return estimate_matrix(places, cfg.travel)
