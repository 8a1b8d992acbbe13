"""The demo day as JSON, in the form `fieldapp server import-day` reads."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from fieldapp.demo.seattle import Clinician, DemoDay


def clinician_json(clinician: Clinician) -> dict[str, Any]:
    """One clinician as plain JSON: id, name, skills, shift, stock and start place."""
    data = asdict(clinician)
    data["skills"] = list(clinician.skills)
    data["shift_start"] = clinician.shift_start.isoformat(timespec="minutes")
    data["shift_end"] = clinician.shift_end.isoformat(timespec="minutes")
    data["start"] = clinician.start._asdict()
    return data


def day_json(day: DemoDay) -> dict[str, Any]:
    """The whole day: clinicians, patient summaries and visits, records in their JSON form."""
    return {
        "date": day.day.isoformat(),
        "clinicians": [clinician_json(c) for c in day.clinicians],
        "patients": [p.model_dump(mode="json") for p in day.patients],
        "visits": [v.model_dump(mode="json") for v in day.visits],
    }


def dumps(day: DemoDay) -> str:
    """The day as indented JSON text."""
    return json.dumps(day_json(day), indent=2, sort_keys=True)
