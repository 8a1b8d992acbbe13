"""Dispatch: patients' contact data and visits, never a clinical field.

A dispatcher sees name, address, window, phone and safety flags, and each visit's review
flags (an office cancellation that met an infusion begun on the road).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from sqlmodel import Session

from sync.server import audit, crud
from sync.server.db import transaction
from sync.server.deps import Ctx, Dispatcher, Principal
from sync.server.errors import NotFound
from sync.server.models import Patient, VisitRow
from sync.server.schemas import (
    VISIT_CLINICAL_FIELDS,
    PatientContact,
    PatientContactPublic,
    VisitCreate,
    VisitDispatchPublic,
    VisitUpdate,
)

router = APIRouter(prefix="/dispatch", tags=["dispatch"])


def _public(row: VisitRow) -> VisitDispatchPublic:
    data = crud.visit_record(row).model_dump(
        exclude=set(VISIT_CLINICAL_FIELDS) | {"schema_version"}
    )
    return VisitDispatchPublic.model_validate(data)


def _audit(
    session: Session,
    ctx: Ctx,
    who: Principal,
    action: str,
    detail: dict[str, Any],
    outcome: str = "ok",
) -> None:
    audit.append(
        session,
        actor=who.user,
        device_id=who.device_id,
        action=action,
        outcome=outcome,
        detail=detail,
        now=ctx.clock(),
    )


def _visit(session: Session, visit_id: UUID) -> VisitRow:
    row = session.get(VisitRow, str(visit_id))
    if row is None:
        raise NotFound("No such visit.")
    return row


@router.get("/visits", response_model=list[VisitDispatchPublic])
def list_visits(
    who: Dispatcher,
    ctx: Ctx,
    on: date | None = None,
    clinician: str | None = None,
    flagged: bool = False,
) -> list[VisitDispatchPublic]:
    """Visits, by day and clinician; `flagged` keeps only those needing review."""
    with transaction(ctx.engine) as session:
        rows = crud.visits_for(session, clinician, on)
        visits = [_public(row) for row in rows]
        if flagged:
            visits = [v for v in visits if v.review_flags]
        _audit(session, ctx, who, "dispatch_read_visits", {"visits": [str(v.id) for v in visits]})
        return visits


@router.get("/visits/{visit_id}", response_model=VisitDispatchPublic)
def get_visit(visit_id: UUID, who: Dispatcher, ctx: Ctx) -> VisitDispatchPublic:
    """One visit as dispatch sees it."""
    with transaction(ctx.engine) as session:
        row = _visit(session, visit_id)
        _audit(session, ctx, who, "dispatch_read_visit", {"visit": row.id})
        return _public(row)


@router.post("/visits", response_model=VisitDispatchPublic, status_code=201)
def create_visit(body: VisitCreate, who: Dispatcher, ctx: Ctx) -> VisitDispatchPublic:
    """Plan a new visit."""
    with transaction(ctx.engine) as session:
        row = crud.create_visit(session, body, ctx.now())
        _audit(session, ctx, who, "create_visit", {"visit": row.id, "patient": row.patient_id})
        return _public(row)


@router.patch("/visits/{visit_id}", response_model=VisitDispatchPublic)
def update_visit(
    visit_id: UUID, body: VisitUpdate, who: Dispatcher, ctx: Ctx
) -> VisitDispatchPublic:
    """Reassign, reschedule or reorder a visit."""
    with transaction(ctx.engine) as session:
        row = crud.update_visit(session, _visit(session, visit_id), body, ctx.now())
        _audit(
            session,
            ctx,
            who,
            "update_visit",
            {"visit": row.id, "fields": sorted(body.model_fields_set)},
        )
        return _public(row)


@router.post("/visits/{visit_id}/cancel", response_model=VisitDispatchPublic)
def cancel_visit(visit_id: UUID, who: Dispatcher, ctx: Ctx) -> VisitDispatchPublic:
    """Cancel at the office; flagged for review if the infusion had already begun."""
    with transaction(ctx.engine) as session:
        row = crud.cancel_visit(session, _visit(session, visit_id), ctx.now())
        _audit(session, ctx, who, "cancel_visit", {"visit": row.id})
        return _public(row)


@router.put("/patients/{patient_id}", response_model=PatientContactPublic)
def put_patient(
    patient_id: UUID, body: PatientContact, who: Dispatcher, ctx: Ctx
) -> PatientContactPublic:
    """Upload a patient's contact data (the clinical part comes from intake)."""
    with transaction(ctx.engine) as session:
        row = crud.put_patient_contact(session, patient_id, body, ctx.now())
        _audit(session, ctx, who, "put_patient_contact", {"patient": row.id})
        return PatientContactPublic.model_validate(crud.patient_contact(row))


@router.get("/patients/{patient_id}", response_model=PatientContactPublic)
def get_patient(patient_id: UUID, who: Dispatcher, ctx: Ctx) -> PatientContactPublic:
    """A patient's contact data only."""
    with transaction(ctx.engine) as session:
        row = session.get(Patient, str(patient_id))
        if row is None:
            raise NotFound("No such patient.")
        _audit(session, ctx, who, "dispatch_read_patient", {"patient": row.id})
        return PatientContactPublic.model_validate(crud.patient_contact(row))
