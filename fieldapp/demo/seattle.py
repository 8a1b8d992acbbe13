"""A believable synthetic Seattle-area day: 8 clinicians, 30 patients, one visit each.

Deterministic for a seed and a date, so tests, benchmarks and the demo see the same day.
Names, phones and house numbers are invented; diagnoses, histories and flags follow
CLINICAL.md so every rule of the protocol has someone to fire on.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from fieldapp.demo.places import CLINIC, STREETS, Street
from sync.records import (
    Address,
    CoursePosition,
    Diagnosis,
    PastSession,
    PatientSummary,
    Visit,
)

SEATTLE = ZoneInfo("America/Los_Angeles")
NAMESPACE = uuid.UUID("6f1c2a3e-4b5d-4e6f-8a9b-0c1d2e3f4a5b")

FIRST_NAMES = (
    "Avery",
    "Jordan",
    "Morgan",
    "Rowan",
    "Quinn",
    "Harper",
    "Emerson",
    "Finley",
    "Sawyer",
    "Reese",
    "Marlowe",
    "Tobias",
    "Ingrid",
    "Soren",
    "Delphine",
    "Cosmo",
    "Linnea",
    "Thaddeus",
    "Octavia",
    "Ambrose",
    "Wren",
    "Ezra",
    "Juniper",
    "Lucian",
    "Maren",
    "Silas",
    "Odile",
    "Fenwick",
    "Isolde",
    "Bertram",
)
LAST_NAMES = (
    "Quillfeather",
    "Thornbury",
    "Ashdown",
    "Penhallow",
    "Marchbank",
    "Fairweather",
    "Holloway",
    "Kestrel",
    "Wintergreen",
    "Larkspur",
    "Blackwood",
    "Everleigh",
    "Brightwater",
    "Stonebridge",
    "Harrowgate",
    "Oakenshaw",
    "Pemberton",
    "Silverthorn",
    "Rainsford",
    "Underhill",
    "Westbrook",
    "Cobblestone",
    "Moorcroft",
    "Fenwright",
    "Galloway",
    "Hawthorne",
    "Ironside",
    "Juniperfield",
    "Kingsley",
    "Lindqvist",
)

DIAGNOSES = (
    Diagnosis(code="G90.51", name="CRPS type I, right upper limb", evidence="B"),
    Diagnosis(code="G90.52", name="CRPS type I, left lower limb", evidence="B"),
    Diagnosis(code="G54.6", name="Phantom limb syndrome with pain", evidence="D"),
    Diagnosis(code="M79.7", name="Fibromyalgia", evidence="D"),
    Diagnosis(code="G62.9", name="Peripheral neuropathic pain", evidence="D"),
    Diagnosis(code="G89.3", name="Neoplasm-related chronic pain", evidence="D"),
    Diagnosis(code="G82.20", name="Spinal cord injury pain", evidence="C"),
    Diagnosis(code="B02.29", name="Postherpetic neuralgia", evidence="D"),
)
DEPRESSION = Diagnosis(
    code="F33.1", name="Major depressive disorder, recurrent, moderate", evidence="none"
)

MEDICATIONS = (
    "gabapentin 300 mg TID",
    "duloxetine 60 mg daily",
    "pregabalin 75 mg BID",
    "amitriptyline 25 mg nightly",
    "sertraline 100 mg daily",
    "lisinopril 10 mg daily",
    "levothyroxine 50 mcg daily",
    "naproxen 500 mg BID PRN",
    "lamotrigine 100 mg daily",
)
CONDITIONS = (
    "hypertension",
    "hypothyroidism",
    "controlled glaucoma",
    "history of psychosis",
    "moderate hepatic disease",
    "asthma",
    "type 2 diabetes",
)
ALLERGIES = ("penicillin", "sulfa drugs", "latex", "codeine")
SAFETY_FLAGS = (
    "aggressive dog on premises",
    "escort required",
    "stairs, no elevator",
    "poor phone signal",
    "other adult occupants",
    "street parking only",
)


@dataclass(frozen=True)
class Clinician:
    """A field clinician: skills, languages, shift and where the day starts."""

    id: str
    name: str
    skills: tuple[str, ...]
    shift_start: time
    shift_end: time
    stock_mg: int
    max_visits: int
    start: Street = CLINIC


@dataclass
class DemoDay:
    """One synthetic day: who works, who is seen, and the visits that join them."""

    day: date
    clinicians: list[Clinician] = field(default_factory=list)
    patients: list[PatientSummary] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)

    def visits_for(self, clinician_id: str) -> list[Visit]:
        """One clinician's visits in route order."""
        mine = [v for v in self.visits if v.clinician_id == clinician_id]
        return sorted(mine, key=lambda v: (v.route_order or 0, v.window_start))


CLINICIANS = (
    Clinician(
        "c01", "Dr. Ada Vantreight", ("MD", "RN", "lang:es", "lic:WA"), time(8), time(17), 400, 4
    ),
    Clinician("c02", "Noor Calloway, NP", ("NP", "RN", "lic:WA"), time(8), time(17), 400, 4),
    Clinician("c03", "Bram Oyelaran, RN", ("RN", "lic:WA"), time(7, 30), time(16, 30), 300, 4),
    Clinician("c04", "Kit Lowenstam, RN", ("RN", "lang:vi", "lic:WA"), time(9), time(18), 300, 4),
    Clinician(
        "c05", "Dr. Imre Fasbinder", ("MD", "RN", "lic:WA", "escort"), time(8), time(17), 400, 4
    ),
    Clinician(
        "c06", "Sunniva Rask, NP", ("NP", "RN", "lang:so", "lic:WA"), time(8), time(16), 300, 4
    ),
    Clinician("c07", "Teo Marchetti, RN", ("RN", "lic:WA"), time(10), time(19), 300, 4),
    Clinician("c08", "Pia Okonkwo-Lind, NP", ("NP", "RN", "lic:WA"), time(8), time(17), 400, 4),
)


def stable_id(*parts: object) -> uuid.UUID:
    """A UUID that is the same for the same parts, so re-seeding gives the same records."""
    return uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts))


def _name(index: int) -> str:
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    last = LAST_NAMES[(index * 7) % len(LAST_NAMES)]
    return f"{first} {last}"


def _phone(rng: random.Random) -> str:
    # 555-01xx numbers are reserved for fiction.
    area = rng.choice(("206", "425", "253"))
    return f"({area}) 555-01{rng.randrange(100):02d}"


def _patient(rng: random.Random, index: int, street: Street, day: date) -> PatientSummary:
    age = rng.randrange(24, 79)
    birth = date(day.year - age, rng.randrange(1, 13), rng.randrange(1, 29))
    diagnoses = [rng.choice(DIAGNOSES)]
    if rng.random() < 0.45:
        diagnoses.append(DEPRESSION)
    completed = rng.choice((0, 0, 1, 2, 3, 4, 5, 6, 8, 11))
    weight = round(rng.uniform(48, 128), 1)
    height = round(rng.uniform(152, 193), 0)
    sessions = _past_sessions(rng, completed, day, weight)
    flags = rng.sample(SAFETY_FLAGS, k=rng.choice((0, 0, 0, 1, 1, 2)))
    conditions = rng.sample(CONDITIONS, k=rng.choice((0, 0, 1, 1, 2)))
    sex = rng.choice(("female", "female", "male", "male", "other"))
    sessions = [
        s.model_copy(update={"dose_mg": session_dose(s.weight_kg or weight, height, sex)})
        for s in sessions
    ]
    return PatientSummary(
        id=stable_id("patient", index),
        display_name=_name(index),
        date_of_birth=birth,
        sex=sex,
        phone=_phone(rng),
        address=Address(
            street=f"{rng.randrange(100, 9899)} {street.street}",
            unit=rng.choice((None, None, None, f"Apt {rng.randrange(1, 40)}")),
            city=street.city,
            state="WA",
            postal_code=street.postal_code,
            lat=round(street.lat + rng.uniform(-0.004, 0.004), 6),
            lon=round(street.lon + rng.uniform(-0.004, 0.004), 6),
        ),
        safety_flags=flags,
        diagnoses=diagnoses,
        conditions=conditions,
        medications=rng.sample(MEDICATIONS, k=rng.randrange(1, 4)),
        allergies=rng.sample(ALLERGIES, k=rng.choice((0, 0, 1))),
        weight_kg=weight,
        height_cm=height,
        last_ecg_on=day - timedelta(days=rng.randrange(20, 500)) if rng.random() < 0.6 else None,
        last_lft_on=day - timedelta(days=rng.randrange(5, 120)) if rng.random() < 0.4 else None,
        infusions_completed=completed,
        baseline_pain_nrs=rng.randrange(5, 10),
        baseline_phq9=rng.randrange(3, 24),
        past_sessions=sessions,
    )


# The demo's usual chronic-pain order (synthetic data, not a clinical setting). The engine
# doses it with the shipped protocol, so no session of the demo goes above its caps.
USUAL_ORDER = {"kind": "infusion_rate", "mg_per_kg_per_h": Decimal("0.5"), "duration_min": 240}


def session_dose(weight: float, height: float, sex: str) -> float:
    """The usual order as the engine doses it for this patient (capped, never above)."""
    # Imported here: what only needs the demo's zone or places does not load the engine.
    from fieldapp.clinical.dosing import DoseInput, DoseOrder, compute_dose
    from fieldapp.services import engine

    protocol = engine.protocol()
    data = DoseInput(
        weight_kg=Decimal(str(weight)),
        height_cm=Decimal(str(height)),
        sex=sex if sex in ("female", "male") else "female",  # type: ignore[arg-type]
        order=DoseOrder.model_validate(USUAL_ORDER),
        vial_mg_per_ml=Decimal(10),
        vial_ml=Decimal(20),
    )
    result = compute_dose(data, protocol)
    dose = result.numbers.get("dose_mg") or result.numbers["session_cap_mg"]
    step = protocol.dosing.dose_rounding_mg
    return float((Decimal(str(dose)) // step) * step)


def _past_sessions(rng: random.Random, count: int, day: date, weight: float) -> list[PastSession]:
    """Earlier sessions, their doses left for the engine (see `session_dose`)."""
    sessions = []
    pain = rng.randrange(6, 10)
    phq9 = rng.randrange(6, 22)
    for n in range(count):
        on = day - timedelta(days=3 * (count - n) + rng.randrange(0, 2))
        pain = max(0, min(10, pain - rng.choice((0, 0, 1, 1, 2)) + rng.choice((0, 0, 1))))
        phq9 = max(0, min(27, phq9 - rng.choice((0, 1, 2, 3))))
        sessions.append(
            PastSession(
                on=on,
                pain_nrs_before=pain,
                pain_nrs_after=max(0, pain - rng.randrange(1, 4)),
                phq9_total=phq9,
                weight_kg=round(weight + rng.uniform(-1.5, 1.5), 1),
            )
        )
    return sessions


def _visit(
    rng: random.Random, patient: PatientSummary, clinician: Clinician, order: int, day: date
) -> Visit:
    start_hour = clinician.shift_start.hour + 2 * order
    window_start = datetime.combine(day, time(min(start_hour, 16), rng.choice((0, 30))), SEATTLE)
    first = patient.infusions_completed == 0
    course_number = patient.infusions_completed + 1
    booster = course_number > 6
    return Visit(
        id=stable_id("visit", day, patient.id),
        patient_id=patient.id,
        clinician_id=clinician.id,
        scheduled_on=day,
        window_start=window_start,
        window_end=window_start + timedelta(hours=1),
        duration_min=150 if first else 120,
        address=patient.address,
        course=CoursePosition(
            number=course_number - 6 if booster else course_number, of=6, booster=booster
        ),
        safety_flags=list(patient.safety_flags),
        route_order=order + 1,
        eta=window_start + timedelta(minutes=rng.randrange(0, 30)),
        planned_dose_mg=session_dose(
            patient.weight_kg or 70, patient.height_cm or 170, patient.sex
        ),
    )


def demo_day(day: date, seed: int = 2026, patients: int = 30) -> DemoDay:
    """The synthetic day for `day`: same seed and date, same records."""
    rng = random.Random(f"{seed}-{day.isoformat()}")
    result = DemoDay(day=day, clinicians=list(CLINICIANS))
    streets = list(STREETS)
    rng.shuffle(streets)
    for index in range(patients):
        result.patients.append(_patient(rng, index, streets[index % len(streets)], day))
    for index, patient in enumerate(result.patients):
        clinician = CLINICIANS[index % len(CLINICIANS)]
        result.visits.append(_visit(rng, patient, clinician, index // len(CLINICIANS), day))
    return result
