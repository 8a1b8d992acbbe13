"""The synthetic Seattle-area day: believable, deterministic and obviously fake."""

from __future__ import annotations

import json
from datetime import date

from fieldapp.cli import main
from fieldapp.demo.seattle import demo_day
from sync.records import parse_record

DAY = date(2026, 11, 22)


def test_same_seed_and_date_give_the_same_day() -> None:
    assert demo_day(DAY).visits == demo_day(DAY).visits
    assert demo_day(DAY).patients != demo_day(date(2026, 11, 23)).patients


def test_day_has_the_promised_shape() -> None:
    day = demo_day(DAY)
    assert len(day.clinicians) == 8
    assert len(day.patients) == 30
    assert {v.patient_id for v in day.visits} == {p.id for p in day.patients}
    assert {v.clinician_id for v in day.visits} == {c.id for c in day.clinicians}
    assert any(p.safety_flags for p in day.patients)
    assert any(v.course.booster for v in day.visits)
    assert any(v.course.number == 1 and not v.course.booster for v in day.visits)
    for patient in day.patients:
        assert patient.phone.split()[-1].startswith("555-01")  # fiction-reserved numbers
        assert 47.2 < (patient.address.lat or 0) < 47.9  # Seattle area


def test_route_order_follows_windows() -> None:
    day = demo_day(DAY)
    for clinician in day.clinicians:
        visits = day.visits_for(clinician.id)
        starts = [v.window_start for v in visits]
        assert starts == sorted(starts)


def test_cli_writes_records_that_parse_back(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "day.json"
    assert main(["demo-data", "--date", DAY.isoformat(), "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert len(data["visits"]) == 30
    for visit in data["visits"]:
        parse_record("visit", visit)
    for patient in data["patients"]:
        parse_record("patient", patient)


def test_no_dose_of_the_demo_goes_above_the_protocols_session_caps() -> None:
    from fieldapp.services.engine import protocol

    dosing = protocol().dosing
    for day in (DAY, date(2026, 3, 10), date(2027, 1, 5)):
        demo = demo_day(day)
        doses = [
            (float(s.dose_mg or 0), s.weight_kg or p.weight_kg or 0)
            for p in demo.patients
            for s in p.past_sessions
        ]
        weights = {p.id: p.weight_kg or 0 for p in demo.patients}
        doses += [(v.planned_dose_mg or 0, weights[v.patient_id]) for v in demo.visits]
        assert doses
        for dose, weight in doses:
            assert dose <= float(dosing.session_cap_mg)
            assert dose <= float(dosing.session_cap_mg_per_kg) * weight
