"""The record schemas the device and the clinic server share.

Each record kind has one owner (DESIGN.md, "Records: who owns what"):

- server-owned (`PatientSummary`, `Visit`, `ChecklistTemplateRef`): new versions come from
  the clinic; the device never edits them.
- device-owned (everything a clinician records): append only, a device-made UUID,
  immutable once written. A session note is the one record with a draft state; once
  signed it is frozen, and later changes are `Addendum` records.

Units are in field names (`weight_kg`, `spo2_pct`). The numeric bounds here are input
plausibility (a heart rate of 900 is a typo, not a patient); clinical thresholds live
in `config/protocol.toml`. Unknown fields are refused everywhere (`extra="forbid"`).
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    ValidationError,
    model_serializer,
    model_validator,
)

from sync.approvals import Answer as SignedAnswer
from sync.canonical import canonical_json
from sync.clinical_record import ClinicalRecord
from sync.text import Text

SCHEMA_VERSION = 1


ShortText = Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[Text, StringConstraints(max_length=20_000)]
TemplateRef = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*@[0-9]+$")]


class RecordInvalid(ValueError):
    """A record failed validation; the message names each bad field, never its content."""

    def __init__(self, kind: str, problems: list[str]) -> None:
        self.kind = kind
        self.problems = problems
        super().__init__(f"{kind}: " + "; ".join(problems))


class Owner(StrEnum):
    """Who may create new versions of a record kind."""

    SERVER = "server"
    DEVICE = "device"


class Strict(BaseModel):
    """A frozen model that refuses unknown fields, and NaN or infinity in any number (no
    measurement or answer is one; JSON cannot say them)."""

    # Built on first use: the app starts faster when most kinds are not touched at launch.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True, allow_inf_nan=False)


class Record(Strict):
    """Base of every synced record: an id, a schema version and a kind."""

    KIND: ClassVar[str]
    OWNER: ClassVar[Owner]

    schema_version: Literal[1] = 1
    id: UUID

    def canonical_json(self) -> bytes:
        """Deterministic JSON bytes of this record: the input of its content hash."""
        return self.json_and_canonical()[1]

    def json_and_canonical(self) -> tuple[dict[str, Any], bytes]:
        """This record's JSON form and its canonical bytes, made from it (for a caller that
        needs both, such as the server reading a pushed record's ids)."""
        as_json = self.model_dump(mode="json")
        return as_json, canonical_json(as_json)

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON, hex: the same id with another hash is a conflict."""
        return hashlib.sha256(self.canonical_json()).hexdigest()


class ServerRecord(Record):
    """A record the clinic owns; the device receives new versions and never edits them."""

    OWNER: ClassVar[Owner] = Owner.SERVER

    version: int = Field(1, ge=1)


class DeviceRecord(Record):
    """An append-only clinical fact recorded on a device by a clinician."""

    OWNER: ClassVar[Owner] = Owner.DEVICE

    patient_id: UUID
    visit_id: UUID | None = None
    recorded_at: datetime
    recorded_by: ShortText


# -- parts -------------------------------------------------------------------------------


class Address(Strict):
    """A street address with the coordinates used for routing and check-in."""

    street: ShortText
    unit: Text | None = Field(None, max_length=50)
    city: ShortText
    state: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    postal_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{5}(-[0-9]{4})?$")]
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both_coordinates_or_none(self) -> Address:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        return self


class CoursePosition(Strict):
    """Where a visit falls in a course: infusion 3 of 6, or a booster."""

    number: int = Field(ge=1, le=100)
    of: int = Field(ge=1, le=100)
    booster: bool = False

    @model_validator(mode="after")
    def _number_within_course(self) -> CoursePosition:
        if not self.booster and self.number > self.of:
            raise ValueError("number must not exceed the course size")
        return self

    def __str__(self) -> str:
        return f"booster {self.number}" if self.booster else f"{self.number} of {self.of}"


class Reason(Strict):
    """Why a decision came out as it did: rule, measured value, threshold and setting."""

    rule_id: ShortText
    outcome: ShortText
    message: Annotated[Text, StringConstraints(max_length=1000)]
    measured: Text | None = None
    threshold: Text | None = None
    setting: Text | None = None


class Diagnosis(Strict):
    """A diagnosis with the evidence tier of ketamine for it (CLINICAL.md §1.1)."""

    code: ShortText
    name: ShortText
    evidence: Literal["B", "C", "D", "none"] = "D"


class PastSession(Strict):
    """One earlier infusion of the course, as the clinic's record summarises it."""

    on: date
    pain_nrs_before: int | None = Field(None, ge=0, le=10)
    pain_nrs_after: int | None = Field(None, ge=0, le=10)
    phq9_total: int | None = Field(None, ge=0, le=27)
    dose_mg: float | None = Field(None, ge=0, le=2000)
    weight_kg: float | None = Field(None, gt=0, le=500)


# -- server-owned ------------------------------------------------------------------------


class PatientSummary(ServerRecord):
    """What a clinician needs to know about a patient before the visit."""

    KIND: ClassVar[str] = "patient"

    display_name: ShortText
    date_of_birth: date
    sex: Literal["female", "male", "other", "unknown"]
    phone: Annotated[str, StringConstraints(pattern=r"^[0-9+() .-]{7,25}$")]
    address: Address
    safety_flags: list[ShortText] = Field(default_factory=list, max_length=50)
    # Clinical fields: never shown to a dispatcher.
    diagnoses: list[Diagnosis] = Field(default_factory=list, max_length=50)
    conditions: list[ShortText] = Field(default_factory=list, max_length=100)
    medications: list[ShortText] = Field(default_factory=list, max_length=100)
    allergies: list[ShortText] = Field(default_factory=list, max_length=100)
    weight_kg: float | None = Field(None, gt=0, le=500)
    height_cm: float | None = Field(None, ge=50, le=260)
    last_ecg_on: date | None = None
    last_lft_on: date | None = None
    infusions_completed: int = Field(0, ge=0, le=1000)
    baseline_pain_nrs: int | None = Field(None, ge=0, le=10)
    baseline_phq9: int | None = Field(None, ge=0, le=27)
    past_sessions: list[PastSession] = Field(default_factory=list, max_length=500)
    # The clinic's structured record (problems, allergies, medications, labs, ECG, risk).
    record: ClinicalRecord | None = None

    CLINICAL_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {
            "diagnoses",
            "conditions",
            "medications",
            "allergies",
            "weight_kg",
            "height_cm",
            "last_ecg_on",
            "last_lft_on",
            "infusions_completed",
            "baseline_pain_nrs",
            "baseline_phq9",
            "past_sessions",
            "record",
            "date_of_birth",
            "sex",
        }
    )


class Visit(ServerRecord):
    """One scheduled home visit, as planned at the office."""

    KIND: ClassVar[str] = "visit"

    patient_id: UUID
    clinician_id: ShortText
    scheduled_on: date
    window_start: datetime
    window_end: datetime
    duration_min: int = Field(ge=10, le=600)
    address: Address
    course: CoursePosition
    safety_flags: list[ShortText] = Field(default_factory=list, max_length=50)
    route_order: int | None = Field(None, ge=0, le=100)
    eta: datetime | None = None
    planned_dose_mg: float | None = Field(None, ge=0, le=1000)
    status: Literal["scheduled", "cancelled"] = "scheduled"
    review_flags: list[ShortText] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _window_in_order(self) -> Visit:
        if self.window_end < self.window_start:
            raise ValueError("window_end must not be before window_start")
        return self


# -- device-owned ------------------------------------------------------------------------

VisitStatus = Literal[
    "en_route",
    "arrived",
    "infusion_started",
    "infusion_ended",
    "checked_out",
    "check_in",
    "declined",
    "duress",
]


class StatusEvent(DeviceRecord):
    """A check-in or status change; `arrived` and `checked_out` carry the six EVV elements."""

    KIND: ClassVar[str] = "status"

    # A duress call or a check-in between visits concerns no patient.
    patient_id: UUID | None = None  # type: ignore[assignment]
    status: VisitStatus
    at: datetime
    service_type: ShortText | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    location_attested: bool = False
    note: Text | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _location_known(self) -> StatusEvent:
        if self.status in ("arrived", "checked_out"):
            has_fix = self.lat is not None and self.lon is not None
            if not has_fix and not self.location_attested:
                raise ValueError("arrival and check-out need a location fix or an attestation")
            if self.service_type is None:
                raise ValueError("arrival and check-out need service_type (EVV)")
        return self


Answer = bool | int | float | Text | None
Decision = Literal["proceed", "proceed_with_flags", "hold", "hard_stop", "emergency"]


class Approval(Strict):
    """A prescriber's approval that lets a held visit go on: their enrolled name and, from
    this build on, the signed answer itself (`sync.approvals.Answer`), which anyone can
    check against the request's id and facts."""

    prescriber: ShortText
    note: Annotated[Text, StringConstraints(min_length=1, max_length=2000)]
    approved_at: datetime
    answer: SignedAnswer | None = None
    # A telephone order (no data to reach the prescriber): read back to them and confirmed,
    # then co-signed through this request (`sync.approvals`, kind "verbal_order").
    read_back: bool = False
    cosign_request_id: UUID | None = None


class ChecklistSubmission(DeviceRecord):
    """Answers to one version of a checklist template and the engine's decision."""

    KIND: ClassVar[str] = "checklist"

    template: TemplateRef
    answers: dict[Annotated[Text, StringConstraints(max_length=100)], Answer] = Field(
        max_length=500
    )
    decision: Decision
    reasons: list[Reason] = Field(default_factory=list, max_length=200)
    approval: Approval | None = None

    @model_validator(mode="after")
    def _hold_needs_approval_to_proceed(self) -> ChecklistSubmission:
        if self.approval is not None and self.decision in ("hard_stop", "emergency"):
            raise ValueError("a hard stop or an emergency cannot be approved away")
        return self


class VitalsReading(DeviceRecord):
    """One set of vital signs, before, during or after the infusion."""

    KIND: ClassVar[str] = "vitals"

    phase: Literal["pre", "during", "post"]
    taken_at: datetime
    systolic_mmhg: int | None = Field(None, ge=50, le=300)
    diastolic_mmhg: int | None = Field(None, ge=20, le=200)
    heart_rate_bpm: int | None = Field(None, ge=20, le=250)
    spo2_pct: int | None = Field(None, ge=50, le=100)
    # How long SpO2 has been below the stop limit: entered, or derived from the readings.
    spo2_low_seconds: int | None = Field(None, ge=0, le=3600)
    resp_rate_per_min: int | None = Field(None, ge=0, le=60)
    temperature_c: float | None = Field(None, ge=30, le=45)
    rass: int | None = Field(None, ge=-5, le=4)
    symptoms: list[ShortText] = Field(default_factory=list, max_length=30)
    on_oxygen: bool = False
    cadss_items: list[Annotated[int, Field(ge=0, le=4)]] = Field(
        default_factory=list, max_length=28
    )
    cadss_total: int | None = Field(None, ge=0, le=92)
    judgement: Literal["continue", "pause", "stop", "emergency"] | None = None
    reasons: list[Reason] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _diastolic_below_systolic(self) -> VitalsReading:
        if (
            self.systolic_mmhg is not None
            and self.diastolic_mmhg is not None
            and self.diastolic_mmhg >= self.systolic_mmhg
        ):
            raise ValueError("diastolic_mmhg must be below systolic_mmhg")
        return self


class CheckerSignature(Strict):
    """A second checker's Ed25519 signature over a dose order: their own enrolled key,
    unlocked on this laptop by their own PIN. `checker` is their clinic user name."""

    alg: Literal["ed25519"] = "ed25519"
    checker: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    public_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")]
    value: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{86}$")]


class DoseOrder(DeviceRecord):
    """What the prescriber ordered, and the dose the engine computed from it."""

    KIND: ClassVar[str] = "dose_order"

    prescriber: ShortText
    mode: Literal["bolus", "infusion_rate", "infusion_total", "depression_template"]
    weight_kg: float = Field(gt=0, le=500)
    height_cm: float | None = Field(None, ge=50, le=260)
    dosing_weight_kg: float = Field(gt=0, le=500)
    mg_per_kg: float | None = Field(None, gt=0, le=20)
    mg_per_kg_per_h: float | None = Field(None, gt=0, le=20)
    duration_min: int | None = Field(None, ge=1, le=1440)
    dose_mg: float = Field(ge=0, le=2000)
    rate_mg_per_h: float | None = Field(None, ge=0, le=2000)
    vial_concentration_mg_per_ml: float = Field(gt=0, le=100)
    draw_ml: float = Field(ge=0, le=200)
    bag_volume_ml: float | None = Field(None, gt=0, le=2000)
    pump_ml_per_h: float | None = Field(None, ge=0, le=2000)
    double_checked_by: ShortText
    warnings: list[Reason] = Field(default_factory=list, max_length=50)
    # The weight differed from today's checklist or the last visit by more than the
    # protocol allows, and the clinician confirmed it before the dose was shown.
    weight_confirmed: bool = False
    # The second checker's own signature (from this build on: a name alone is no check).
    checker_signature: CheckerSignature | None = None
    # The prescriber's signed answer letting this dose exceed the session cap.
    cap_override: SignedAnswer | None = None
    # No colleague present: the prescriber's signed confirmation of the arithmetic, in
    # place of `checker_signature`.
    remote_check: SignedAnswer | None = None

    def checked_content(self) -> bytes:
        """The bytes the checker's signature covers: the order without that signature."""
        return self.model_copy(update={"checker_signature": None}).canonical_json()


class DoseAdministration(DeviceRecord):
    """A dose actually given from a vial: start, end, amount."""

    KIND: ClassVar[str] = "dose_admin"

    order_id: UUID
    vial_id: ShortText
    started_at: datetime
    ended_at: datetime | None = None
    dose_mg: float = Field(ge=0, le=2000)
    volume_ml: float = Field(ge=0, le=200)
    stopped_early: bool = False
    stop_reason: Text | None = Field(None, max_length=2000)


SubstanceEventType = Literal[
    "receipt",
    "checkout",
    "draw",
    "administration",
    "waste",
    "breakage",
    "loss",
    "return",
    "count",
    "overage",
    "resolution",
]


class SubstanceEvent(DeviceRecord):
    """One controlled-substance ledger entry for one vial (21 CFR 1304.22(c))."""

    KIND: ClassVar[str] = "substance"

    # Carrying, counting and returning a vial concern no patient; draws and doses do.
    patient_id: UUID | None = None  # type: ignore[assignment]
    event: SubstanceEventType
    vial_id: ShortText
    at: datetime
    substance: ShortText = "ketamine HCl"
    concentration_mg_per_ml: float = Field(gt=0, le=100)
    fill_ml: float | None = Field(None, gt=0, le=100)
    lot: Text | None = Field(None, max_length=50)
    mg: float = Field(ge=0, le=10_000)
    ml: float = Field(ge=0, le=100)
    witness: ShortText | None = None
    # Whether every witness named holds a professional licence, as the clinician attests
    # (the protocol may require it: ledger.waste_witness_must_be_licensed); None: not said.
    witness_licensed: bool | None = None
    method: Text | None = Field(None, max_length=200)
    note: Text | None = Field(None, max_length=2000)
    # A loss, or a supervisor's resolution of a discrepancy: is it a significant loss
    # (21 CFR 1301.76(b)), which starts the DEA reporting clock?
    significant_loss: bool | None = None
    # A resolution: the supervisor's signed ruling (`sync.approvals.Answer`), from this
    # build on (the name in `witness` is the one the ruling was signed by).
    ruling: SignedAnswer | None = None


class ClosedVial(Strict):
    """One vial as the day closed, by the ledger."""

    vial_id: ShortText
    # "discrepancy" here means one a supervisor has decided on: an open one stops the close
    status: Literal["balanced", "overage", "incomplete", "discrepancy"]


class DutyDue(Strict):
    """A reporting duty the day's ledger raised (a significant loss), with its due date."""

    kind: ShortText
    due: date


class DayClosure(DeviceRecord):
    """The clinician's close of the day's controlled-substance ledger: every vial reconciled.

    The clinic sees when each day was closed, how each vial stood and which DEA duties
    remain, without rebuilding the ledger from its entries.
    """

    KIND: ClassVar[str] = "day_close"

    patient_id: UUID | None = None  # type: ignore[assignment]
    day: date
    closed_at: datetime
    vials: list[ClosedVial] = Field(default_factory=list, max_length=100)
    duties: list[DutyDue] = Field(default_factory=list, max_length=20)


class RecoveryRecord(DeviceRecord):
    """Recovery scores and the departure decision."""

    KIND: ClassVar[str] = "recovery"

    assessed_at: datetime
    aldrete: int = Field(ge=0, le=10)
    padss: int = Field(ge=0, le=10)
    pain_nrs_after: int | None = Field(None, ge=0, le=10)
    """Pain NRS at departure (CLINICAL §1.5): the course's "NRS after" and its response."""
    oriented_x3: bool
    gait_steady: bool
    responsible_adult: ShortText | None = None
    decision: Literal["cleared", "not_cleared"]
    missing: list[ShortText] = Field(default_factory=list, max_length=50)
    next_day_call_on: date | None = None


Base64Url = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]+$", max_length=200)]


class NoteSignature(Strict):
    """The signer's Ed25519 signature over the note's canonical JSON without this field,
    with the public key it verifies under (the clinic knows whose key that is)."""

    alg: Literal["ed25519"] = "ed25519"
    public_key: Base64Url
    value: Base64Url


class SessionNote(DeviceRecord):
    """The SOAP session note; a draft stays on the device, a signed note never changes."""

    KIND: ClassVar[str] = "note"

    status: Literal["draft", "signed"]
    subjective: LongText = ""
    objective: LongText = ""
    assessment: LongText = ""
    plan: LongText = ""
    signed_at: datetime | None = None
    signed_by: ShortText | None = None
    signature: NoteSignature | None = None

    @model_validator(mode="after")
    def _signature_complete(self) -> SessionNote:
        signed = self.status == "signed"
        if signed != (self.signed_at is not None and self.signed_by is not None):
            raise ValueError("a signed note needs signed_at and signed_by; a draft has neither")
        if self.signature is not None and not signed:
            raise ValueError("only a signed note carries a signature")
        return self

    @model_serializer(mode="wrap")
    def _without_absent_signature(self, handler: SerializerFunctionWrapHandler) -> Any:
        # A note signed before signatures existed keeps the bytes (and hash) it had.
        data = handler(self)
        if isinstance(data, dict) and data.get("signature") is None:
            data.pop("signature", None)
        return data

    def signed_content(self) -> bytes:
        """The bytes its signature covers: its canonical JSON without the signature."""
        return self.model_copy(update={"signature": None}).canonical_json()


class Addendum(DeviceRecord):
    """A later addition to a signed note; the note itself never changes."""

    KIND: ClassVar[str] = "addendum"

    note_id: UUID
    text: Annotated[Text, StringConstraints(min_length=1, max_length=20_000)]


class Incident(DeviceRecord):
    """Something that went wrong: a ledger discrepancy, an adverse event, a safety event."""

    KIND: ClassVar[str] = "incident"

    patient_id: UUID | None = None  # type: ignore[assignment]

    category: Literal["ledger_discrepancy", "adverse_event", "safety", "duress", "other"]
    severity: Literal["low", "moderate", "high", "critical"]
    occurred_at: datetime
    description: Annotated[Text, StringConstraints(min_length=1, max_length=20_000)]
    vial_id: Text | None = Field(None, max_length=200)


TaskOwner = Literal["clinician", "prescriber", "supervisor"]


class Task(DeviceRecord):
    """A follow-up a decision asked for: who must do it, what, and by when.

    Tasks for people off the device (prescriber, supervisor) reach the clinic with the visit
    and show on the dispatch board by their action and owner, never their clinical reason.
    """

    KIND: ClassVar[str] = "task"

    action: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,60}$")]
    owner: TaskOwner
    text: Annotated[Text, StringConstraints(min_length=1, max_length=500)]
    rule_id: ShortText
    # None: an instruction to acknowledge, with no timer (it is never overdue).
    due_at: datetime | None = None
    # The task whose timer ran out and raised this one (an escalation), if any.
    escalates: UUID | None = None


class TaskUpdate(DeviceRecord):
    """What became of a task: acknowledged on screen, done, or overdue, and when."""

    KIND: ClassVar[str] = "task_update"

    task_id: UUID
    status: Literal["acknowledged", "done", "overdue"]
    at: datetime
    note: Text | None = Field(None, max_length=500)


class ProtocolDocument(ServerRecord):
    """A clinic-edited config document a device needs offline: the protocol or a checklist."""

    KIND: ClassVar[str] = "protocol_doc"

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=100)]
    doc_version: int = Field(ge=1)
    content_toml: Annotated[Text, StringConstraints(max_length=500_000)]


StateCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class ClinicianProfile(ServerRecord):
    """A clinician's credentials as the clinic holds them (CLINICAL.md §1.5: the infusion
    is blocked without current ACLS, an active licence and a prescriber registered with
    the DEA in the visit's state). An admin sets it; the clinician's laptop pulls it, so
    no checklist asks the clinician for facts the clinic already has. `updated_by` and
    `updated_at` say who answered them and when."""

    KIND: ClassVar[str] = "clinician_profile"

    clinician_id: ShortText
    acls_expires: date | None = None
    licence_active: bool = False
    licence_expires: date | None = None
    prescriber: Text | None = Field(None, max_length=200)
    prescriber_dea_states: list[StateCode] = Field(default_factory=list, max_length=60)
    updated_by: ShortText
    updated_at: datetime


class ShiftCheck(DeviceRecord):
    """The start-of-shift check: the answers to the checklist items that belong to the
    shift (kit, vehicle, stock), given once; each visit of the day reads them from here."""

    KIND: ClassVar[str] = "shift_check"

    patient_id: UUID | None = None  # type: ignore[assignment]
    day: date
    answers: dict[Annotated[Text, StringConstraints(max_length=100)], Answer] = Field(
        max_length=200
    )
    templates: list[TemplateRef] = Field(max_length=20)


RECORD_TYPES: dict[str, type[Record]] = {
    model.KIND: model
    for model in (
        PatientSummary,
        Visit,
        StatusEvent,
        ChecklistSubmission,
        VitalsReading,
        DoseOrder,
        DoseAdministration,
        SubstanceEvent,
        DayClosure,
        RecoveryRecord,
        SessionNote,
        Addendum,
        Incident,
        Task,
        TaskUpdate,
        ProtocolDocument,
        ClinicianProfile,
        ShiftCheck,
    )
}

DEVICE_KINDS = frozenset(k for k, m in RECORD_TYPES.items() if m.OWNER is Owner.DEVICE)
SERVER_KINDS = frozenset(k for k, m in RECORD_TYPES.items() if m.OWNER is Owner.SERVER)


def _problem(error: Any) -> str:
    """One validation problem as `field: message`, without echoing the value."""
    field = ".".join(str(part) for part in error["loc"]) or "record"
    if error["type"] == "extra_forbidden":
        return f"{field}: unknown field"
    if error["type"] == "missing":
        return f"{field}: required"
    ctx = error.get("ctx") or {}
    if error["type"] in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"{field}: {_range_message(error['type'], ctx)}"
    return f"{field}: {error['msg']}"


def _range_message(kind: str, ctx: dict[str, Any]) -> str:
    words = {
        "greater_than_equal": "at least",
        "less_than_equal": "at most",
        "greater_than": "more than",
        "less_than": "less than",
    }
    bound = next(iter(ctx.values()), "?")
    return f"must be {words[kind]} {bound}"


def parse_record(kind: str, data: dict[str, Any] | str | bytes) -> Record:
    """Validate a record of `kind` from a dict or JSON, or raise `RecordInvalid`.

    Messages name the field and the problem ("heart_rate_bpm: must be at most 250") but
    never repeat the value, so they are safe to log and to show in a sync report.
    """
    model = RECORD_TYPES.get(kind)
    if model is None:
        raise RecordInvalid(
            kind[:40], [f"kind: unknown record kind (known: {', '.join(sorted(RECORD_TYPES))})"]
        )
    try:
        if isinstance(data, str | bytes):
            return model.model_validate_json(data)
        return model.model_validate(data)
    except ValidationError as exc:
        raise RecordInvalid(kind, [_problem(e) for e in exc.errors()]) from None


def field_ranges(model: type[BaseModel]) -> dict[str, tuple[float | None, float | None]]:
    """The plausible (low, high) of each numeric field, for forms that validate as you type."""
    ranges: dict[str, tuple[float | None, float | None]] = {}
    for name, info in model.model_fields.items():
        low = high = None
        for meta in info.metadata:
            low = getattr(meta, "ge", getattr(meta, "gt", low)) if low is None else low
            high = getattr(meta, "le", getattr(meta, "lt", high)) if high is None else high
        if low is not None or high is not None:
            ranges[name] = (low, high)
    return ranges
