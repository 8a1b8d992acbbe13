"""Re-planning a day around what has already happened on the road.

A visit with any synced check-in (en route, arrived, infusing, checked out, declined,
duress) is under way or done: it stays with its clinician at its time, and that clinician's
rest of the day starts where and when it ends. Every other open visit is planned again with
`fieldapp.routing.plan_day`, from the board (the server's visits and requests) and the
roster (the clinicians' shifts, places and limits). No planning input holds a dose: the
server checks ketamine stock at publish, where the doses are.

A request's window bounds the start of the visit, as in `visits.csv`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fieldapp.dispatch.watch import FINISHED, arrival
from fieldapp.routing.day import read_day_clinicians
from fieldapp.routing.geocode import AddressGeocoder
from fieldapp.routing.matrix import estimate_matrix
from fieldapp.routing.model import Break, Clinician, InputProblem, Place, Visit
from fieldapp.routing.planner import plan_day
from fieldapp.routing.quantity import CMG_PER_MG, cmg_of
from fieldapp.routing.settings import RoutingSettings
from sync.server.plan_models import Board, BoardVisit, RosterClinician

Progress = Callable[[str], None]


@dataclass
class Replan:
    """The new plan document, and what was kept or left out on the way."""

    plan: dict[str, Any]
    fixed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    """A server time as the planner's naive local time of the clinic."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(zone).replace(tzinfo=None)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def day_visits(board: Board) -> list[BoardVisit]:
    """Every visit and request of the board."""
    return [v for c in board.clinicians for v in c.visits] + list(board.unassigned)


def is_fixed(visit: BoardVisit) -> bool:
    """Under way or done on the road: never moved by a re-plan."""
    return visit.clinician_id is not None and bool(visit.events)


def fixed_times(visit: BoardVisit, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """(start, end) of a visit under way: its arrival (else ETA) plus its duration, or the
    check-out when it is done."""
    began = arrival(visit.events) or visit.eta or visit.window_start
    start = _local(began, zone)
    done = [e.at for e in visit.events if e.status in FINISHED]
    end = _local(done[-1], zone) if done else start + timedelta(minutes=visit.duration_min)
    return start, max(end, start)


def roster_clinician(c: RosterClinician) -> Clinician:
    """A stored roster entry as the planner's clinician."""
    lunch = None
    if c.break_min:
        lunch = Break(c.break_min, c.break_earliest or c.shift_start, c.break_latest or c.shift_end)
    return Clinician(
        id=c.id,
        name=c.name,
        start_place=c.start_place,
        end_place=c.end_place,
        shift_start=c.shift_start,
        shift_end=c.shift_end,
        skills=frozenset(c.skills),
        stock_cmg=None if c.stock_mg is None else cmg_of(c.stock_mg),
        max_visits=c.max_visits,
        escort=c.escort,
        lunch=lunch,
        start=Place(c.start_lat, c.start_lon),
        end=Place(c.end_lat, c.end_lon),
    )


def _rest_of_day(
    clinician: Clinician, fixed: list[tuple[BoardVisit, datetime, datetime]], now: datetime
) -> Clinician | None:
    """The clinician's day after their visits under way and after now; None if nothing is left."""
    start_place, start, begin = clinician.start_place, clinician.start, clinician.shift_start
    if fixed:
        last, _, end = max(fixed, key=lambda item: item[2])
        begin = max(begin, end)
        if last.lat is not None and last.lon is not None:
            start_place, start = f"after:{last.id}", Place(last.lat, last.lon)
    begin = max(begin, now)
    if begin >= clinician.shift_end:
        return None
    lunch = clinician.lunch
    if lunch is not None:
        earliest = max(lunch.earliest, begin)
        fits = earliest + timedelta(minutes=lunch.minutes) <= min(lunch.latest, clinician.shift_end)
        lunch = Break(lunch.minutes, earliest, lunch.latest) if fits else None
    return replace(
        clinician,
        start_place=start_place,
        start=start,
        shift_start=begin,
        max_visits=max(0, clinician.max_visits - len(fixed)),
        lunch=lunch,
    )


def _planning_visit(visit: BoardVisit, zone: ZoneInfo) -> Visit:
    assert visit.lat is not None and visit.lon is not None
    return Visit(
        id=str(visit.id),
        patient=visit.ref or str(visit.id),
        earliest=_local(visit.window_start, zone),
        latest=_local(visit.window_end, zone),
        duration_min=visit.duration_min,
        skills=frozenset(visit.skills),
        flags=frozenset(visit.flags),
        previous_clinician=visit.previous_clinician or "",
        place=Place(visit.lat, visit.lon),
        safety=frozenset((note.category, note.level) for note in visit.safety_notes),
    )


def review_notes(visits: list[BoardVisit]) -> list[str]:
    """One note naming the visits whose address safety notes are past review (still applied)."""
    due = [
        f"{visit.ref or visit.id} ({note.category}, {note.level}, due {note.review_on})"
        for visit in visits
        for note in visit.safety_notes
        if note.review_due
    ]
    if not due:
        return []
    more = f" and {len(due) - 5} more" if len(due) > 5 else ""
    return [f"safety: notes past their review date, still applied: {', '.join(due[:5])}{more}"]


def replan(
    board: Board,
    roster: list[RosterClinician],
    now: datetime,
    settings: RoutingSettings,
    progress: Progress | None = None,
) -> Replan:
    """A new plan for the rest of the day, visits under way kept where they are."""
    say = progress or (lambda _step: None)
    zone = ZoneInfo(board.timezone)
    here = _local(now, zone)
    say("inputs")
    fixed: dict[str, list[tuple[BoardVisit, datetime, datetime]]] = {}
    open_visits: list[Visit] = []
    unassigned: list[dict[str, str]] = []
    for visit in day_visits(board):
        if is_fixed(visit):
            fixed.setdefault(visit.clinician_id or "", []).append(
                (visit, *fixed_times(visit, zone))
            )
        elif visit.status == "cancelled":
            continue
        elif visit.lat is None or visit.lon is None:
            unassigned.append({"visit_id": str(visit.id), "reason": "the address has no map point"})
        else:
            open_visits.append(_planning_visit(visit, zone))
    result = Replan(plan={}, fixed=[str(v.id) for items in fixed.values() for v, _, _ in items])
    result.notes += review_notes([v for v in day_visits(board) if v.status != "cancelled"])
    clinicians = []
    for entry in roster:
        rest = _rest_of_day(roster_clinician(entry), fixed.get(entry.id, []), here)
        if rest is None:
            result.notes.append(f"{entry.id}: no time left in the shift")
        else:
            clinicians.append(rest)
    say("solve")
    doc = _solve(open_visits, clinicians, settings, board.scheduled_on, unassigned)
    say("merge")
    _merge_fixed(doc, fixed)
    doc["notes"] = [*doc.get("notes", []), *result.notes]
    if result.fixed:
        doc["notes"].append(f"{len(result.fixed)} visits under way kept with their clinician")
    doc["notes"].append("ketamine stock is checked by the server at publish")
    result.plan = doc
    return result


def _solve(
    visits: list[Visit],
    clinicians: list[Clinician],
    settings: RoutingSettings,
    day: date,
    unassigned: list[dict[str, str]],
) -> dict[str, Any]:
    if not visits or not clinicians:
        reason = "no clinician has time left today" if visits else ""
        left = [{"visit_id": v.id, "reason": reason} for v in visits]
        return {
            "schema": "fieldapp.plan/1",
            "date": day.isoformat(),
            "solver": "",
            "routes": [],
            "unassigned": left + unassigned,
            "totals": {},
            "input_problems": [],
            "notes": [],
        }
    places = {v.id: v.place for v in visits if v.place}
    for c in clinicians:
        if c.start:
            places.setdefault(c.start_place, c.start)
        if c.end:
            places.setdefault(c.end_place, c.end)
    plan = plan_day(visits, clinicians, estimate_matrix(places, settings.travel), settings, day)
    doc = plan.to_json()
    doc["unassigned"] += unassigned
    return doc


def _merge_fixed(
    doc: dict[str, Any], fixed: dict[str, list[tuple[BoardVisit, datetime, datetime]]]
) -> None:
    """Put the visits under way first in their clinician's route, renumber, redo totals."""
    routes = {route["clinician_id"]: route for route in doc["routes"]}
    for clinician, items in fixed.items():
        stops = [
            {
                "seq": 0,
                "visit_id": str(visit.id),
                "place": str(visit.id),
                "arrival": _iso(start),
                "start": _iso(start),
                "end": _iso(end),
                "drive_km": 0.0,
                "drive_min": 0.0,
                "fixed": True,
            }
            for visit, start, end in sorted(items, key=lambda item: item[1])
        ]
        route = routes.get(clinician)
        if route is None:
            route = {
                "clinician_id": clinician,
                "depart": stops[0]["start"],
                "arrive_end": stops[-1]["end"],
                "drive_km": 0.0,
                "drive_min": 0.0,
                "break": None,
                "stops": [],
                "end_drive_km": 0.0,
                "end_drive_min": 0.0,
            }
            routes[clinician] = route
            doc["routes"].append(route)
        else:
            route["depart"] = min(route["depart"], stops[0]["start"])
        route["stops"] = stops + route["stops"]
    for route in doc["routes"]:
        for seq, stop in enumerate(route["stops"], start=1):
            stop["seq"] = seq
    used = [r for r in doc["routes"] if r["stops"]]
    doc["totals"] = {
        "drive_km": round(sum(r["drive_km"] for r in used), 2),
        "drive_min": round(sum(r["drive_min"] for r in used), 1),
        "visits_planned": sum(len(r["stops"]) for r in used),
        "visits_unassigned": len(doc["unassigned"]),
        "clinicians_used": len(used),
    }


def roster_from_csv(
    path: Path, day: date, settings: RoutingSettings, geocoder: AddressGeocoder | None = None
) -> tuple[list[RosterClinician], list[InputProblem]]:
    """The clinicians of `clinicians.csv` as a roster, and a problem per bad row: the rows
    `fieldapp plan` would skip are skipped here too, and reported the same way."""
    clinicians, problems = read_day_clinicians(path, day, settings, geocoder)
    roster = []
    for c in clinicians:
        assert c.start is not None and c.end is not None  # found, or reported as a problem
        roster.append(
            RosterClinician(
                id=c.id,
                name=c.name,
                start_place=c.start_place,
                end_place=c.end_place,
                start_lat=c.start.lat,
                start_lon=c.start.lon,
                end_lat=c.end.lat,
                end_lon=c.end.lon,
                shift_start=c.shift_start,
                shift_end=c.shift_end,
                skills=sorted(c.skills),
                stock_mg=None if c.stock_cmg is None else c.stock_cmg / CMG_PER_MG,
                max_visits=c.max_visits,
                escort=c.escort,
                break_min=c.lunch.minutes if c.lunch else None,
                break_earliest=c.lunch.earliest if c.lunch else None,
                break_latest=c.lunch.latest if c.lunch else None,
            )
        )
    return roster, problems
