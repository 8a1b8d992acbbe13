"""`fieldapp plan` end to end on the shipped Seattle examples (a fake geocoder, no network)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from fieldapp.cli import main
from fieldapp.commands.plan import run
from fieldapp.routing.geocode import AddressGeocoder, GeocodeCache
from fieldapp.routing.settings import GeocoderSettings

from .test_geocode import FakeGeocoder

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "examples"
VISITS = EXAMPLES / "seattle_visits.csv"
CLINICIANS = EXAMPLES / "seattle_clinicians.csv"


def test_plan_writes_json_and_geojson(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, geo = tmp_path / "plan.json", tmp_path / "plan.geojson"
    code = main(
        [
            "plan",
            "--visits",
            str(VISITS),
            "--clinicians",
            str(CLINICIANS),
            "--date",
            "2025-03-04",
            "--time-limit",
            "0.5",
            "--out",
            str(out),
            "--geojson",
            str(geo),
        ]
    )
    assert code == 0
    plan = json.loads(out.read_text())
    assert set(plan) >= {"routes", "unassigned", "totals"}
    assert set(plan["totals"]) >= {"drive_km", "drive_min", "visits_planned", "clinicians_used"}
    stops = [s for r in plan["routes"] for s in r["stops"]]
    assert plan["totals"]["visits_planned"] == len(stops)
    assert len(stops) + len(plan["unassigned"]) == 17
    assert {"arrival", "start", "end", "drive_km", "drive_min"} <= set(stops[0])
    reasons = {u["visit_id"]: u["reason"] for u in plan["unassigned"]}
    assert reasons["V15"] == "needs 320 mg but the most any clinician carries is 300 mg"
    assert reasons["V17"] == (
        "no clinician with skill lang:so is working today "
        "(skills held today: MD, NP, RN, lang:es, lang:vi, state:WA)"
    )
    assert "Demo Patient" not in out.read_text()  # the plan carries ids, not names
    shape = json.loads(geo.read_text())
    assert shape["type"] == "FeatureCollection"
    kinds = {f["geometry"]["type"] for f in shape["features"]}
    assert kinds == {"LineString", "Point"}
    lon, lat = shape["features"][0]["geometry"]["coordinates"][0]
    assert -123 < lon < -122 and 47 < lat < 48
    assert "Planned" in capsys.readouterr().out


def test_bad_rows_are_reported_and_the_rest_planned(tmp_path: Path) -> None:
    lines = VISITS.read_text().splitlines()
    lines[4] = lines[4].replace("08:00", "8 o'clock")  # V04, spreadsheet row 5
    visits = tmp_path / "visits.csv"
    visits.write_text("\n".join(lines) + "\n")
    out = tmp_path / "plan.json"
    main(
        [
            "plan",
            "--visits",
            str(visits),
            "--clinicians",
            str(CLINICIANS),
            "--date",
            "2025-03-04",
            "--time-limit",
            "0.3",
            "--out",
            str(out),
        ]
    )
    plan = json.loads(out.read_text())
    assert plan["input_problems"] == [
        {
            "file": "visits.csv",
            "row": 5,
            "column": "earliest",
            "problem": "is not HH:MM or an ISO datetime",
        }
    ]
    planned = [s["visit_id"] for r in plan["routes"] for s in r["stops"]]
    assert "V04" not in planned and len(planned) + len(plan["unassigned"]) == 16


def args(tmp_path: Path, visits: Path, **extra: object) -> argparse.Namespace:
    base = dict(
        visits=visits,
        clinicians=CLINICIANS,
        date=None,
        matrix=None,
        out=tmp_path / "plan.json",
        geojson=None,
        config=None,
        offline=False,
        solver="vroom",
        time_limit=0.3,
    )
    base.update(extra)
    return argparse.Namespace(**base)


def test_address_rows_are_geocoded_then_plan_offline_from_the_cache(tmp_path: Path) -> None:
    from datetime import date

    visits = EXAMPLES / "seattle_visits_addresses.csv"
    settings = GeocoderSettings(user_agent="tests", min_delay_s=0, error_wait_s=0, max_retries=0)
    fake = FakeGeocoder(
        {
            "4700 University Way NE, Seattle, WA 98105": (47.663, -122.313),
            "2300 Eastlake Ave E, Seattle, WA 98102": (47.642, -122.326),
        }
    )
    cache = GeocodeCache(tmp_path / "cache.sqlite")
    run(args(tmp_path, visits, date=date(2025, 3, 4)), AddressGeocoder(settings, cache, fake))
    plan = json.loads((tmp_path / "plan.json").read_text())
    reasons = {u["visit_id"]: u["reason"] for u in plan["unassigned"]}
    assert reasons == {"A03": "address could not be geocoded: address not found"}
    assert {s["visit_id"] for r in plan["routes"] for s in r["stops"]} == {"A01", "A02"}

    offline = FakeGeocoder({}, fail=OSError("no network"))
    run(
        args(tmp_path, visits, date=date(2025, 3, 4)),
        AddressGeocoder(settings, cache, offline, offline=True),
    )
    again = json.loads((tmp_path / "plan.json").read_text())
    assert {s["visit_id"] for r in again["routes"] for s in r["stops"]} == {"A01", "A02"}
    assert offline.calls == []


def test_user_matrix_replaces_the_estimate(tmp_path: Path) -> None:
    visits = tmp_path / "v.csv"
    visits.write_text(
        "id,patient,lat,lon,earliest,latest,duration_min\n"
        "V1,Demo Patient 01,47.6,-122.3,09:00,10:00,60\n"
    )
    clinicians = tmp_path / "c.csv"
    clinicians.write_text(
        "id,name,start_place,start_lat,start_lon,shift_start,shift_end,stock_mg\nC1,Demo,Clinic,47.59,-122.31,08:00,17:00,100\n"
    )
    matrix = tmp_path / "m.csv"
    matrix.write_text("from,to,minutes,km\nClinic,V1,25,12.5\nV1,Clinic,30,14\n")
    run(args(tmp_path, visits, clinicians=clinicians, matrix=matrix))
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert plan["totals"]["drive_km"] == 26.5 and plan["totals"]["drive_min"] == 55.0
