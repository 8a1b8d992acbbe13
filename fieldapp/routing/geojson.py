"""A plan as GeoJSON: a LineString per route and a Point per stop, for any map tool."""

from __future__ import annotations

from typing import Any

from fieldapp.routing.model import Clinician, Place, Plan


def _point(place: Place) -> list[float]:
    return [round(place.lon, 6), round(place.lat, 6)]  # GeoJSON is lon, lat


def plan_geojson(
    plan: Plan, places: dict[str, Place], clinicians: list[Clinician]
) -> dict[str, Any]:
    """FeatureCollection of routes, stops and unassigned visits (ids only, no patient data)."""
    by_id = {clinician.id: clinician for clinician in clinicians}
    features: list[dict[str, Any]] = []
    for route in plan.routes:
        clinician = by_id[route.clinician_id]
        path = [clinician.start_place, *(s.visit_id for s in route.stops), clinician.end_place]
        line = [_point(places[p]) for p in path if p in places]
        if len(line) >= 2:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "LineString", "coordinates": line},
                    "properties": {
                        "kind": "route",
                        "clinician_id": route.clinician_id,
                        "visits": len(route.stops),
                        "drive_km": round(route.drive_km, 2),
                        "drive_min": round(route.drive_min, 1),
                    },
                }
            )
        for seq, stop in enumerate(route.stops, start=1):
            if stop.visit_id in places:
                features.append(
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": _point(places[stop.visit_id])},
                        "properties": {
                            "kind": "stop",
                            "clinician_id": route.clinician_id,
                            "seq": seq,
                            "visit_id": stop.visit_id,
                            "arrival": stop.arrival.isoformat(timespec="minutes"),
                            "start": stop.start.isoformat(timespec="minutes"),
                            "end": stop.end.isoformat(timespec="minutes"),
                        },
                    }
                )
    for left in plan.unassigned:
        if left.visit_id in places:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": _point(places[left.visit_id])},
                    "properties": {
                        "kind": "unassigned",
                        "visit_id": left.visit_id,
                        "reason": left.reason,
                    },
                }
            )
    return {"type": "FeatureCollection", "features": features}
