"""Break-glass routes: a clinician asks and reads; a supervisor lists and reviews.

`POST /break-glass` (clinician) grants one patient for the set time and notifies the
supervisors; `GET /break-glass/{id}/patient` (clinician, their own grant) reads that patient
while it holds, 403 after; `GET /break-glass/notices` and `GET /break-glass` (supervisor)
list what awaits review; `POST /break-glass/{id}/review` (supervisor) closes it. Every
grant, refusal, read and review is audited with ids and the coded reason only (the
clinician's words stay in the grant row, for the supervisor).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter

from sync.break_glass import AccessRequest, Grant, GrantForReview, Notice, ReviewRequest
from sync.records import PatientSummary
from sync.server import audit, crud
from sync.server import break_glass as bg
from sync.server.db import transaction
from sync.server.deps import Clinician, Ctx, Principal, Supervisor
from sync.server.errors import Invalid, NotFound, ServerError
from sync.server.models import Patient

router = APIRouter(prefix="/break-glass", tags=["break-glass"])


def _grant_public(row: bg.BreakGlassGrant) -> dict[str, Any]:
    return {
        "id": row.id,
        "patient_id": row.patient_id,
        "clinician": row.clinician,
        "reason_code": row.reason_code,
        "granted_at": bg.when(row.granted_at),
        "expires_at": bg.when(row.expires_at),
    }


def _for_review(row: bg.BreakGlassGrant) -> GrantForReview:
    return GrantForReview.model_validate(
        {
            **_grant_public(row),
            "reason": row.reason,
            "minutes": row.minutes,
            "device_id": row.device_id,
            "reviewed_at": bg.when(row.reviewed_at) if row.reviewed_at is not None else None,
            "reviewed_by": row.reviewed_by,
            "reviewed_device": row.reviewed_device,
            "review_note": row.review_note,
        }
    )


def _audit_refusal(ctx: Ctx, who: Principal, action: str, exc: ServerError, **detail: Any) -> None:
    ctx.audit(
        actor=who.user, device_id=who.device_id, action=action, outcome=exc.code, detail=detail
    )


@router.post("", response_model=Grant, status_code=201)
def ask(body: AccessRequest, who: Clinician, ctx: Ctx) -> Grant:
    """Grant this patient to the caller for the set time; supervisors are notified at once."""
    patient = str(body.patient_id)
    try:
        with transaction(ctx.engine) as session:
            row = bg.grant(session, who.user, who.device_id, body, ctx.settings, ctx.now())
            audit.append(
                session,
                actor=who.user,
                device_id=who.device_id,
                action="break_glass_grant",
                outcome="ok",
                detail={
                    "grant": row.id,
                    "patient": patient,
                    "reason_code": row.reason_code,
                    "minutes": row.minutes,
                },
                now=ctx.clock(),
            )
            answer = Grant.model_validate(_grant_public(row))
    except (Invalid, NotFound) as exc:
        _audit_refusal(ctx, who, "break_glass_grant", exc, patient=patient)
        raise
    return answer


@router.get("/mine", response_model=list[Grant])
def mine(who: Clinician, ctx: Ctx) -> list[Grant]:
    """The caller's grants in force now (a laptop whose grant answer was lost finds it)."""
    with transaction(ctx.engine) as session:
        found = [
            Grant.model_validate(_grant_public(row))
            for row in bg.in_force(session, who.user, ctx.now())
        ]
        audit.append(
            session,
            actor=who.user,
            device_id=who.device_id,
            action="break_glass_mine",
            outcome="ok",
            detail={"grants": [str(g.id) for g in found]},
            now=ctx.clock(),
        )
    return found


@router.get("/{grant_id}/patient", response_model=PatientSummary)
def read_patient(grant_id: UUID, who: Clinician, ctx: Ctx) -> PatientSummary:
    """The patient of the caller's grant while it holds (403 once it has ended)."""
    try:
        with transaction(ctx.engine) as session:
            row = bg.own_grant(session, who.user, str(grant_id))
            bg.check_active(row, ctx.now())
            patient = session.get(Patient, row.patient_id)
            summary = crud.patient_summary(patient) if patient is not None else None
            if summary is None:
                raise NotFound("no such patient")
            audit.append(
                session,
                actor=who.user,
                device_id=who.device_id,
                action="break_glass_read",
                outcome="ok",
                detail={"grant": row.id, "patient": row.patient_id, "via": "read"},
                now=ctx.clock(),
            )
    except (bg.GrantEnded, NotFound) as exc:
        _audit_refusal(ctx, who, "break_glass_read", exc, grant=str(grant_id), via="read")
        raise
    return summary


@router.get("/notices", response_model=list[Notice])
def notices(who: Supervisor, ctx: Ctx) -> list[Notice]:
    """Accesses no supervisor has reviewed yet, oldest first, with the clinician's words."""
    with transaction(ctx.engine) as session:
        open_ = bg.open_notices(session)
        rows = {r.id: r for r in bg.grants(session, unreviewed_only=True)}
        found = [
            Notice(
                id=UUID(n.id),
                kind="break_glass",
                created_at=bg.when(n.created_at),
                access=_for_review(rows[n.subject_id]),
            )
            for n in open_
            if n.subject_id in rows
        ]
        audit.append(
            session,
            actor=who.user,
            device_id=who.device_id,
            action="break_glass_notices",
            outcome="ok",
            detail={"grants": [str(n.access.id) for n in found]},
            now=ctx.clock(),
        )
    return found


@router.get("", response_model=list[GrantForReview])
def list_accesses(who: Supervisor, ctx: Ctx, unreviewed: bool = False) -> list[GrantForReview]:
    """Every break-glass access, newest first (`unreviewed=true`: those awaiting review)."""
    with transaction(ctx.engine) as session:
        found = [_for_review(r) for r in bg.grants(session, unreviewed_only=unreviewed)]
        audit.append(
            session,
            actor=who.user,
            device_id=who.device_id,
            action="break_glass_list",
            outcome="ok",
            detail={"grants": [str(a.id) for a in found]},
            now=ctx.clock(),
        )
    return found


@router.post("/{grant_id}/review", response_model=GrantForReview)
def review(grant_id: UUID, body: ReviewRequest, who: Supervisor, ctx: Ctx) -> GrantForReview:
    """Mark the access reviewed by the caller's enrolled identity (not a typed name)."""
    try:
        with transaction(ctx.engine) as session:
            row = bg.review(session, str(grant_id), who.user, who.device_id, body.note, ctx.now())
            audit.append(
                session,
                actor=who.user,
                device_id=who.device_id,
                action="break_glass_review",
                outcome="ok",
                detail={"grant": row.id, "clinician": row.clinician, "patient": row.patient_id},
                now=ctx.clock(),
            )
            answer = _for_review(row)
    except (Invalid, NotFound) as exc:
        _audit_refusal(ctx, who, "break_glass_review", exc, grant=str(grant_id))
        raise
    return answer
