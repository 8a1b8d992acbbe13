"""`GET /patients/{id}`: a patient summary for a clinician who has a visit with them."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from sync.records import PatientSummary
from sync.server import audit, crud
from sync.server.db import transaction
from sync.server.deps import Clinician, Ctx
from sync.server.errors import NotFound
from sync.server.models import Patient

router = APIRouter(prefix="/patients", tags=["clinician"])


@router.get("/{patient_id}", response_model=PatientSummary)
def get_patient(patient_id: UUID, principal: Clinician, ctx: Ctx) -> PatientSummary:
    """The summary, if the caller has a visit with this patient (else 404)."""
    with transaction(ctx.engine) as session:
        row = session.get(Patient, str(patient_id))
        summary = None
        if row is not None and crud.clinician_has_patient(session, principal.user, row.id):
            summary = crud.patient_summary(row)
        audit.append(
            session,
            actor=principal.user,
            device_id=principal.device_id,
            action="read_patient",
            outcome="ok" if summary else "not_found",
            detail={"patient": str(patient_id)},
            now=ctx.clock(),
        )
    if summary is None:
        raise NotFound("No such patient among your visits.")
    return summary
