"""Hypothesis strategies for every record kind, built field by field from the schemas' bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from sync.clinical_record import Allergy, ClinicalRecord, LabResult, Problem
from sync.records import (
    Addendum,
    Address,
    Approval,
    ChecklistSubmission,
    ClinicianProfile,
    ClosedVial,
    CoursePosition,
    DayClosure,
    Diagnosis,
    DoseAdministration,
    DoseOrder,
    DutyDue,
    Incident,
    PastSession,
    PatientSummary,
    ProtocolDocument,
    Reason,
    Record,
    RecoveryRecord,
    SessionNote,
    ShiftCheck,
    StatusEvent,
    SubstanceEvent,
    Task,
    TaskUpdate,
    Visit,
    VitalsReading,
)

# Letters, digits, punctuation, symbols (any script) with inner spaces; no edge whitespace,
# so ShortText's strip never changes the value.
_chars = st.characters(codec="utf-8", categories=["L", "N", "P", "S"])
short = st.builds(
    lambda a, b: f"{a} {b}" if b else a,
    st.text(_chars, min_size=1, max_size=30),
    st.one_of(st.none(), st.text(_chars, min_size=1, max_size=20)),
)
# Any text a record may hold: everything UTF-8 can carry but NUL (records refuse it).
_storable = st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="\x00")
long_text = st.text(_storable, max_size=400)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)
days = st.dates(min_value=date(1900, 1, 1), max_value=date(2090, 1, 1))


def floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


def opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def small_list(strategy: st.SearchStrategy[Any], size: int = 3) -> st.SearchStrategy[list[Any]]:
    return st.lists(strategy, max_size=size)


@st.composite
def addresses(draw: st.DrawFn) -> Address:
    located = draw(st.booleans())
    return Address(
        street=draw(short),
        unit=draw(opt(st.text(_chars, max_size=50))),
        city=draw(short),
        state=draw(st.from_regex(r"\A[A-Z]{2}\Z")),
        postal_code=draw(st.from_regex(r"\A[0-9]{5}(-[0-9]{4})?\Z")),
        lat=draw(floats(-90, 90)) if located else None,
        lon=draw(floats(-180, 180)) if located else None,
    )


@st.composite
def courses(draw: st.DrawFn) -> CoursePosition:
    of = draw(st.integers(1, 100))
    booster = draw(st.booleans())
    number = draw(st.integers(1, 100 if booster else of))
    return CoursePosition(number=number, of=of, booster=booster)


reasons = st.builds(
    Reason,
    rule_id=short,
    outcome=short,
    message=st.text(_storable, max_size=200),
    measured=opt(short),
    threshold=opt(short),
    setting=opt(short),
)

_partial_dates = st.builds(
    lambda d, precision: d.isoformat()[:precision], days, st.sampled_from([4, 7, 10])
)
clinical_records = st.builds(
    ClinicalRecord,
    problems=small_list(
        st.builds(
            Problem,
            text=short,
            code_system=opt(st.sampled_from(["snomed", "icd10cm"])),
            code=opt(st.from_regex(r"\A[A-Z0-9.]{1,8}\Z")),
            status=st.sampled_from(["active", "history", "controlled", "resolved"]),
            onset=opt(_partial_dates),
        )
    ),
    allergies=small_list(
        st.builds(Allergy, substance=short, severity=st.sampled_from(["mild", "severe"]))
    ),
    labs=small_list(
        st.builds(
            LabResult,
            test=short,
            value=opt(floats(0, 100_000)),
            upper_limit_normal=opt(floats(0.1, 100_000)),
            taken_on=days,
        )
    ),
    ecg_on=opt(days),
)

patients = st.builds(
    PatientSummary,
    id=st.uuids(),
    version=st.integers(1, 10_000),
    display_name=short,
    date_of_birth=days,
    sex=st.sampled_from(["female", "male", "other", "unknown"]),
    phone=st.from_regex(r"\A[0-9+() .-]{7,25}\Z"),
    address=addresses(),
    safety_flags=small_list(short),
    diagnoses=small_list(
        st.builds(Diagnosis, code=short, name=short, evidence=st.sampled_from("BCD"))
    ),
    conditions=small_list(short),
    medications=small_list(short),
    allergies=small_list(short),
    weight_kg=opt(floats(0.1, 500)),
    height_cm=opt(floats(50, 260)),
    last_ecg_on=opt(days),
    infusions_completed=st.integers(0, 1000),
    baseline_phq9=opt(st.integers(0, 27)),
    past_sessions=small_list(
        st.builds(PastSession, on=days, pain_nrs_before=opt(st.integers(0, 10)))
    ),
    record=opt(clinical_records),
)


@st.composite
def visits(draw: st.DrawFn) -> Visit:
    start = draw(moments)
    return Visit(
        id=draw(st.uuids()),
        version=draw(st.integers(1, 10_000)),
        patient_id=draw(st.uuids()),
        clinician_id=draw(short),
        scheduled_on=start.date(),
        window_start=start,
        window_end=start + draw(st.timedeltas(timedelta(0), timedelta(hours=12))),
        duration_min=draw(st.integers(10, 600)),
        address=draw(addresses()),
        course=draw(courses()),
        safety_flags=draw(small_list(short)),
        route_order=draw(opt(st.integers(0, 100))),
        eta=draw(opt(moments)),
        planned_dose_mg=draw(opt(floats(0, 1000))),
        status=draw(st.sampled_from(["scheduled", "cancelled"])),
    )


def device_fields() -> dict[str, st.SearchStrategy[Any]]:
    """Strategies for the fields every device record has."""
    return {
        "id": st.uuids(),
        "patient_id": st.uuids(),
        "visit_id": opt(st.uuids()),
        "recorded_at": moments,
        "recorded_by": short,
    }


@st.composite
def status_events(draw: st.DrawFn) -> StatusEvent:
    status = draw(
        st.sampled_from(
            [
                "en_route",
                "arrived",
                "infusion_started",
                "infusion_ended",
                "checked_out",
                "check_in",
                "declined",
                "duress",
            ]
        )
    )
    evv = status in ("arrived", "checked_out")
    located = draw(st.booleans())
    return StatusEvent(
        **draw(st.fixed_dictionaries(device_fields())),
        status=status,
        at=draw(moments),
        service_type=draw(short) if evv else draw(opt(short)),
        lat=draw(floats(-90, 90)) if located else None,
        lon=draw(floats(-180, 180)) if located else None,
        location_attested=not located or draw(st.booleans()),
        note=draw(opt(st.text(_storable, max_size=200))),
    )


answers = st.dictionaries(
    st.text(_storable, max_size=20),
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-1000, 1000),
        floats(-1e6, 1e6),
        st.text(_storable, max_size=40),
    ),
    max_size=6,
)


@st.composite
def checklists(draw: st.DrawFn) -> ChecklistSubmission:
    decision = draw(
        st.sampled_from(["proceed", "proceed_with_flags", "hold", "hard_stop", "emergency"])
    )
    approvable = decision not in ("hard_stop", "emergency")
    approval = (
        draw(opt(st.builds(Approval, prescriber=short, note=short, approved_at=moments)))
        if approvable
        else None
    )
    return ChecklistSubmission(
        **draw(st.fixed_dictionaries(device_fields())),
        template=draw(st.from_regex(r"\A[a-z0-9][a-z0-9_.-]{0,20}@[0-9]{1,3}\Z")),
        answers=draw(answers),
        decision=decision,
        reasons=draw(small_list(reasons)),
        approval=approval,
    )


@st.composite
def vitals(draw: st.DrawFn) -> VitalsReading:
    systolic = draw(opt(st.integers(50, 300)))
    diastolic = draw(opt(st.integers(20, min(200, systolic - 1) if systolic else 200)))
    return VitalsReading(
        **draw(st.fixed_dictionaries(device_fields())),
        phase=draw(st.sampled_from(["pre", "during", "post"])),
        taken_at=draw(moments),
        systolic_mmhg=systolic,
        diastolic_mmhg=diastolic,
        heart_rate_bpm=draw(opt(st.integers(20, 250))),
        spo2_pct=draw(opt(st.integers(50, 100))),
        resp_rate_per_min=draw(opt(st.integers(0, 60))),
        temperature_c=draw(opt(floats(30, 45))),
        rass=draw(opt(st.integers(-5, 4))),
        symptoms=draw(small_list(short)),
        on_oxygen=draw(st.booleans()),
        judgement=draw(opt(st.sampled_from(["continue", "pause", "stop", "emergency"]))),
        reasons=draw(small_list(reasons, 2)),
    )


def _device(model: type[Record], **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Record]:
    return st.builds(model, **device_fields(), **fields)


dose_orders = _device(
    DoseOrder,
    prescriber=short,
    mode=st.sampled_from(["bolus", "infusion_rate", "infusion_total", "depression_template"]),
    weight_kg=floats(0.1, 500),
    height_cm=opt(floats(50, 260)),
    dosing_weight_kg=floats(0.1, 500),
    mg_per_kg=opt(floats(0.01, 20)),
    duration_min=opt(st.integers(1, 1440)),
    dose_mg=floats(0, 2000),
    vial_concentration_mg_per_ml=floats(0.1, 100),
    draw_ml=floats(0, 200),
    double_checked_by=short,
    warnings=small_list(reasons, 2),
)
dose_admins = _device(
    DoseAdministration,
    order_id=st.uuids(),
    vial_id=short,
    started_at=moments,
    ended_at=opt(moments),
    dose_mg=floats(0, 2000),
    volume_ml=floats(0, 200),
    stopped_early=st.booleans(),
    stop_reason=opt(st.text(_storable, max_size=200)),
)
substances = _device(
    SubstanceEvent,
    event=st.sampled_from(["receipt", "checkout", "draw", "administration", "waste", "count"]),
    vial_id=short,
    at=moments,
    concentration_mg_per_ml=floats(0.1, 100),
    fill_ml=opt(floats(0.1, 100)),
    lot=opt(st.text(_storable, max_size=50)),
    mg=floats(0, 10_000),
    ml=floats(0, 100),
    witness=opt(short),
    note=opt(st.text(_storable, max_size=200)),
)
day_closures = _device(
    DayClosure,
    day=days,
    closed_at=moments,
    vials=small_list(
        st.builds(
            ClosedVial,
            vial_id=short,
            status=st.sampled_from(["balanced", "overage", "incomplete", "discrepancy"]),
        )
    ),
    duties=small_list(st.builds(DutyDue, kind=short, due=days)),
)
recoveries = _device(
    RecoveryRecord,
    assessed_at=moments,
    aldrete=st.integers(0, 10),
    padss=st.integers(0, 10),
    oriented_x3=st.booleans(),
    gait_steady=st.booleans(),
    responsible_adult=opt(short),
    decision=st.sampled_from(["cleared", "not_cleared"]),
    missing=small_list(short),
    next_day_call_on=opt(days),
)
signed_notes = _device(
    SessionNote,
    status=st.just("signed"),
    subjective=long_text,
    objective=long_text,
    assessment=long_text,
    plan=long_text,
    signed_at=moments,
    signed_by=short,
)
addenda = _device(Addendum, note_id=st.uuids(), text=st.text(_storable, min_size=1, max_size=400))
incidents = _device(
    Incident,
    category=st.sampled_from(["ledger_discrepancy", "adverse_event", "safety", "duress", "other"]),
    severity=st.sampled_from(["low", "moderate", "high", "critical"]),
    occurred_at=moments,
    description=st.text(_storable, min_size=1, max_size=400),
    vial_id=opt(st.text(_storable, max_size=50)),
)
tasks = _device(
    Task,
    action=st.from_regex(r"\A[a-z0-9_]{1,60}\Z"),
    owner=st.sampled_from(["clinician", "prescriber", "supervisor"]),
    text=st.text(_storable, min_size=1, max_size=200),
    rule_id=short,
    due_at=moments,
    escalates=opt(st.uuids()),
)
task_updates = _device(
    TaskUpdate,
    task_id=st.uuids(),
    status=st.sampled_from(["acknowledged", "done", "overdue"]),
    at=moments,
    note=opt(st.text(_storable, max_size=200)),
)
protocol_docs = st.builds(
    ProtocolDocument,
    id=st.uuids(),
    version=st.integers(1, 10_000),
    name=st.from_regex(r"\A[a-z0-9][a-z0-9_.-]{0,30}\Z"),
    doc_version=st.integers(1, 1000),
    content_toml=long_text,
)

clinician_profiles = st.builds(
    ClinicianProfile,
    id=st.uuids(),
    version=st.integers(1, 10_000),
    clinician_id=short,
    acls_expires=opt(days),
    licence_active=st.booleans(),
    licence_expires=opt(days),
    prescriber=opt(short),
    prescriber_dea_states=small_list(st.from_regex(r"\A[A-Z]{2}\Z")),
    updated_by=short,
    updated_at=moments,
)
shift_checks = st.builds(
    ShiftCheck,
    **{**device_fields(), "patient_id": st.none()},
    day=days,
    answers=answers,
    templates=small_list(st.from_regex(r"\A[a-z0-9][a-z0-9_.-]{0,20}@[0-9]{1,3}\Z")),
)

BY_KIND: dict[str, st.SearchStrategy[Any]] = {
    "patient": patients,
    "visit": visits(),
    "status": status_events(),
    "checklist": checklists(),
    "vitals": vitals(),
    "dose_order": dose_orders,
    "dose_admin": dose_admins,
    "substance": substances,
    "day_close": day_closures,
    "recovery": recoveries,
    "note": signed_notes,
    "addendum": addenda,
    "incident": incidents,
    "task": tasks,
    "task_update": task_updates,
    "protocol_doc": protocol_docs,
    "clinician_profile": clinician_profiles,
    "shift_check": shift_checks,
}
