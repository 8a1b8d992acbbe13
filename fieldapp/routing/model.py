"""The planning vocabulary: places, visits, clinicians, and the plan that comes back.

Times are naive local datetimes of the planning day in the clinic's timezone; durations are
minutes; ketamine is in whole hundredths of a mg (`quantity.py`). Visit ids and place names
are what the dispatcher wrote; patient names never leave the visits file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# What the clinic server stores of a plan (`PlanDocument`): longer text is cut with "…".
REASON_MAX_CHARS = 1000
NOTE_MAX_CHARS = 500
NOTES_MAX = 100


def clip(text: str, limit: int) -> str:
    """`text`, cut to `limit` characters with a final "…" when longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Place:
    """A point on the map, in degrees."""

    lat: float
    lon: float


@dataclass(frozen=True)
class Visit:
    """One requested home visit; `earliest`/`latest` bound the start of the visit."""

    id: str
    patient: str
    earliest: datetime
    latest: datetime
    duration_min: float
    skills: frozenset[str] = frozenset()
    dose_cmg: int = 0
    flags: frozenset[str] = frozenset()
    previous_clinician: str = ""
    place: Place | None = None
    address: str = ""
    row: int = 0
    safety: frozenset[tuple[str, str]] = frozenset()
    """Address safety notes as (category, level): only what the dispatcher may see."""


@dataclass(frozen=True)
class Break:
    """A break of `minutes`, taken wholly between `earliest` and `latest`."""

    minutes: float
    earliest: datetime
    latest: datetime


@dataclass(frozen=True)
class Clinician:
    """One clinician's day: shift, start and end places, credentials, stock and limits."""

    id: str
    name: str
    start_place: str
    end_place: str
    shift_start: datetime
    shift_end: datetime
    skills: frozenset[str] = frozenset()
    stock_cmg: int | None = 0
    """Ketamine this clinician may carry, hundredths of a mg; None is `unlimited`."""
    max_visits: int = 99
    escort: bool = False
    lunch: Break | None = None
    start: Place | None = None
    end: Place | None = None
    start_address: str = ""
    end_address: str = ""
    row: int = 0


@dataclass(frozen=True)
class InputProblem:
    """A problem found in an input row: row number (1 = header), column and what is wrong."""

    file: str
    row: int
    column: str
    problem: str

    def __str__(self) -> str:
        """`visits.csv row 4, column latest: ...`."""
        return f"{self.file} row {self.row}, column {self.column}: {self.problem}"


@dataclass
class Stop:
    """A visit in a route, with the drive that led to it."""

    visit_id: str
    place: str
    arrival: datetime
    start: datetime
    end: datetime
    drive_km: float
    drive_min: float


@dataclass
class BreakStop:
    """When a clinician takes the break."""

    start: datetime
    end: datetime


@dataclass
class Route:
    """One clinician's ordered day."""

    clinician_id: str
    depart: datetime
    arrive_end: datetime
    stops: list[Stop]
    lunch: BreakStop | None = None
    end_drive_km: float = 0.0
    end_drive_min: float = 0.0

    @property
    def drive_km(self) -> float:
        """Kilometres driven over the whole route."""
        return sum(stop.drive_km for stop in self.stops) + self.end_drive_km

    @property
    def drive_min(self) -> float:
        """Minutes driven over the whole route."""
        return sum(stop.drive_min for stop in self.stops) + self.end_drive_min


@dataclass
class Unassigned:
    """A visit left out, with a sentence a dispatcher understands."""

    visit_id: str
    reason: str


@dataclass
class Plan:
    """A day's plan: routes, visits left out, and how it was found."""

    date: str
    routes: list[Route]
    unassigned: list[Unassigned]
    solver: str = ""
    solve_s: float = 0.0
    input_problems: list[InputProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Routes our checker refused (naming clinician and visits); never in the routes."""

    def totals(self) -> dict[str, Any]:
        """Drive km and minutes, visits planned and left out, clinicians used."""
        used = [route for route in self.routes if route.stops]
        return {
            "drive_km": round(sum(route.drive_km for route in used), 2),
            "drive_min": round(sum(route.drive_min for route in used), 1),
            "visits_planned": sum(len(route.stops) for route in used),
            "visits_unassigned": len(self.unassigned),
            "clinicians_used": len(used),
        }

    def to_json(self) -> dict[str, Any]:
        """The JSON plan: `{"routes": [...], "unassigned": [...], "totals": {...}}` and meta."""
        return {
            "schema": "fieldapp.plan/1",
            "date": self.date,
            "solver": self.solver,
            "routes": [_route_json(route) for route in self.routes if route.stops],
            "unassigned": [
                {"visit_id": u.visit_id, "reason": clip(u.reason, REASON_MAX_CHARS)}
                for u in self.unassigned
            ],
            "totals": self.totals(),
            "input_problems": [
                {"file": p.file, "row": p.row, "column": p.column, "problem": p.problem}
                for p in self.input_problems
            ],
            "notes": [
                clip(note, NOTE_MAX_CHARS)
                for note in [*(f"error: {error}" for error in self.errors), *self.notes][:NOTES_MAX]
            ],
        }


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _route_json(route: Route) -> dict[str, Any]:
    return {
        "clinician_id": route.clinician_id,
        "depart": _iso(route.depart),
        "arrive_end": _iso(route.arrive_end),
        "drive_km": round(route.drive_km, 2),
        "drive_min": round(route.drive_min, 1),
        "break": (
            {"start": _iso(route.lunch.start), "end": _iso(route.lunch.end)}
            if route.lunch
            else None
        ),
        "stops": [
            {
                "seq": seq,
                "visit_id": stop.visit_id,
                "place": stop.place,
                "arrival": _iso(stop.arrival),
                "start": _iso(stop.start),
                "end": _iso(stop.end),
                "drive_km": round(stop.drive_km, 2),
                "drive_min": round(stop.drive_min, 1),
            }
            for seq, stop in enumerate(route.stops, start=1)
        ],
        "end_drive_km": round(route.end_drive_km, 2),
        "end_drive_min": round(route.end_drive_min, 1),
    }
