"""Reading visits.csv and clinicians.csv: every bad row named by row, column and problem.

A bad row is skipped and reported; the good rows are still planned. Row numbers count the
header as row 1, as a spreadsheet shows them. Messages name columns, never cell contents
that could be patient data (addresses, names).

Times are clinic time: `HH:MM` on the planning day, an ISO datetime without an offset, or
one with `Z` or an offset, converted into the clinic's timezone. A time that lands on
another day than the planning day is a bad row. Ketamine is read exactly, in hundredths of
a mg (`quantity.py`); a clinician's `stock_mg` must be given (`0`, a number, or `unlimited`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from fieldapp.errors import PlanInputError
from fieldapp.routing.csvfile import csv_rows
from fieldapp.routing.model import Break, Clinician, InputProblem, Place, Visit
from fieldapp.routing.quantity import UNLIMITED_WORDS, QuantityError, parse_cmg
from fieldapp.routing.settings import LEVELS

VISIT_COLUMNS = ("id", "patient", "earliest", "latest", "duration_min")
CLINICIAN_COLUMNS = ("id", "name", "start_place", "shift_start", "shift_end", "stock_mg")
SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
_CATEGORY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"", "0", "false", "no", "n"}

T = TypeVar("T")


class _BadCell(Exception):
    """One cell is wrong; carries the column and the problem."""

    def __init__(self, column: str, problem: str) -> None:
        super().__init__(problem)
        self.column = column
        self.problem = problem


@dataclass(frozen=True)
class _Row:
    """One CSV row with helpers that raise `_BadCell`."""

    cells: dict[str, str]
    day: date
    zone: ZoneInfo | None = None

    def text(self, column: str, required: bool = False) -> str:
        value = (self.cells.get(column) or "").strip()
        if required and not value:
            raise _BadCell(column, "is empty")
        return value

    def number(self, column: str, default: float | None = None, minimum: float = 0.0) -> float:
        raw = self.text(column)
        if not raw:
            if default is None:
                raise _BadCell(column, "is empty")
            return default
        try:
            value = float(raw)
        except ValueError:
            raise _BadCell(column, "is not a number") from None
        if not math.isfinite(value) or value < minimum:
            raise _BadCell(column, f"must be a number ≥ {minimum:g}")
        return value

    def moment(self, column: str) -> datetime:
        moment = parse_moment(self.text(column, required=True), self.day, column, self.zone)
        if moment.date() != self.day:
            raise _BadCell(
                column,
                f"is on {moment.date().isoformat()}, not the planning day {self.day.isoformat()}",
            )
        return moment

    def cmg(self, column: str, empty: int | None = None) -> int:
        """Exact hundredths of a mg; `empty` is the value of an empty cell (None: refused)."""
        raw = self.text(column)
        if not raw:
            if empty is None:
                raise _BadCell(column, "is empty")
            return empty
        try:
            return parse_cmg(raw)
        except QuantityError as exc:
            raise _BadCell(column, str(exc)) from None

    def safety(self, column: str) -> frozenset[tuple[str, str]]:
        """`weapons:high; aggressive_animals:medium` → {(category, level), ...}."""
        notes = set()
        for tag in split_tags(self.text(column)):
            category, _, level = tag.partition(":")
            if not _CATEGORY.match(category) or level not in LEVELS:
                raise _BadCell(
                    column, f"each note is category:level, the level one of {', '.join(LEVELS)}"
                )
            notes.add((category, level))
        return frozenset(notes)

    def tags(self, column: str) -> frozenset[str]:
        return frozenset(split_tags(self.text(column)))

    def place(self, lat_column: str, lon_column: str) -> Place | None:
        lat, lon = self.text(lat_column), self.text(lon_column)
        if not lat and not lon:
            return None
        if not lat or not lon:
            missing = lat_column if not lat else lon_column
            raise _BadCell(missing, "is empty while the other coordinate is given")
        place = Place(self.number(lat_column, minimum=-90.0), self.number(lon_column, minimum=-180))
        if place.lat > 90:
            raise _BadCell(lat_column, "latitude must be between -90 and 90")
        if place.lon > 180:
            raise _BadCell(lon_column, "longitude must be between -180 and 180")
        return place

    def flag(self, column: str) -> bool:
        raw = self.text(column).lower()
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        raise _BadCell(column, "must be yes or no")


def split_tags(raw: str) -> list[str]:
    """`"MD; lang:es"` → `["MD", "lang:es"]` (`;`, `|` or spaces separate tags)."""
    return [tag for tag in raw.replace("|", ";").replace(" ", ";").split(";") if tag]


def parse_moment(
    raw: str, day: date, column: str = "time", zone: ZoneInfo | None = None
) -> datetime:
    """`HH:MM` on `day`, or an ISO datetime; one with `Z` or an offset is converted into the
    clinic's `zone` (naive clinic time comes back)."""
    try:
        if len(raw) <= 5 and ":" in raw:
            return datetime.combine(day, time.fromisoformat(raw.zfill(5)))
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise _BadCell(column, "is not HH:MM or an ISO datetime") from None
    if moment.tzinfo is None:
        return moment
    if zone is None:
        raise _BadCell(column, "has a timezone offset but no clinic timezone is set")
    return moment.astimezone(zone).replace(tzinfo=None)


def _rows(
    path: Path, required: tuple[str, ...], label: str
) -> Iterator[tuple[int, dict[str, str] | InputProblem]]:
    """Each non-empty row as cells by column, or the problem of a row whose cell count is off."""
    reader = csv_rows(path, label)
    first = next(reader, [])
    header = [name.strip() for name in first]
    missing = [name for name in required if name not in header]
    if missing:
        raise PlanInputError(
            f"{label} row 1: missing column(s) {', '.join(missing)}{_separator_hint(first)}"
        )
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            yield (
                number,
                InputProblem(
                    label,
                    number,
                    "(row)",
                    f"has {len(cells)} cells but the header has {len(header)} columns"
                    " (a value holding a comma must be in double quotes)",
                ),
            )
            continue
        yield number, dict(zip(header, cells, strict=True))


def _separator_hint(header: list[str]) -> str:
    """A hint when the header looks separated by something other than commas."""
    line = ",".join(header)
    for separator, name in SEPARATORS.items():
        if line.count(separator) >= 2:
            return f"; the columns look separated by {name}: save the file as comma-separated CSV"
    return ""


def _read(
    path: Path,
    day: date,
    zone: ZoneInfo | None,
    required: tuple[str, ...],
    build: Callable[[_Row, int], T],
) -> tuple[list[T], list[InputProblem]]:
    items: list[T] = []
    problems: list[InputProblem] = []
    label = path.name
    seen: dict[str, int] = {}
    for number, cells in _rows(path, required, label):
        if isinstance(cells, InputProblem):
            problems.append(cells)
            continue
        try:
            item = build(_Row(cells, day, zone), number)
        except _BadCell as bad:
            problems.append(InputProblem(label, number, bad.column, bad.problem))
            continue
        key = item.id  # type: ignore[attr-defined]
        if key in seen:
            problems.append(InputProblem(label, number, "id", f"repeats the id of row {seen[key]}"))
            continue
        seen[key] = number
        items.append(item)
    return items, problems


def _visit(row: _Row, number: int) -> Visit:
    earliest, latest = row.moment("earliest"), row.moment("latest")
    if latest < earliest:
        raise _BadCell("latest", "is before earliest")
    duration = row.number("duration_min")
    if duration <= 0:
        raise _BadCell("duration_min", "must be more than 0")
    place = row.place("lat", "lon")
    address = row.text("address")
    if place is None and not address:
        raise _BadCell("address", "is empty and lat/lon are not given")
    return Visit(
        id=row.text("id", required=True),
        patient=row.text("patient", required=True),
        earliest=earliest,
        latest=latest,
        duration_min=duration,
        skills=row.tags("skills"),
        dose_cmg=row.cmg("planned_dose_mg", empty=0),
        flags=row.tags("flags"),
        previous_clinician=row.text("previous_clinician"),
        place=place,
        address="" if place else address,
        row=number,
        safety=row.safety("safety"),
    )


def _lunch(row: _Row, shift_start: datetime, shift_end: datetime) -> Break | None:
    if not row.text("break_min"):
        return None
    minutes = row.number("break_min")
    if minutes <= 0:
        return None
    earliest = row.moment("break_earliest") if row.text("break_earliest") else shift_start
    latest = row.moment("break_latest") if row.text("break_latest") else shift_end
    if latest - earliest < timedelta(minutes=minutes):
        raise _BadCell("break_latest", "leaves less time than break_min after break_earliest")
    if min(latest, shift_end) - max(earliest, shift_start) < timedelta(minutes=minutes):
        raise _BadCell("break_earliest", "the break window does not fit within the shift")
    return Break(minutes, earliest, latest)


def _clinician(row: _Row, number: int) -> Clinician:
    shift_start, shift_end = row.moment("shift_start"), row.moment("shift_end")
    if shift_end <= shift_start:
        raise _BadCell("shift_end", "is not after shift_start")
    start_name = row.text("start_place", required=True)
    end_name = row.text("end_place") or start_name
    start = row.place("start_lat", "start_lon")
    end = row.place("end_lat", "end_lon")
    start_address = row.text("start_address") or ("" if start else start_name)
    if end is None and end_name == start_name:
        end, end_address = start, start_address
    else:
        end_address = row.text("end_address") or ("" if end else end_name)
    max_visits = row.number("max_visits", default=99.0)
    if max_visits != int(max_visits):
        raise _BadCell("max_visits", "must be a whole number")
    return Clinician(
        id=row.text("id", required=True),
        name=row.text("name", required=True),
        start_place=start_name,
        end_place=end_name,
        shift_start=shift_start,
        shift_end=shift_end,
        skills=row.tags("skills"),
        stock_cmg=_stock(row),
        max_visits=int(max_visits),
        escort=row.flag("escort"),
        lunch=_lunch(row, shift_start, shift_end),
        start=start,
        end=end,
        start_address="" if start else start_address,
        end_address="" if end else end_address,
        row=number,
    )


def _stock(row: _Row) -> int | None:
    """A clinician's stock: hundredths of a mg, or None for the explicit `unlimited`."""
    raw = row.text("stock_mg")
    if raw.casefold() in UNLIMITED_WORDS:
        return None
    if not raw:
        raise _BadCell(
            "stock_mg", "is empty: give the mg this clinician may carry (0 for none, or unlimited)"
        )
    return row.cmg("stock_mg")


def read_visits(
    path: Path, day: date, zone: ZoneInfo | None = None
) -> tuple[list[Visit], list[InputProblem]]:
    """Good visits, and a problem per bad row (times with an offset converted into `zone`)."""
    return _read(path, day, zone, VISIT_COLUMNS, _visit)


def read_clinicians(
    path: Path, day: date, zone: ZoneInfo | None = None
) -> tuple[list[Clinician], list[InputProblem]]:
    """Good clinicians, and a problem per bad row (times with an offset converted into `zone`)."""
    return _read(path, day, zone, CLINICIAN_COLUMNS, _clinician)
