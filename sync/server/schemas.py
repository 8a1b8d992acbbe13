"""Request and response shapes of the HTTP API. Every request model refuses unknown fields.

Server-owned fields (`id`, `version`, `status`, `review_flags`) are never accepted in a
body: a dispatcher creates or changes a visit through `VisitCreate` / `VisitUpdate`, and
anything else answers 422 (OWASP API3, mass assignment).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from sync.records import Address, CoursePosition, PatientSummary, ShortText, StateCode

Role = Literal["clinician", "dispatcher", "admin", "prescriber", "supervisor"]
UserName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
MAX_SEQ = 2_000_000_000  # device seqs are stored as 32-bit integers on PostgreSQL

# A dispatcher sees a patient's name, address, phone and safety flags, never the rest,
# and a visit without its planned dose.
CONTACT_FIELDS = (
    frozenset(PatientSummary.model_fields)
    - PatientSummary.CLINICAL_FIELDS
    - {
        "schema_version",
        "version",
    }
)
VISIT_CLINICAL_FIELDS = frozenset({"planned_dose_mg"})


class Body(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class HeadPublic(BaseModel):
    """The newest seq (and its chain hash) the server holds, gap-free, from one device."""

    seq: int
    chain_hash: str


class ErrorBody(BaseModel):
    """Every error answer: a machine-readable code and a sentence."""

    error: str
    detail: str
    wipe: bool = False
    head: HeadPublic | None = None  # push_gap, server_behind: send again from here


class Health(BaseModel):
    """The health endpoint's answer."""

    status: Literal["ok"]
    database: Literal["ok"]
    server_time: datetime


# -- enrollment ----------------------------------------------------------------------------


class EnrollRequest(Body):
    """A one-time code from the clinic and a name for this device."""

    code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    device_name: Annotated[str, StringConstraints(min_length=1, max_length=100)] = "laptop"
    signing_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")] | None = None
    """The clinician's Ed25519 public key (base64url): the key their signed notes verify under."""


class EnrollResponse(BaseModel):
    """The new device's id and token (shown once; the server keeps only its hash), and a
    clinician's duress credential (likewise shown once)."""

    device_id: str
    token: str
    user: str
    role: Role
    expires_at: datetime
    server_time: datetime
    manifest_key: str  # the public key the server signs pull manifests with (base64 Ed25519)
    duress_token: str | None = None


class Me(BaseModel):
    """Who a token belongs to."""

    user: str
    role: Role
    device_id: str
    server_time: datetime


# -- duress --------------------------------------------------------------------------------


class DuressSignalIn(Body):
    """A duress signal: its id (made on the laptop, so a retry is recognised) and when the
    clinician pressed the key. Nothing else: no patient, no place, no visit."""

    id: UUID
    at: datetime


class DuressAck(BaseModel):
    """The signal reached the clinic (again, for a retry whose first answer was lost)."""

    status: Literal["received", "duplicate"]


class DuressKeyPublic(BaseModel):
    """A new duress credential for this device (shown once; kept only as a hash)."""

    duress_token: str


# -- sync ----------------------------------------------------------------------------------


class Head(Body):
    """The device's chain head over every record it ever wrote, and the newest seq this
    server confirmed holding (a server restored from a backup holds less: `server_behind`)."""

    seq: int = Field(ge=0, le=MAX_SEQ)
    chain_hash: Hex64
    confirmed: int | None = Field(None, ge=0, le=MAX_SEQ)


class PushItem(Body):
    """One outbox item."""

    seq: int = Field(ge=1, le=MAX_SEQ)
    kind: Annotated[str, StringConstraints(max_length=40)]
    record_id: UUID
    content_hash: Hex64
    chain_hash: Hex64
    payload: dict[str, Any]
    # The record stays on the laptop (too large to send): the server keeps its place in
    # the chain and sets it aside for review. Or the clinic purged it and the laptop kept
    # only its content hash: the server keeps its place in the chain and stores nothing
    # (set aside for review if the clinic has no purge of it). Its payload is then empty.
    withheld: Literal["too_large", "purged"] | None = None


class PushRequest(Body):
    """A batch of outbox items in seq order, with the device's chain head."""

    head: Head
    items: list[PushItem] = Field(max_length=100_000)


class PushResult(BaseModel):
    """What happened to one pushed item."""

    seq: int
    status: Literal["applied", "duplicate", "conflict", "rejected"]
    reason: str | None = None


class PushResponse(BaseModel):
    """A result per item; `revoked` tells a revoked device to wipe after pushing; `head` is
    what the server now holds from the device, gap-free."""

    results: list[PushResult]
    revoked: bool = False
    head: HeadPublic
    server_time: datetime


class PullRequest(Body):
    """Changes after `cursor` (None: from scratch), at most `limit` of them. The last page
    carries the scope's signed manifest when anything changed since the cursor, or when
    `manifest` asks for it anyway (to check the laptop's rows against a fresh one)."""

    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None
    head: Head
    limit: int | None = Field(None, ge=1, le=10_000)
    manifest: bool = False


class PulledRecord(BaseModel):
    """One server-owned record in its `sync.records` JSON form."""

    kind: str
    record: dict[str, Any]


class Removal(BaseModel):
    """A record that left the clinician's scope."""

    kind: str
    id: UUID


class SignedManifestPublic(BaseModel):
    """Kind, id and version of every server-owned record in scope, signed (`sync.manifest`)."""

    body: str
    signature: str
    key: str


class PullResponse(BaseModel):
    """One page of changes and the cursor to ask for the next; the last page (`more` false)
    may carry the signed manifest of the whole scope (see `PullRequest`)."""

    upserts: list[PulledRecord]
    removals: list[Removal]
    cursor: str
    more: bool
    head: HeadPublic
    manifest: SignedManifestPublic | None = None
    server_time: datetime


# -- dispatch ------------------------------------------------------------------------------


class PatientContact(Body):
    """What dispatch uploads about a patient: name, phone, address, safety flags."""

    display_name: ShortText
    phone: Annotated[str, StringConstraints(pattern=r"^[0-9+() .-]{7,25}$")]
    address: Address
    safety_flags: list[ShortText] = Field(default_factory=list, max_length=50)


class PatientContactPublic(PatientContact):
    """A patient as dispatch sees them (no clinical field)."""

    model_config = ConfigDict(extra="forbid")

    id: UUID
    version: int


class VisitCreate(Body):
    """A visit request from dispatch; the server sets id, version, status and flags."""

    patient_id: UUID
    clinician_id: UserName
    scheduled_on: date
    window_start: datetime
    window_end: datetime
    duration_min: int = Field(ge=10, le=600)
    address: Address | None = None
    course: CoursePosition
    safety_flags: list[ShortText] = Field(default_factory=list, max_length=50)
    route_order: int | None = Field(None, ge=0, le=100)
    eta: datetime | None = None

    @model_validator(mode="after")
    def _window_in_order(self) -> VisitCreate:
        if self.window_end < self.window_start:
            raise ValueError("window_end must not be before window_start")
        return self


class VisitUpdate(Body):
    """A change to a planned visit: reassign, reschedule, reorder."""

    clinician_id: UserName | None = None
    scheduled_on: date | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    duration_min: int | None = Field(None, ge=10, le=600)
    safety_flags: list[ShortText] | None = Field(None, max_length=50)
    route_order: int | None = Field(None, ge=0, le=100)
    eta: datetime | None = None


class VisitDispatchPublic(BaseModel):
    """A visit as dispatch sees it: everything but the planned dose."""

    id: UUID
    version: int
    patient_id: UUID
    clinician_id: str
    scheduled_on: date
    window_start: datetime
    window_end: datetime
    duration_min: int
    address: Address
    course: CoursePosition
    safety_flags: list[str]
    route_order: int | None
    eta: datetime | None
    status: Literal["scheduled", "cancelled"]
    review_flags: list[str]


# -- admin ---------------------------------------------------------------------------------


class UserCreate(Body):
    """A new person."""

    name: UserName
    role: Role
    display_name: ShortText | None = None


class UserPublic(BaseModel):
    """A person as the admin sees them."""

    name: str
    role: Role
    display_name: str | None
    active: bool


class EnrollCodePublic(BaseModel):
    """A one-time enrollment code, shown once."""

    user: str
    code: str
    expires_at: datetime


class CheckerCodePublic(BaseModel):
    """A one-time checker code, shown once: its colleague types it on the laptop they are
    enrolled on as a second checker."""

    user: str
    code: str
    expires_at: datetime


class DevicePublic(BaseModel):
    """An enrolled device (never its token)."""

    id: str
    user: str
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    wiped_at: datetime | None
    last_seen_at: datetime | None
    head_seq: int


class ReviewItemPublic(BaseModel):
    """A set-aside record's ids and reason (its content stays on the server)."""

    id: int
    device_id: str
    user: str
    seq: int
    kind: str
    record_id: str
    status: str
    reason: str


class ClinicianProfileUpdate(Body):
    """The credentials an admin sets on a clinician's profile; fields left out stay as
    they are (null clears a date)."""

    acls_expires: date | None = None
    licence_active: bool | None = None
    licence_expires: date | None = None
    prescriber: ShortText | None = None
    prescriber_dea_states: list[StateCode] | None = Field(None, max_length=60)
