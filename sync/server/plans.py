"""Visit requests, stored plans, publishing a day, and the live board (no FastAPI here).

Publishing goes through `crud.put_visit` / `crud.update_visit`, so every assignment is a
new visit version with a change number: each clinician's next pull brings their route, and
a visit taken from a clinician leaves their scope. A visit already under way on the road
(any synced check-in) is never moved by a publish: it keeps its clinician and time.

Ketamine stock is checked here, where the planned doses are: the dispatcher's planner never
sees a dose (CLINICAL.md §5), so a route whose visits need more than the clinician may carry
is refused at publish, naming the clinician only.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from sync.canonical import canonical_text
from sync.records import Address, Visit
from sync.server import break_glass, crud, safety_notes
from sync.server.board_tasks import visit_tasks
from sync.server.errors import Invalid, NotFound
from sync.server.models import AppUser, DeviceRecordRow, Patient, VisitRow
from sync.server.plan_models import (
    Board,
    BoardClinician,
    BoardVisit,
    DispatchPlanRow,
    LiveEvent,
    PlanCreate,
    PlanDocument,
    PlanPublic,
    PlanSummary,
    PublishResult,
    RequestUpload,
    RosterClinician,
    VisitRequestCreate,
    VisitRequestPublic,
    VisitRequestRow,
)
from sync.server.schemas import VisitUpdate

DUTY_STATUSES = frozenset({"duress", "check_in"})


def _epoch(moment: float | None) -> datetime | None:
    return datetime.fromtimestamp(moment, UTC) if moment is not None else None


# -- requests ------------------------------------------------------------------------------


def upload_requests(
    session: Session, upload: RequestUpload, who: str, now: float
) -> list[VisitRequestRow]:
    """Store new requests and changes to open ones; a request's ref is unique on its day."""
    stored = []
    for request in upload.requests:
        if session.get(Patient, str(request.patient_id)) is None:
            raise Invalid(f"requests[{request.ref}].patient_id: no such patient")
        row = _request_by_ref(session, upload.scheduled_on, request.ref)
        if request.id is not None and row is not None and row.id != str(request.id):
            raise Invalid(f"requests[{request.ref}].ref: already used by another request")
        if row is None and request.id is not None:
            row = session.get(VisitRequestRow, str(request.id))
        if row is None:
            visit_id = str(request.id or uuid.uuid4())
            if session.get(VisitRow, visit_id) is not None:
                raise Invalid(f"requests[{request.ref}].id: a visit already has this id")
            row = VisitRequestRow(
                id=visit_id,
                scheduled_on=upload.scheduled_on,
                ref=request.ref,
                patient_id=str(request.patient_id),
                status="open",
                payload="",
                created_by=who,
                updated_at=now,
            )
        elif row.scheduled_on != upload.scheduled_on:
            raise Invalid(f"requests[{request.ref}].id: belongs to another day")
        row.payload = request.model_dump_json(exclude={"id"})
        row.patient_id, row.updated_at = str(request.patient_id), now
        session.add(row)
        stored.append(row)
    session.flush()
    return stored


def _request_by_ref(session: Session, day: date, ref: str) -> VisitRequestRow | None:
    return session.exec(
        select(VisitRequestRow).where(
            VisitRequestRow.scheduled_on == day, VisitRequestRow.ref == ref
        )
    ).first()


def request_public(session: Session, row: VisitRequestRow) -> VisitRequestPublic:
    """A request as dispatch sees it."""
    return VisitRequestPublic(
        id=uuid.UUID(row.id),
        ref=row.ref,
        scheduled_on=row.scheduled_on,
        patient_id=uuid.UUID(row.patient_id),
        status=row.status,  # type: ignore[arg-type]
        published=session.get(VisitRow, row.id) is not None,
    )


def list_requests(session: Session, day: date) -> Sequence[VisitRequestRow]:
    """The day's requests, by ref."""
    return session.exec(
        select(VisitRequestRow)
        .where(VisitRequestRow.scheduled_on == day)
        .order_by(col(VisitRequestRow.ref))
    ).all()


def cancel(session: Session, visit_id: str, now: float) -> str:
    """Cancel a request and its visit (flagged, never dropped, if the infusion began)."""
    request = session.get(VisitRequestRow, visit_id)
    visit = session.get(VisitRow, visit_id)
    if request is None and visit is None:
        raise NotFound("No such visit or request.")
    if request is not None and request.status != "cancelled":
        request.status = "cancelled"
        session.add(request)
    if visit is not None:
        crud.cancel_visit(session, visit, now)
    session.flush()
    return visit_id


def day_of(session: Session, visit_id: str) -> date:
    """The day of a visit or request, or `NotFound`."""
    row = session.get(VisitRow, visit_id) or session.get(VisitRequestRow, visit_id)
    if row is None:
        raise NotFound("No such visit or request.")
    return row.scheduled_on


# -- plans ---------------------------------------------------------------------------------


def _day_ids(session: Session, day: date) -> tuple[dict[str, str], dict[str, str]]:
    """(id -> status, ref -> id) of every visit and request of the day."""
    status: dict[str, str] = {}
    refs: dict[str, str] = {}
    for request in list_requests(session, day):
        status[request.id] = request.status
        refs[request.ref] = request.id
    for row in crud.visits_for(session, None, day, limit=100_000):
        status[row.id] = row.status
    return status, refs


def store_plan(session: Session, data: PlanCreate, who: str, now: float) -> DispatchPlanRow:
    """Store a plan as a draft; visit ids may be request refs, stored as visit ids."""
    status, refs = _day_ids(session, data.scheduled_on)
    plan = data.plan.model_copy(deep=True)
    for route in plan.routes:
        _require_clinician(session, route.clinician_id)
        for stop in route.stops:
            stop.visit_id = _resolve(stop.visit_id, status, refs)
            if status[stop.visit_id] == "cancelled":
                raise Invalid(f"visit {stop.visit_id}: cancelled, it cannot be planned")
    for left in plan.unassigned:
        left.visit_id = _resolve(left.visit_id, status, refs)
    newest = list_plans(session, data.scheduled_on)
    # Plans of a day list newest first, even when the clock stood still between two.
    created = max(now, newest[0].created_at + 0.001) if newest else now
    row = DispatchPlanRow(
        id=str(uuid.uuid4()),
        scheduled_on=data.scheduled_on,
        status="draft",
        plan=canonical_text(plan.dump()),
        roster=canonical_text([c.model_dump(mode="json") for c in data.roster]),
        created_by=who,
        created_at=created,
    )
    session.add(row)
    session.flush()
    return row


def _resolve(visit_id: str, status: dict[str, str], refs: dict[str, str]) -> str:
    if visit_id in status:
        return visit_id
    if visit_id in refs:
        return refs[visit_id]
    raise Invalid(f"visit {visit_id}: not a visit or request ref of this day")


def _require_clinician(session: Session, name: str) -> None:
    user = session.get(AppUser, name)
    if user is None or user.role != "clinician" or not user.active:
        raise Invalid(f"clinician_id: no active clinician {name!r}")


def plan_summary(row: DispatchPlanRow) -> PlanSummary:
    """A stored plan without its routes."""
    return PlanSummary(
        id=uuid.UUID(row.id),
        scheduled_on=row.scheduled_on,
        status=row.status,  # type: ignore[arg-type]
        created_by=row.created_by,
        created_at=_epoch(row.created_at),  # type: ignore[arg-type]
        published_at=_epoch(row.published_at),
        totals=json.loads(row.plan).get("totals", {}),
    )


def plan_public(row: DispatchPlanRow) -> PlanPublic:
    """A stored plan whole."""
    return PlanPublic(
        **plan_summary(row).model_dump(),
        plan=PlanDocument.model_validate(json.loads(row.plan)),
        roster=[RosterClinician.model_validate(c) for c in json.loads(row.roster)],
    )


def list_plans(session: Session, day: date) -> Sequence[DispatchPlanRow]:
    """The day's plans, newest first."""
    return session.exec(
        select(DispatchPlanRow)
        .where(DispatchPlanRow.scheduled_on == day)
        .order_by(col(DispatchPlanRow.created_at).desc(), col(DispatchPlanRow.id))
    ).all()


def get_plan(session: Session, plan_id: str) -> DispatchPlanRow:
    """One plan, or `NotFound`."""
    row = session.get(DispatchPlanRow, plan_id)
    if row is None:
        raise NotFound("No such plan.")
    return row


def publish(session: Session, plan_id: str, who: str, now: float, tz: str) -> PublishResult:
    """Apply a plan: each planned visit gets its clinician, order and ETA as a new version."""
    row = get_plan(session, plan_id)
    if row.status == "superseded":
        raise Invalid("This plan was superseded by a later one: publish that one instead.")
    plan = PlanDocument.model_validate(json.loads(row.plan))
    roster = {c["id"]: c for c in json.loads(row.roster)}
    _check_stock(session, plan, roster)
    zone = ZoneInfo(tz)
    under_way = set(live_events(session, _plan_visit_ids(plan)))
    result = PublishResult(plan_id=uuid.UUID(row.id))
    planned: set[str] = set()
    for route in plan.routes:
        for stop in route.stops:
            planned.add(stop.visit_id)
            if stop.visit_id in under_way:
                result.kept_under_way.append(stop.visit_id)
                continue
            eta = _aware(stop.start, zone)
            outcome = _assign(
                session, stop.visit_id, route.clinician_id, stop.seq, eta, now, row.scheduled_on
            )
            getattr(result, outcome).append(stop.visit_id)
    for visit in crud.visits_for(session, None, row.scheduled_on, limit=100_000):
        if visit.id not in planned and visit.status != "cancelled":
            result.left_assigned.append(visit.id)
    for other in list_plans(session, row.scheduled_on):
        if other.id != row.id and other.status == "published":
            other.status = "superseded"
            session.add(other)
    row.status, row.published_by, row.published_at = "published", who, now
    session.add(row)
    session.flush()
    return result


def _plan_visit_ids(plan: PlanDocument) -> list[str]:
    return [stop.visit_id for route in plan.routes for stop in route.stops]


def _aware(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _with_notes(session: Session, patient_id: str, day: date, flags: list[str]) -> list[str]:
    """A visit's safety flags with its address's safety notes of the day, current ones only."""
    notes = safety_notes.active_on(session, [patient_id], day).get(patient_id, [])
    own = [f for f in flags if not f.startswith("safety note: ")]
    return own + [safety_notes.flag_text(note) for note in notes]


def _assign(
    session: Session,
    visit_id: str,
    clinician: str,
    order: int,
    eta: datetime,
    now: float,
    day: date,
) -> str:
    """Give one visit to a clinician; which list of `PublishResult` it belongs in."""
    row = session.get(VisitRow, visit_id)
    if row is not None and row.status == "cancelled":
        return "cancelled"
    if row is not None:
        version = row.version
        flags = _with_notes(session, row.patient_id, day, crud.visit_record(row).safety_flags)
        update = VisitUpdate(clinician_id=clinician, route_order=order, eta=eta, safety_flags=flags)
        row = crud.update_visit(session, row, update, now)
        return "changed" if row.version != version else "unchanged"
    request = session.get(VisitRequestRow, visit_id)
    if request is None or request.status == "cancelled":
        raise Invalid(f"visit {visit_id}: no open request to publish")
    data = VisitRequestCreate.model_validate_json(request.payload)
    address = data.address
    if address is None:
        patient = session.get(Patient, request.patient_id)
        assert patient is not None  # the foreign key holds it
        address = Address.model_validate(json.loads(patient.contact)["address"])
    visit = Visit(
        id=uuid.UUID(visit_id),
        patient_id=data.patient_id,
        clinician_id=clinician,
        scheduled_on=request.scheduled_on,
        window_start=data.window_start,
        window_end=data.window_end,
        duration_min=data.duration_min,
        address=address,
        course=data.course,
        safety_flags=_with_notes(session, request.patient_id, day, list(data.safety_flags)),
        route_order=order,
        eta=eta,
    )
    crud.put_visit(session, visit, now)
    return "created"


def _hundredths(mg: float) -> int:
    """mg as whole hundredths of a mg, so sums compare exactly (no float drift)."""
    return round(Decimal(repr(float(mg))) * 100)


def _check_stock(session: Session, plan: PlanDocument, roster: dict[str, Any]) -> None:
    """Refuse routes needing more ketamine than the clinician may carry (names only)."""
    over = []
    for route in plan.routes:
        limit = roster.get(route.clinician_id, {}).get("stock_mg")
        if limit is None:
            continue
        need = 0
        for stop in route.stops:
            row = session.get(VisitRow, stop.visit_id)
            if row is not None and row.status != "cancelled":
                need += _hundredths(crud.visit_record(row).planned_dose_mg or 0.0)
        if need > _hundredths(limit):
            over.append(route.clinician_id)
    if over:
        raise Invalid(
            "ketamine stock: the route of "
            + ", ".join(over)
            + " needs more than the clinician may carry; move a visit and re-plan"
        )


# -- the board -----------------------------------------------------------------------------


def live_events(session: Session, visit_ids: Iterable[str]) -> dict[str, list[LiveEvent]]:
    """Synced check-ins of each visit (status and time only), oldest first."""
    ids = sorted(set(visit_ids))
    found: dict[str, list[LiveEvent]] = {}
    if not ids:
        return found
    rows = session.exec(
        select(DeviceRecordRow.visit_id, DeviceRecordRow.payload).where(
            DeviceRecordRow.kind == "status", col(DeviceRecordRow.visit_id).in_(ids)
        )
    ).all()
    for visit_id, payload in rows:
        data = json.loads(payload)
        found.setdefault(str(visit_id), []).append(
            LiveEvent(status=data["status"], at=datetime.fromisoformat(data["at"]))
        )
    for events in found.values():
        events.sort(key=lambda e: e.at)
    return found


def _duty_events(
    session: Session, clinicians: Iterable[str], day: date, zone: ZoneInfo
) -> dict[str, list[LiveEvent]]:
    """Check-ins made away from any visit (duress, "I am safe") on the day, per clinician."""
    names = sorted(set(clinicians))
    found: dict[str, list[LiveEvent]] = {}
    if not names:
        return found
    rows = session.exec(
        select(DeviceRecordRow.user_name, DeviceRecordRow.payload).where(
            DeviceRecordRow.kind == "status",
            col(DeviceRecordRow.visit_id).is_(None),
            col(DeviceRecordRow.user_name).in_(names),
        )
    ).all()
    for user, payload in rows:
        data = json.loads(payload)
        at = datetime.fromisoformat(data["at"])
        if data["status"] in DUTY_STATUSES and at.astimezone(zone).date() == day:
            found.setdefault(user, []).append(LiveEvent(status=data["status"], at=at))
    return found


def _address_line(address: dict[str, Any]) -> str:
    unit = f" {address['unit']}" if address.get("unit") else ""
    return (
        f"{address['street']}{unit}, {address['city']}, {address['state']} {address['postal_code']}"
    )


def board(session: Session, day: date, tz: str, now: datetime) -> Board:
    """Every visit and request of the day with its live status, grouped by clinician."""
    zone = ZoneInfo(tz)
    visits = {row.id: row for row in crud.visits_for(session, None, day, limit=100_000)}
    requests = {row.id: row for row in list_requests(session, day)}
    ids = set(visits) | set(requests)
    events = live_events(session, ids)
    patient_ids = {r.patient_id for r in visits.values()} | {
        r.patient_id for r in requests.values()
    }
    notes = safety_notes.active_on(session, patient_ids, day)
    contacts = {
        p.id: json.loads(p.contact)
        for p in session.exec(select(Patient).where(col(Patient.id).in_(sorted(patient_ids))))
    }
    tasks = visit_tasks(session, ids, now)
    items = [
        _board_visit(visits.get(i), requests.get(i), contacts, events.get(i, []), notes).model_copy(
            update={"tasks": tasks.get(i, [])}
        )
        for i in sorted(ids)
    ]
    published = next((p for p in list_plans(session, day) if p.status == "published"), None)
    roster_ids = [c["id"] for c in json.loads(published.roster)] if published else []
    names = {v.clinician_id for v in items if v.clinician_id} | set(roster_ids)
    users = {
        u.name: u for u in session.exec(select(AppUser).where(col(AppUser.name).in_(sorted(names))))
    }
    duty = _duty_events(session, names, day, zone)
    clinicians = []
    for name in sorted(names):
        own = [v for v in items if v.clinician_id == name]
        own.sort(key=lambda v: (v.route_order or 999, v.eta or v.window_start))
        clinicians.append(_board_clinician(name, users.get(name), own, duty.get(name, [])))
    return Board(
        scheduled_on=day,
        timezone=tz,
        server_time=now,
        published_plan_id=uuid.UUID(published.id) if published else None,
        clinicians=clinicians,
        unassigned=sorted(
            (v for v in items if v.clinician_id is None), key=lambda v: v.window_start
        ),
        break_glass=break_glass.board_rows(session),
    )


def _board_visit(
    visit: VisitRow | None,
    request: VisitRequestRow | None,
    contacts: dict[str, dict[str, Any]],
    events: list[LiveEvent],
    notes: dict[str, list[safety_notes.SafetyNote]],
) -> BoardVisit:
    planning = VisitRequestCreate.model_validate_json(request.payload) if request else None
    record = crud.visit_record(visit) if visit else None
    source: Any = record or planning
    patient_id = str(source.patient_id)
    contact = contacts.get(patient_id, {})
    address = source.address.model_dump() if source.address else contact.get("address")
    status = record.status if record else ("cancelled" if request.status == "cancelled" else "open")  # type: ignore[union-attr]
    last = events[-1] if events else None
    return BoardVisit(
        id=source.id if record else uuid.UUID(request.id),  # type: ignore[union-attr]
        ref=request.ref if request else None,
        patient_id=source.patient_id,
        patient_name=contact.get("display_name"),
        phone=contact.get("phone"),
        address=_address_line(address) if address else "",
        lat=address.get("lat") if address else None,
        lon=address.get("lon") if address else None,
        window_start=source.window_start,
        window_end=source.window_end,
        duration_min=source.duration_min,
        safety_flags=list(source.safety_flags),
        skills=list(planning.skills) if planning else [],
        flags=list(planning.flags) if planning else [],
        previous_clinician=planning.previous_clinician if planning else None,
        clinician_id=record.clinician_id if record else None,
        route_order=record.route_order if record else None,
        eta=record.eta if record else None,
        status=status,
        review_flags=list(record.review_flags) if record else [],
        live=last.status if last else None,
        live_at=last.at if last else None,
        events=events,
        safety_notes=notes.get(patient_id, []),
    )


def _board_clinician(
    name: str, user: AppUser | None, visits: list[BoardVisit], duty: list[LiveEvent]
) -> BoardClinician:
    contacts = sorted([e for v in visits for e in v.events] + duty, key=lambda e: e.at)
    duress = [e.at for e in contacts if e.status == "duress"]
    last = contacts[-1] if contacts else None
    return BoardClinician(
        clinician_id=name,
        display_name=user.display_name if user else None,
        visits=visits,
        last_event=last.status if last else None,
        last_event_at=last.at if last else None,
        duress_at=duress[-1] if duress else None,
    )
