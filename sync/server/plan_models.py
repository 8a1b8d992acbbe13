"""Dispatch planning: the tables (visit requests, stored plans) and their wire shapes.

A visit request is a visit the office wants done on a day but has not yet given to a
clinician; it keeps the planning facts a `sync.records.Visit` has no field for (skills,
planning flags, the patient's earlier clinician). Its id becomes the visit's id when a
plan is published. A plan is the JSON `fieldapp plan` writes (`routes`, `unassigned`,
`totals`), stored as a draft, then published (applied to the visits) or superseded.

Wire shapes hold no clinical field: a dispatcher sees name, address, window, phone and
safety flags (CLINICAL.md §5), never a diagnosis, a score, a note or a dose.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from sync.records import Address, CoursePosition, ShortText
from sync.server.safety_notes import SafetyNote

Ref = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
Tag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
UserName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
PlanStatus = Literal["draft", "published", "superseded"]


# -- tables --------------------------------------------------------------------------------


class VisitRequestRow(SQLModel, table=True):
    """A visit the office wants planned; `payload` is its `VisitRequestCreate` JSON."""

    __tablename__ = "dispatch_request"
    __table_args__ = (UniqueConstraint("scheduled_on", "ref"),)

    id: str = SQLField(primary_key=True, max_length=36)
    scheduled_on: date = SQLField(index=True)
    ref: str = SQLField(max_length=64)
    patient_id: str = SQLField(foreign_key="patient.id", max_length=36)
    status: str = SQLField(max_length=20)
    payload: str = SQLField(sa_column=Column(Text, nullable=False))
    created_by: str = SQLField(max_length=64)
    updated_at: float


class DispatchPlanRow(SQLModel, table=True):
    """One stored plan of a day: draft, published (applied to visits) or superseded."""

    __tablename__ = "dispatch_plan"

    id: str = SQLField(primary_key=True, max_length=36)
    scheduled_on: date = SQLField(index=True)
    status: str = SQLField(max_length=20)
    plan: str = SQLField(sa_column=Column(Text, nullable=False))
    roster: str = SQLField(sa_column=Column(Text, nullable=False))
    created_by: str = SQLField(max_length=64)
    created_at: float
    published_by: str | None = SQLField(default=None, max_length=64)
    published_at: float | None = None


# -- requests ------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VisitRequestCreate(_Body):
    """A visit to plan: who, where, when, how long, and what the clinician must hold."""

    id: UUID | None = None
    ref: Ref
    patient_id: UUID
    window_start: datetime
    window_end: datetime
    duration_min: int = Field(ge=10, le=600)
    address: Address | None = None
    course: CoursePosition
    safety_flags: list[ShortText] = Field(default_factory=list, max_length=50)
    skills: list[Tag] = Field(default_factory=list, max_length=20)
    flags: list[Tag] = Field(default_factory=list, max_length=20)
    previous_clinician: UserName | None = None

    @model_validator(mode="after")
    def _window_in_order(self) -> VisitRequestCreate:
        if self.window_end < self.window_start:
            raise ValueError("window_end must not be before window_start")
        if self.window_start.tzinfo is None or self.window_end.tzinfo is None:
            raise ValueError("window_start and window_end need a timezone offset")
        return self


class RequestUpload(_Body):
    """Visit requests for one day (new ones, or changes to ones already uploaded)."""

    scheduled_on: date
    requests: list[VisitRequestCreate] = Field(min_length=1, max_length=2000)


class VisitRequestPublic(BaseModel):
    """A stored request as dispatch sees it: ids, day and state."""

    id: UUID
    ref: str
    scheduled_on: date
    patient_id: UUID
    status: Literal["open", "cancelled"]
    published: bool


# -- plans ---------------------------------------------------------------------------------


class PlanStop(_Body):
    """A visit in a route, as `fieldapp plan` writes it; `fixed` marks a visit under way."""

    seq: int = Field(ge=1, le=100)
    visit_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    place: str = Field("", max_length=200)
    arrival: datetime
    start: datetime
    end: datetime
    drive_km: float = Field(0, ge=0)
    drive_min: float = Field(0, ge=0)
    fixed: bool = False


class PlanBreak(_Body):
    """When the clinician takes the break."""

    start: datetime
    end: datetime


class PlanRoute(_Body):
    """One clinician's ordered day."""

    clinician_id: UserName
    depart: datetime
    arrive_end: datetime
    drive_km: float = Field(0, ge=0)
    drive_min: float = Field(0, ge=0)
    break_: PlanBreak | None = Field(None, alias="break")
    stops: list[PlanStop] = Field(max_length=100)
    end_drive_km: float = Field(0, ge=0)
    end_drive_min: float = Field(0, ge=0)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PlanUnassigned(_Body):
    """A visit left out, with the planner's reason."""

    visit_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    reason: str = Field(max_length=1000)


class PlanDocument(_Body):
    """The JSON plan: `{"routes": [...], "unassigned": [...], "totals": {...}}` and meta."""

    schema_: str = Field("fieldapp.plan/1", alias="schema", max_length=40)
    date: str | None = Field(None, max_length=10)
    solver: str = Field("", max_length=40)
    routes: list[PlanRoute] = Field(max_length=500)
    unassigned: list[PlanUnassigned] = Field(default_factory=list, max_length=5000)
    totals: dict[str, float | int] = Field(default_factory=dict)
    input_problems: list[dict[str, Any]] = Field(default_factory=list, max_length=5000)
    notes: list[Annotated[str, StringConstraints(max_length=500)]] = Field(
        default_factory=list, max_length=100
    )

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _each_visit_once(self) -> PlanDocument:
        ids = [s.visit_id for r in self.routes for s in r.stops]
        ids += [u.visit_id for u in self.unassigned]
        if len(ids) != len(set(ids)):
            raise ValueError("a visit appears more than once in the plan")
        clinicians = [r.clinician_id for r in self.routes]
        if len(clinicians) != len(set(clinicians)):
            raise ValueError("a clinician has more than one route")
        return self

    def dump(self) -> dict[str, Any]:
        """The plan as JSON-ready data, with `schema` and `break` spelled as in the file."""
        return self.model_dump(mode="json", by_alias=True)


class RosterClinician(_Body):
    """A clinician's day as the planner needs it (no patient data): shift, places, limits."""

    id: UserName
    name: ShortText
    start_place: ShortText
    end_place: ShortText
    start_lat: float = Field(ge=-90, le=90)
    start_lon: float = Field(ge=-180, le=180)
    end_lat: float = Field(ge=-90, le=90)
    end_lon: float = Field(ge=-180, le=180)
    shift_start: datetime
    shift_end: datetime
    skills: list[Tag] = Field(default_factory=list, max_length=20)
    stock_mg: float | None = Field(0, ge=0, le=10_000)
    """Ketamine the clinician may carry (mg, hundredths at most); None: unlimited."""
    max_visits: int = Field(99, ge=0, le=100)
    escort: bool = False
    break_min: float | None = Field(None, gt=0, le=240)
    break_earliest: datetime | None = None
    break_latest: datetime | None = None


class PlanCreate(_Body):
    """A plan to store as a draft, with the roster it was made for."""

    scheduled_on: date
    plan: PlanDocument
    roster: list[RosterClinician] = Field(default_factory=list, max_length=500)


class PlanSummary(BaseModel):
    """A stored plan without its routes."""

    id: UUID
    scheduled_on: date
    status: PlanStatus
    created_by: str
    created_at: datetime
    published_at: datetime | None
    totals: dict[str, float | int]


class PlanPublic(PlanSummary):
    """A stored plan whole."""

    plan: PlanDocument
    roster: list[RosterClinician]


class PublishResult(BaseModel):
    """What publishing did to each visit of the plan."""

    plan_id: UUID
    created: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    kept_under_way: list[str] = Field(default_factory=list)
    cancelled: list[str] = Field(default_factory=list)
    left_assigned: list[str] = Field(default_factory=list)


# -- the board -----------------------------------------------------------------------------


class LiveEvent(BaseModel):
    """One synced check-in: what and when (never its note)."""

    status: str
    at: datetime


class BoardTask(BaseModel):
    """A task for someone off the laptop: what, whose, due when, where it stands."""

    action: str
    owner: str
    due_at: datetime | None
    state: Literal["open", "overdue", "done"]


class BoardVisit(BaseModel):
    """A visit of the day as dispatch sees it, with its live status from check-ins."""

    id: UUID
    ref: str | None
    patient_id: UUID
    patient_name: str | None
    phone: str | None
    address: str
    lat: float | None
    lon: float | None
    window_start: datetime
    window_end: datetime
    duration_min: int
    safety_flags: list[str]
    skills: list[str]
    flags: list[str]
    previous_clinician: str | None
    clinician_id: str | None
    route_order: int | None
    eta: datetime | None
    status: Literal["open", "scheduled", "cancelled"]
    review_flags: list[str]
    live: str | None
    live_at: datetime | None
    events: list[LiveEvent]
    safety_notes: list[SafetyNote] = Field(default_factory=list)
    """The address safety notes that apply on the day (category and level only)."""
    tasks: list[BoardTask] = Field(default_factory=list)


class BoardClinician(BaseModel):
    """One clinician's route of the day and their latest contact."""

    clinician_id: str
    display_name: str | None
    visits: list[BoardVisit]
    last_event: str | None
    last_event_at: datetime | None
    duress_at: datetime | None


class BoardBreakGlass(BaseModel):
    """A break-glass access awaiting a supervisor's review: who, when, the coded reason and
    the patient's name (contact the board shows anyway), never the clinician's words."""

    id: UUID
    clinician: str
    patient_id: UUID
    patient_name: str | None
    reason_code: str
    granted_at: datetime
    expires_at: datetime


class Board(BaseModel):
    """The day at a glance: routes with live status, visits not yet given to anyone."""

    scheduled_on: date
    timezone: str
    server_time: datetime
    published_plan_id: UUID | None
    clinicians: list[BoardClinician]
    unassigned: list[BoardVisit]
    break_glass: list[BoardBreakGlass] = Field(default_factory=list)
    """Break-glass accesses no supervisor has reviewed yet, oldest first (any day)."""
