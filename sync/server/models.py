"""The server's tables (SQLModel). Wire shapes are in `schemas.py`.

Ids are UUID text so SQLite and PostgreSQL store them alike; server-internal times are UTC
epoch seconds (floats), which compare the same on both. Server-owned records (patients,
visits, protocol documents) carry `change_seq`, a number from one counter row that commits
in order, which is what the pull cursor follows (see `changes.py`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class ServerMeta(SQLModel, table=True):
    """Key/value facts about this database, such as its cursor epoch."""

    __tablename__ = "server_meta"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=200)


class ChangeCounter(SQLModel, table=True):
    """The single row handing out change numbers; its row lock orders their commits."""

    __tablename__ = "change_counter"

    id: int = Field(primary_key=True)
    value: int = 0


class AppUser(SQLModel, table=True):
    """A person: clinician, dispatcher or admin. `name` is the clinician id on visits."""

    __tablename__ = "app_user"

    name: str = Field(primary_key=True, max_length=64)
    role: str = Field(max_length=20)
    display_name: str | None = Field(default=None, max_length=200)
    active: bool = True
    created_at: float


class Device(SQLModel, table=True):
    """An enrolled laptop or office computer holding a token (stored only as a hash)."""

    __tablename__ = "device"

    id: str = Field(primary_key=True, max_length=36)
    user_name: str = Field(foreign_key="app_user.name", index=True, max_length=64)
    name: str = Field(max_length=100)
    token_hash: str = Field(unique=True, max_length=64)
    created_at: float
    expires_at: float
    revoked_at: float | None = None
    wiped_at: float | None = None
    last_seen_at: float | None = None
    head_seq: int = 0
    head_hash: str = Field(default="0" * 64, max_length=64)


class EnrollCode(SQLModel, table=True):
    """A one-time enrollment code: public id part plus a secret kept only as a hash."""

    __tablename__ = "enroll_code"

    id: str = Field(primary_key=True, max_length=16)
    user_name: str = Field(foreign_key="app_user.name", max_length=64)
    secret_hash: str = Field(max_length=64)
    created_at: float
    expires_at: float
    tries: int = 0
    used_at: float | None = None


class Patient(SQLModel, table=True):
    """A patient: contact part (dispatch may see) and clinical part (clinicians only)."""

    __tablename__ = "patient"

    id: str = Field(primary_key=True, max_length=36)
    version: int = 1
    contact: str = Field(sa_column=Column(Text, nullable=False))
    clinical: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    change_seq: int = Field(index=True)
    updated_at: float


class VisitRow(SQLModel, table=True):
    """The current version of a visit; `payload` is its `sync.records.Visit` JSON."""

    __tablename__ = "visit"
    # A clinician's scope by day, and their changes after a pull cursor: a device's sync
    # reads its own rows, whatever the clinic's history holds (migration 0009).
    __table_args__ = (
        Index("ix_visit_clinician_day", "clinician_id", "scheduled_on"),
        Index("ix_visit_clinician_change", "clinician_id", "change_seq"),
    )

    id: str = Field(primary_key=True, max_length=36)
    patient_id: str = Field(foreign_key="patient.id", index=True, max_length=36)
    clinician_id: str = Field(max_length=200)
    scheduled_on: date = Field(index=True)
    status: str = Field(max_length=20)
    version: int = 1
    payload: str = Field(sa_column=Column(Text, nullable=False))
    change_seq: int
    updated_at: float


class VisitExit(SQLModel, table=True):
    """A visit left a clinician (reassigned): their next pull reports it removed."""

    __tablename__ = "visit_exit"
    __table_args__ = (Index("ix_visit_exit_clinician_seq", "clinician_id", "seq"),)

    seq: int = Field(primary_key=True)
    visit_id: str = Field(index=True, max_length=36)
    clinician_id: str = Field(max_length=200)
    patient_id: str = Field(index=True, max_length=36)


class ProtocolDocRow(SQLModel, table=True):
    """The current version of a protocol or checklist document every clinician pulls."""

    __tablename__ = "protocol_doc"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=100)
    version: int = 1
    payload: str = Field(sa_column=Column(Text, nullable=False))
    change_seq: int = Field(index=True)


class ClinicianProfileRow(SQLModel, table=True):
    """A clinician's credentials as the clinic holds them; `payload` is its
    `sync.records.ClinicianProfile` JSON, pulled by that clinician's laptops."""

    __tablename__ = "clinician_profile"

    user_name: str = Field(primary_key=True, foreign_key="app_user.name", max_length=64)
    id: str = Field(unique=True, max_length=36)
    version: int = 1
    payload: str = Field(sa_column=Column(Text, nullable=False))
    change_seq: int = Field(index=True)
    updated_at: float


class DeviceRecordRow(SQLModel, table=True):
    """A device-owned clinical record, stored once, never replaced."""

    __tablename__ = "device_record"

    id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(max_length=40)
    device_id: str = Field(max_length=36)  # no index: no query reads by it (0016)
    user_name: str = Field(max_length=64)
    # None for a clinician's own event away from any patient (duress, "I am safe").
    patient_id: str | None = Field(default=None, index=True, max_length=36)
    visit_id: str | None = Field(default=None, index=True, max_length=36)
    seq: int
    content_hash: str = Field(max_length=64)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    received_at: float
    after_revocation: bool = False


class Receipt(SQLModel, table=True):
    """What the server answered for one device seq: replayed answers stay the same."""

    __tablename__ = "device_receipt"

    device_id: str = Field(primary_key=True, max_length=36)
    seq: int = Field(primary_key=True)
    record_id: str = Field(max_length=36)
    chain_hash: str = Field(max_length=64)
    status: str = Field(max_length=20)
    reason: str | None = Field(default=None, max_length=1000)


class ReviewItem(SQLModel, table=True):
    """A pushed record set aside (conflict or rejected), kept whole for a person to review."""

    __tablename__ = "review_item"
    __table_args__ = (UniqueConstraint("device_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    device_id: str = Field(max_length=36)
    user_name: str = Field(max_length=64)
    seq: int
    kind: str = Field(max_length=40)
    record_id: str = Field(max_length=64)
    status: str = Field(max_length=20)
    reason: str = Field(max_length=1000)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    received_at: float


class AuditEvent(SQLModel, table=True):
    """One hash-chained audit event: who, what, when, device, outcome; ids only."""

    __tablename__ = "audit_event"

    seq: int = Field(primary_key=True)
    at: str = Field(max_length=40)
    actor: str = Field(max_length=64)
    device_id: str | None = Field(default=None, max_length=36)
    action: str = Field(max_length=60)
    outcome: str = Field(max_length=40)
    detail: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class RateBucket(SQLModel, table=True):
    """A token bucket for one rate-limit key (kept in the database for every worker)."""

    __tablename__ = "rate_bucket"

    key: str = Field(primary_key=True, max_length=120)
    tokens: float
    updated: float


class RefusalWindow(SQLModel, table=True):
    """Refusals from one source (a kind and a client address) in the current window: the
    first was audited at once; `count` more wait for the window's summarising event."""

    __tablename__ = "refusal_window"

    key: str = Field(primary_key=True, max_length=120)
    opened_at: float
    last_at: float
    count: int = 0
    outcomes: str = "{}"  # JSON: outcome code -> how many of `count`


class ClinicalEntry(SQLModel, table=True):
    """One entry of a patient's clinical record, as the clinic keeps it.

    A new import or API call writes a whole new version of the record (nothing is deleted
    or changed: earlier versions stay for the audit); the newest version travels to the
    laptops inside the patient summary.
    """

    __tablename__ = "clinical_entry"

    patient_id: str = Field(foreign_key="patient.id", primary_key=True, max_length=36)
    record_version: int = Field(primary_key=True)
    position: int = Field(primary_key=True)
    kind: str = Field(max_length=20)
    code_system: str | None = Field(default=None, max_length=10)
    code: str | None = Field(default=None, max_length=20)
    text: str = Field(max_length=200)
    status: str | None = Field(default=None, max_length=20)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: float
    recorded_by: str = Field(max_length=64)


class DuressKey(SQLModel, table=True):
    """A device's duress credential (stored only as a hash): it can post a duress signal
    and nothing else, so the laptop keeps it outside its encrypted store, usable while
    locked."""

    __tablename__ = "duress_key"

    device_id: str = Field(primary_key=True, foreign_key="device.id", max_length=36)
    user_name: str = Field(foreign_key="app_user.name", max_length=64)
    token_hash: str = Field(unique=True, max_length=64)
    created_at: float
    last_used_at: float | None = None


class SigningKey(SQLModel, table=True):
    """The public key a device's clinician signs notes with (sent at enrolment)."""

    __tablename__ = "signing_key"

    device_id: str = Field(primary_key=True, foreign_key="device.id", max_length=36)
    user_name: str = Field(foreign_key="app_user.name", max_length=64)
    public_key: str = Field(max_length=64)
    created_at: float


class CheckerKey(SQLModel, table=True):
    """A second checker's public key, filed by the laptop they were enrolled on and bound
    to their clinic user (`checker`); it vouches for their signature on the doses that
    clinician (`filed_by`) pushes. A checker enrolled again (a locked key) gets a new
    key; the old one stays filed, so the doses it signed still verify."""

    __tablename__ = "checker_key"

    device_id: str = Field(primary_key=True, foreign_key="device.id", max_length=36)
    public_key: str = Field(primary_key=True, max_length=64)
    checker: str = Field(foreign_key="app_user.name", max_length=64)
    filed_by: str = Field(foreign_key="app_user.name", index=True, max_length=64)
    filed_at: float


class CheckerCode(SQLModel, table=True):
    """A one-time code a colleague gets from the clinic to enrol as a second checker on
    another clinician's laptop: proof they were there (README "Second checker"). Bound to
    that colleague's user; both parts are kept only as hashes. Once used it names the
    laptop and key it filed, so a retry of that same filing is answered again."""

    __tablename__ = "checker_code"

    id_hash: str = Field(primary_key=True, max_length=64)
    user_name: str = Field(foreign_key="app_user.name", index=True, max_length=64)
    secret_hash: str = Field(max_length=64)
    issued_by: str = Field(max_length=64)
    created_at: float
    expires_at: float
    tries: int = 0
    used_at: float | None = None
    used_device_id: str | None = Field(default=None, max_length=36)
    used_public_key: str | None = Field(default=None, max_length=64)


class ApprovalRequestRow(SQLModel, table=True):
    """A laptop's request for a prescriber's or supervisor's decision, and its signed answer.

    `facts` holds only what the decision used (`sync.approvals.Facts`); `answer` the signed
    `sync.approvals.Answer`, once given (never replaced).
    """

    __tablename__ = "approval_request"

    id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(max_length=30)
    role: str = Field(index=True, max_length=20)
    visit_id: str | None = Field(default=None, max_length=36)
    device_id: str = Field(foreign_key="device.id", max_length=36)
    requested_by: str = Field(foreign_key="app_user.name", index=True, max_length=64)
    facts: str = Field(sa_column=Column(Text, nullable=False))
    facts_hash: str = Field(max_length=64)
    requested_at: float
    expires_at: float
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_by: str | None = Field(default=None, max_length=64)
    answer_device_id: str | None = Field(default=None, max_length=36)
    answered_at: float | None = None
